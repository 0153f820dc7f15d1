"""Baselines for `noma_uav` that need no expert: the users' centroid with an equal split, and a random placement."""
from __future__ import annotations

import torch

from wrbench.api import Context, Instances, Problem, Solver, repeat_samples


class CentroidEqual(Solver):
    """UAV above the users' centroid, power P / K each.

    The equal split always meets the SIC power order, and without r_min it is the
    exact optimal split at every position (`power`), so this baseline's gap is the
    placement's alone.
    """

    name = "centroid_equal"
    problems = ("noma_uav",)
    stochastic = False
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        users, P = instances.arrays["users"], instances.arrays["P"]
        K = users.shape[1]
        x = torch.cat([users.mean(1), (P / K).unsqueeze(-1).expand(-1, K)], -1)
        return repeat_samples(x, n_samples)


class RandomPlacement(Solver):
    """Position uniform in the square, the whole budget split uniformly at random (Dirichlet(1, ..., 1) x P)."""

    name = "random_placement"
    problems = ("noma_uav",)
    stochastic = True
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        users, P = instances.arrays["users"], instances.arrays["P"]
        gen = ctx.generator(self.name, device=str(users.device))
        B, K = users.shape[:2]
        q = problem.params.side * torch.rand(B, n_samples, 2, generator=gen, dtype=users.dtype, device=users.device)
        draws = -torch.log1p(-torch.rand(B, n_samples, K, generator=gen, dtype=users.dtype, device=users.device))
        return torch.cat([q, draws / draws.sum(-1, keepdim=True) * P[:, None, None]], -1)

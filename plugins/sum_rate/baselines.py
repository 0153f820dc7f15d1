"""Baselines for `sum_rate` that need no expert: equal split and a random split of the budget."""
from __future__ import annotations

import torch

from wrbench.api import Context, Instances, Problem, Solver


class Uniform(Solver):
    """Equal power P / M on every channel: DiffSG's equal-power anchor."""

    name = "uniform"
    problems = ("sum_rate",)
    stochastic = False
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        g, P = instances.arrays["g"], instances.arrays["P"]
        return (P / g.shape[1])[:, None, None].expand(-1, n_samples, g.shape[1]).clone()


class RandomBudget(Solver):
    """The whole budget split uniformly at random (Dirichlet(1, ..., 1) x P): what no learning gives."""

    name = "random_budget"
    problems = ("sum_rate",)
    stochastic = True
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        g, P = instances.arrays["g"], instances.arrays["P"]
        gen = ctx.generator(self.name, device=str(g.device))
        shape = (g.shape[0], n_samples, g.shape[1])
        # Normalized i.i.d. Exp(1) draws are Dirichlet(1): uniform on the simplex.
        draws = -torch.log1p(-torch.rand(shape, generator=gen, dtype=g.dtype, device=g.device))
        return draws / draws.sum(-1, keepdim=True) * P[:, None, None]

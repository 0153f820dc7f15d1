"""Baselines for `offloading` that need no expert: everything local, everything offloaded, greedy, random."""
from __future__ import annotations

import torch

from wrbench.api import Context, Instances, Problem, Solver, repeat_samples

from .exact import decision_costs
from .shares import proportional_shares
from .model import per_sample, share_weights


class AllLocal(Solver):
    """Every task on its own device: no upload, no server (the cost of not offloading at all)."""

    name = "all_local"
    problems = ("offloading",)
    stochastic = False
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        s = instances.arrays["s"]
        return torch.zeros(s.shape[0], n_samples, 2 * s.shape[1], dtype=s.dtype, device=s.device)


class AllOffload(Solver):
    """Every task on the server, shares proportional to sqrt(a_i): the optimal split when no delay bound binds."""

    name = "all_offload"
    problems = ("offloading",)
    stochastic = False
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        d = torch.ones_like(instances.arrays["s"])
        shares = proportional_shares(share_weights(instances.arrays, problem.constants), d)
        return repeat_samples(torch.cat([d, shares], -1), n_samples)


class Greedy(Solver):
    """From everything local, flip the one device that helps most, until no flip helps.

    A decision is better when it meets every delay bound and the current one does not,
    or when both do (or neither does) and it is cheaper; each decision gets its exact
    shares. At most n flips of n candidates: n^2 share problems instead of 2^n.
    """

    name = "greedy"
    problems = ("offloading",)
    stochastic = False
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        arrays = per_sample(instances.arrays)
        B, n = instances.arrays["s"].shape
        flips = torch.eye(n, dtype=torch.float64, device=arrays["s"].device)
        current = torch.zeros(B, 1, n, dtype=torch.float64, device=flips.device)
        ok, cost, shares = decision_costs(arrays, current, problem.constants)
        for _ in range(n):
            candidates = (current - flips).abs()  # (B, n, n): current with device j flipped
            c_ok, c_cost, c_shares = decision_costs(arrays, candidates, problem.constants)
            key = torch.where(c_ok, c_cost, c_cost + torch.inf)  # feasible candidates first
            key = torch.where(c_ok.any(-1, keepdim=True), key, c_cost)
            best = key.argmin(-1, keepdim=True)
            b_ok, b_cost = c_ok.gather(1, best), c_cost.gather(1, best)
            better = (b_ok & ~ok) | ((b_ok == ok) & (b_cost < cost))
            if not better.any():
                break
            pick = best.unsqueeze(-1).expand(-1, 1, n)
            current = torch.where(better.unsqueeze(-1), candidates.gather(1, pick), current)
            shares = torch.where(better.unsqueeze(-1), c_shares.gather(1, pick), shares)
            ok, cost = torch.where(better, b_ok, ok), torch.where(better, b_cost, cost)
        return repeat_samples(torch.cat([current, shares], -1).squeeze(1), n_samples).to(instances.arrays["s"].dtype)


class RandomDecision(Solver):
    """Decisions drawn uniformly from the set: each D equally likely, shares uniform on its simplex."""

    name = "random"
    problems = ("offloading",)
    stochastic = True
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        gen = ctx.generator(self.name)
        dset = problem.decision_set(instances)
        x = dset.uniform(n_samples, problem.decision_dim(instances), gen)
        return x.to(device=instances.arrays["s"].device, dtype=instances.arrays["s"].dtype)

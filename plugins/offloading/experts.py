"""The exact expert for `offloading`: every decision enumerated, optimal shares by KKT (see `exact`)."""
from __future__ import annotations

import torch

from wrbench.api import Context, Expert, Instances, Problem, repeat_samples
from wrbench.params import Param

from .exact import solve


class Exhaustive(Expert):
    """The exact optimum: 2^n decisions, vectorized, each with its exact shares; refuses n above `max_devices`.

    Shares its name with the other problems' exhaustive experts: each declares its
    own problem, so a suite's `exhaustive` resolves to the variant for its problem.
    """

    name = "exhaustive"
    problems = ("offloading",)
    stochastic = False
    parameters = (
        Param("max_devices", int, 18, "refuse instances with more devices (2^n decisions per instance)", min=1),
    )

    def supports(self, problem: Problem) -> str | None:
        reason = super().supports(problem)
        if reason or problem.params["devices"] <= self.params.max_devices:
            return reason
        return (f"exhaustive enumerates 2^{problem.params['devices']} decisions per instance, above "
                f"max_devices={self.params.max_devices}; raise max_devices if you can wait")

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        # solved afresh, not read from the problem's cache of the scoring reference, so its timing is the solve's
        arrays = {key: v.to(torch.float64) for key, v in instances.arrays.items()}
        optimum = solve(arrays, problem.constants)
        decision = torch.cat([optimum.offload, optimum.shares], dim=-1)
        return repeat_samples(decision, n_samples)

"""Policies with a budget parameter on the toy problem, for the frontier tests (load with toy_plugin)."""
from __future__ import annotations

import torch

from wrbench import hookimpl
from wrbench.api import Expert, Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class IterativeExpert(Expert):
    """Moves halfway from 0.5 towards the target per iteration: quality rises with `iters`, as an iterative expert's."""

    name = "toy_iterative"
    problems = ("toy",)
    budget_parameter = "iters"
    parameters = (Param("iters", int, 12, "halvings of the distance to the target", min=1),)

    def solve(self, problem, instances, n_samples, ctx):
        c = instances.arrays["c"]
        x = torch.full_like(c, 0.5)
        for _ in range(self.params.iters):
            x = x + 0.5 * (c - x)
        return x.unsqueeze(1).expand(-1, n_samples, -1).clone()


class StepsSolver(Solver):
    """Learns the mean target offset (a fit to reuse) and walks `steps` halvings towards it from 0.5."""

    name = "toy_steps"
    requires = frozenset({"flat"})
    budget_parameter = "steps"
    parameters = (Param("steps", int, 4, "halvings", min=1, sampling_only=True),)

    def fit(self, problem, instances, expert_samples, ctx):
        self.offset = (expert_samples.mean(1) - problem.flat(instances).double()).mean(0)

    def sample(self, problem, instances, n_samples, ctx):
        target = problem.flat(instances).double() + self.offset
        x = torch.full_like(target, 0.5)
        for _ in range(self.params.steps):
            x = x + 0.5 * (target - x)
        noise = 0.01 * torch.randn((len(instances), n_samples, x.shape[-1]), generator=ctx.generator("noise"),
                                   dtype=x.dtype)
        return (x.unsqueeze(1) + noise).clamp(0, 1)

    def state_dict(self):
        return {"offset": self.offset}

    def load_state_dict(self, state):
        self.offset = state["offset"]


@hookimpl
def register_experts(register):
    register(IterativeExpert)


@hookimpl
def register_solvers(register):
    register(StepsSolver)

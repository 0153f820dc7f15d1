"""A toy problem that scores candidates and completes decisions, and a uniform policy: for the `select:` tests
(load with toy_plugin)."""
from __future__ import annotations

import torch
from toy_plugin import Toy, ToyExpert

from wrbench import hookimpl
from wrbench.api import Solver

WRBENCH_API_VERSION = "1.0"
CAP = 0.55  # a decision is feasible when its first coordinate is at most CAP


class TogglePick(Toy):
    """The toy problem with a constraint x_0 <= CAP for candidates, and an exact completion: every coordinate but
    the first set to the target."""

    name = "toy_pick"

    def candidate_scores(self, instances, samples, params):
        return self.score(instances, samples, None), samples[..., 0] <= CAP

    def complete(self, instances, samples):
        out = samples.clone()
        out[..., 1:] = instances.arrays["c"][:, 1:].unsqueeze(1).to(samples)
        return out


class PickExpert(ToyExpert):
    """The toy expert, on this problem."""

    name = "toy_pick_expert"
    problems = ("toy_pick",)


class Uniform(Solver):
    """Uniform draws on [0, 1]^D from the context's generator."""

    name = "toy_uniform"
    needs_expert = False

    def sample(self, problem, instances, n_samples, ctx):
        shape = (len(instances), n_samples, problem.decision_dim(instances))
        return torch.rand(shape, generator=ctx.generator("uniform"), dtype=torch.float64)


@hookimpl
def register_problems(register):
    register(TogglePick)


@hookimpl
def register_experts(register):
    register(PickExpert)


@hookimpl
def register_solvers(register):
    register(Uniform)

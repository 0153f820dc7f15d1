"""Third-party components for the latency-benchmark tests: tiny solvers (one needs fitting, one is broken), and a
problem with its own bench sizes and an expert, found by discovery from their declarations alone."""
from __future__ import annotations

import os
import time

import torch

from toy_plugin import Toy
from wrbench import hookimpl
from wrbench.api import Expert, Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class Tiny(Solver):
    """Half power after a pause of BENCH_TINY_DELAY seconds (default 1 ms)."""

    name = "bench_tiny"
    problems = ("power_control", "bench_toy")
    needs_expert = False

    def sample(self, problem, instances, n_samples, ctx):
        time.sleep(float(os.environ.get("BENCH_TINY_DELAY", "0.001")))
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), 0.005)


class FitMe(Tiny):
    """Refuses to sample before `fit`, like a learned policy."""

    name = "bench_fitme"
    needs_expert = True
    parameters = (Param("train_steps", int, 1000, "optimizer steps", min=0),)
    bench_fit_params = {"train_steps": 0}

    def fit(self, problem, instances, expert_samples, ctx):
        assert expert_samples is not None and expert_samples.shape[0] == len(instances)
        self.steps_done = self.params.train_steps
        self.weights = torch.randn(3)

    def sample(self, problem, instances, n_samples, ctx):
        if not hasattr(self, "weights"):
            raise RuntimeError("must be fitted first")
        return super().sample(problem, instances, n_samples, ctx)

    def state_dict(self):
        return {"weights": getattr(self, "weights", None)}


class Broken(Tiny):
    """Still being written: construction fails."""

    name = "bench_broken"

    def __init__(self, params=None, **overrides):
        raise ImportError("half-written solver")


class BenchToy(Toy):
    """The toy problem, timed at its own sizes of `dim`."""

    name = "bench_toy"
    size_parameter = "dim"
    bench_sizes = {"cpu": (2, 4)}


class BenchToyExpert(Expert):
    """The middle of the box: the reference found as the first expert that supports bench_toy."""

    name = "bench_toy_expert"
    problems = ("bench_toy",)

    def solve(self, problem, instances, n_samples, ctx):
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), 0.5, dtype=torch.float64)


@hookimpl
def register_problems(register):
    register(BenchToy)


@hookimpl
def register_experts(register):
    register(BenchToyExpert)


@hookimpl
def register_solvers(register):
    for cls in (Tiny, FitMe, Broken):
        register(cls)

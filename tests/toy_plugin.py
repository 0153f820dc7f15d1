"""A tiny plugin that drives the harness in tests: a quadratic toy problem and misbehaving solvers."""
from __future__ import annotations

import time

import numpy as np
import torch

from wrbench import hookimpl
from wrbench.api import Box, Context, Evaluation, Expert, Instances, Problem, Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class Toy(Problem):
    """Pick x in [0, 1]^D close to a hidden target c: score 1 - mean (x - c)^2."""

    name = "toy"
    parameters = (Param("dim", int, 3, "decision dimension", min=1), Param("spread", float, 0.2, "target spread", min=0.0))
    eval_parameters = (Param("noise", float, 0.0, "evaluation noise", min=0.0),)
    primary_metric = "exceed_ratio"
    lower_is_better = frozenset({"loss"})
    metrics = ("score", "loss", "exceed_ratio", "exceed_ratio_std")
    views = frozenset({"flat"})
    export_arrays = {"c": "(B, D) targets"}

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        gen = torch.Generator().manual_seed(seed)
        c = 0.5 + self.params.spread * (torch.rand(n, self.params.dim, generator=gen) - 0.5)
        return Instances({"c": c.double()})

    def load_instances(self, arrays) -> Instances:
        return Instances({"c": torch.as_tensor(arrays["c"])})

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        return {"c": instances.arrays["c"].numpy()}

    def decision_set(self, instances: Instances) -> Box:
        c = instances.arrays["c"]
        return Box(torch.zeros_like(c), torch.ones_like(c))

    def decision_dim(self, instances: Instances) -> int:
        return instances.arrays["c"].shape[1]

    def flat(self, instances: Instances) -> torch.Tensor:
        return instances.arrays["c"].float()

    def score(self, instances: Instances, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        return 1 - ((x.double() - instances.arrays["c"].unsqueeze(1)) ** 2).mean(-1)

    def evaluate(self, instances, samples, ctx, params, reference=None) -> Evaluation:
        gen = ctx.generator("noise", device="cpu")
        score = self.score(instances, samples, ctx) + params.noise * torch.randn(samples.shape[:2], generator=gen, dtype=torch.float64)
        per = score.mean(1).numpy()
        metrics = {"score": float(per.mean()), "loss": float(1 - per.mean())}
        if reference is not None:
            ratio = per / reference.per_instance["score"]
            metrics.update(exceed_ratio=float(ratio.mean()), exceed_ratio_std=float(ratio.std()))
        return Evaluation(metrics, {"score": per}, {"score": score.numpy().ravel()}, {"score": {"target": 1.0}})


class ToyExpert(Expert):
    """Returns the target plus a little noise."""

    name = "toy_expert"
    problems = ("toy", "toy_noflat")
    parameters = (Param("noise", float, 0.01, "sample noise", min=0.0),)

    def solve(self, problem, instances, n_samples, ctx):
        c = instances.arrays["c"].unsqueeze(1).expand(-1, n_samples, -1)
        noise = self.params.noise * torch.randn(c.shape, generator=ctx.generator("x"), dtype=c.dtype)
        return (c + noise).clamp(0, 1)


class MeanSolver(Solver):
    """Learns the mean offset between expert samples and the flat view (a fitted state to cache)."""

    name = "toy_mean"
    requires = frozenset({"flat"})
    stochastic = False
    parameters = (Param("shrink", float, 1.0, "multiplies the learned offset", sampling_only=True),)

    def fit(self, problem, instances, expert_samples, ctx):
        self.offset = (expert_samples.mean(1) - problem.flat(instances).double()).mean(0)

    def sample(self, problem, instances, n_samples, ctx):
        x = problem.flat(instances).double() + self.params.shrink * self.offset
        return x.unsqueeze(1).expand(-1, n_samples, -1).clamp(0, 1).clone()

    def state_dict(self):
        return {"offset": self.offset}

    def load_state_dict(self, state):
        self.offset = state["offset"]


class Half(Solver):
    """Always 0.5 (no expert needed)."""

    name = "toy_half"
    needs_expert = False
    stochastic = False

    def sample(self, problem, instances, n_samples, ctx):
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), 0.5, dtype=torch.float64)


class Misbehave(Half):
    """Fails in the way `mode` says: raise, hang, nan, shape, outside, mutate."""

    name = "toy_bad"
    parameters = (Param("mode", str, "raise", choices=("raise", "hang", "nan", "shape", "outside", "mutate", "die")),)

    def sample(self, problem, instances, n_samples, ctx):
        x = super().sample(problem, instances, n_samples, ctx)
        mode = self.params.mode
        if mode == "raise":
            raise RuntimeError("solver exploded on purpose")
        if mode == "hang":
            time.sleep(3600)
        if mode == "nan":
            x[0, 0, 0] = float("nan")
        if mode == "shape":
            return x[:, :, :-1]
        if mode == "outside":
            x[0, 0, 0] = 7.0
        if mode == "mutate":
            instances.arrays["c"].add_(1.0)
        if mode == "die":
            import os

            os._exit(3)
        return x


class SlowHalf(Half):
    """Half, after a pause: lets a test kill the harness mid-run."""

    name = "toy_slow"
    parameters = (Param("seconds", float, 1.0, "pause before answering", min=0.0),)

    def sample(self, problem, instances, n_samples, ctx):
        time.sleep(self.params.seconds)
        return super().sample(problem, instances, n_samples, ctx)


@hookimpl
def register_problems(register):
    register(Toy)


@hookimpl
def register_experts(register):
    register(ToyExpert)


@hookimpl
def register_solvers(register):
    for cls in (MeanSolver, Half, Misbehave, SlowHalf):
        register(cls)

"""The example solver against the wrbench conformance kit, plus a check that it learns what it should."""
from __future__ import annotations

import torch

from wrbench.api import Box, Context, Instances, Problem
from wrbench.testing import assert_conformant
from wrbench_example_solver import GaussianSolver

PLUGIN = "wrbench_example_solver"


def test_conformance_on_every_problem():
    """Every installed problem the solver supports (bundled: power_control with 5 pairs, sum_rate)."""
    assert_conformant("gaussian", plugins=[PLUGIN])


def test_conformance_with_graph_features():
    assert_conformant("gaussian", plugins=[PLUGIN], params={"view": "graph"}, problems=["power_control"])


class Line(Problem):
    """x in [0, 1]^D near a per-instance centre c: flat view c."""

    name = "line"
    views = frozenset({"flat"})

    def make_instances(self, split, n, seed):
        return Instances({"c": 0.3 + 0.4 * torch.rand(n, 3, generator=torch.Generator().manual_seed(seed))})

    def decision_set(self, instances):
        c = instances.arrays["c"]
        return Box(torch.zeros_like(c), torch.ones_like(c))

    def decision_dim(self, instances):
        return 3

    def flat(self, instances):
        return instances.arrays["c"]


def test_learns_the_expert_mean_and_spread():
    problem, solver = Line(), GaussianSolver()
    train, test = problem.make_instances("train", 200, 0), problem.make_instances("test", 5, 1)
    c = train.arrays["c"].unsqueeze(1)
    expert = c + 0.05 * torch.randn(200, 64, 3, generator=torch.Generator().manual_seed(2))
    solver.fit(problem, train, expert, Context(0))
    x = solver.sample(problem, test, 4000, Context(1))
    assert torch.allclose(x.double().mean(1), test.arrays["c"].double(), atol=0.01)
    assert torch.allclose(x.double().std(1), torch.full((5, 3), 0.05, dtype=torch.float64), atol=0.01)

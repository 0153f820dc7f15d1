"""The exhaustive grid search and the expert-free baselines of sum_rate."""
from __future__ import annotations

import pytest
import torch
from wrbench_plugins.sum_rate.baselines import RandomBudget, Uniform
from wrbench_plugins.sum_rate.experts import Exhaustive, WaterFilling
from wrbench_plugins.sum_rate.grid import grid_size, simplex_grid
from wrbench_plugins.sum_rate.problem import SumRate

from wrbench.api import Context

CTX = Context(seed=0)


@pytest.fixture
def problem() -> SumRate:
    return SumRate(channels=3, budget=10.0)


@pytest.fixture
def instances(problem: SumRate):
    return problem.make_instances("test", 40, seed=0)


def _rates(problem: SumRate, instances, x: torch.Tensor) -> torch.Tensor:
    return problem.score(instances, x, CTX)[:, 0]


def test_simplex_grid_is_complete_and_inside() -> None:
    points = simplex_grid(3, 5)
    assert points.shape == (grid_size(3, 5), 3) == (35, 3)
    assert (points >= 0).all() and (points.sum(1) <= 4).all()
    assert len({tuple(p) for p in points}) == len(points)


def test_exhaustive_never_beats_water_filling_and_converges(problem: SumRate, instances) -> None:
    optimum = _rates(problem, instances, WaterFilling().solve(problem, instances, 1, CTX))
    gaps = []
    for levels in (6, 21, 81):
        x = Exhaustive(levels=levels).solve(problem, instances, 2, CTX)
        assert x.shape == (40, 2, 3)
        assert problem.decision_set(instances).contains(x).all()
        rates = _rates(problem, instances, x)
        assert (rates <= optimum + 1e-12).all()
        gaps.append((optimum - rates).max().item())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3


def test_exhaustive_refuses_large_grids() -> None:
    expert = Exhaustive(levels=51, max_points=10_000)
    large = SumRate(channels=10)
    assert "points" in expert.supports(large)
    with pytest.raises(ValueError, match=f"{grid_size(10, 51):,} points"):
        expert.solve(large, large.make_instances("test", 2, seed=0), 1, CTX)
    assert expert.supports(SumRate(channels=2)) is None


@pytest.mark.parametrize("solver", [Uniform(), RandomBudget()], ids=lambda s: s.name)
def test_baselines_spend_the_budget(problem: SumRate, instances, solver) -> None:
    x = solver.sample(problem, instances, 5, CTX)
    assert x.shape == (40, 5, 3)
    assert problem.decision_set(instances).contains(x).all()
    torch.testing.assert_close(x.sum(-1), instances.arrays["P"].unsqueeze(-1).expand(-1, 5))


def test_random_budget_is_reproducible_and_spread(problem: SumRate, instances) -> None:
    solver = RandomBudget()
    x = solver.sample(problem, instances, 200, CTX)
    torch.testing.assert_close(x, solver.sample(problem, instances, 200, CTX))
    assert not torch.equal(x, solver.sample(problem, instances, 200, Context(seed=1)))
    # Dirichlet(1, 1, 1): each share has mean 1/3 and variance 1/18.
    shares = x / instances.arrays["P"][:, None, None]
    assert shares.mean().item() == pytest.approx(1 / 3, abs=0.01)
    assert shares.var().item() == pytest.approx(1 / 18, abs=0.005)

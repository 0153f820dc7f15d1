"""Experts: the exact LP policy, its refusal for large grids, and the primal-dual expert on the default suite."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from wrbench_plugins.power_control.experts import Exhaustive, PrimalDual, herd
from wrbench_plugins.power_control.problem import PowerControl

from wrbench.api import Context

SUITE = Path(__file__).resolve().parents[1] / "suites" / "power_control.yaml"


def test_lp_policy_meets_constraints_and_beats_every_feasible_grid_point() -> None:
    problem = PowerControl(n_pairs=3, f_min=0.8)
    inst = problem.make_instances("test", 6, seed=2)
    grid, rates, weights = Exhaustive(levels=4).policy(problem, inst, Context(seed=0))
    assert grid.shape == (64, 3) and rates.shape == (6, 64, 3) and weights.shape == (6, 64)
    assert (weights >= 0).all() and torch.allclose(weights.sum(-1), torch.ones(6, dtype=weights.dtype))
    policy_rates = (weights.unsqueeze(-1) * rates).sum(1)
    assert (policy_rates >= 0.8 - 1e-7).all()
    feasible = (rates >= 0.8).all(-1)
    assert feasible.any(-1).all(), "test needs a feasible grid point in every network"
    best_point = rates.mean(-1).masked_fill(~feasible, -1.0).amax(-1)
    assert (policy_rates.mean(-1) >= best_point - 1e-9).all()


def test_experts_hold_each_network_to_its_own_f_min() -> None:
    """A batch mixing QoS levels gives every network the policy it gets when solved alone at its level."""
    base = PowerControl(n_pairs=3)
    inst = base.make_instances("test", 2, seed=2)
    mixed = base.load_instances({**base.export_instances(inst), "f_min": torch.tensor([0.3, 0.9]).numpy()})
    expert = Exhaustive(levels=4)
    _, _, weights = expert.policy(base, mixed, Context(seed=0))
    for b, level in enumerate((0.3, 0.9)):
        alone = PowerControl(n_pairs=3, f_min=level)
        _, _, own = expert.policy(alone, alone.load_instances(alone.export_instances(inst.select([b])) | {"f_min": [level]}),
                                  Context(seed=0))
        assert torch.allclose(weights[b], own[0])
    # The same network twice: at f_min = 0 the duals stay 0 (plain WMMSE every iterate); at 5.0 (above the weakest link's 4.35 under WMMSE) they lift it.
    twice = base.load_instances({key: value[[0, 0]] for key, value in base.export_instances(inst).items()} | {"f_min": [0.0, 5.0]})
    samples = PrimalDual(iterations=200, window=100, wmmse_iters=5).solve(base, twice, 100, Context(seed=0))
    assert torch.equal(samples[0], samples[0, :1].expand_as(samples[0]))
    rates = base.evaluate(twice, samples, Context(seed=1), {"T": 200, "T0": 2}).distributions["link_rate"]
    assert rates[1].min() > rates[0].min()


def test_exhaustive_returns_the_lp_mixture_itself() -> None:
    """The support of the LP's weights, padded with zero-weight points: a basic solution has at most N + 1."""
    problem = PowerControl(n_pairs=3, f_min=0.8)
    inst = problem.make_instances("test", 2, seed=2)
    expert = Exhaustive(levels=4)
    grid, _, weights = expert.policy(problem, inst, Context(seed=0))
    out = expert.solve(problem, inst, 10, Context(seed=0))
    assert out.samples.shape == (2, 10, 3) and out.weights.shape == (2, 10)
    index = ((out.samples.double() / 0.01 * 3).round() * torch.tensor([16.0, 4.0, 1.0], dtype=torch.float64)).sum(-1).long()
    for b in range(2):
        assert int((weights[b] > 0).sum()) <= 4
        mixture = torch.zeros(grid.shape[0], dtype=torch.float64).index_add_(0, index[b], out.weights[b].double())
        assert torch.allclose(mixture, weights[b], atol=1e-7)


def test_exhaustive_refuses_large_grids_with_the_size() -> None:
    problem = PowerControl(n_pairs=6)
    expert = Exhaustive(levels=5, max_points=1000)
    assert "15625" in expert.supports(problem)
    with pytest.raises(ValueError, match="15625"):
        expert.solve(problem, problem.make_instances("test", 1, seed=0), 4, Context(seed=0))


def test_primal_dual_is_reproducible_and_in_the_box() -> None:
    problem = PowerControl(n_pairs=4)
    inst = problem.make_instances("test", 3, seed=0)
    expert = PrimalDual(iterations=60, window=20)
    first, again = (expert.solve(problem, inst, 30, Context(seed=5)) for _ in range(2))
    assert first.shape == (3, 30, 4) and torch.equal(first, again)
    assert problem.decision_set(inst).contains(first).all()
    # 30 picks cycle through a window of 20 iterates, not one repeated iterate.
    assert all(len({tuple(row) for row in net.tolist()}) >= 2 for net in first)


def test_herding_tracks_the_window_mean_better_than_random_subsets() -> None:
    gen = torch.Generator().manual_seed(0)
    # Bursty features: each column is "on" (large) in a few rows only, like rarely served links.
    features = (torch.rand(4, 200, 30, generator=gen) < 0.1).double() * torch.rand(4, 200, 30, generator=gen) * 5
    picks = herd(features, 40)
    assert all(len(set(row.tolist())) == 40 for row in picks)
    target = features.mean(1)
    herded = (features[torch.arange(4).unsqueeze(-1), picks].mean(1) - target).abs().max()
    random = torch.stack([(features[:, torch.randperm(200, generator=gen)[:40]].mean(1) - target).abs().max() for _ in range(20)])
    assert herded < 0.25 * random.median()


def test_primal_dual_on_default_suite_is_feasible_when_time_shared() -> None:
    suite = yaml.safe_load(SUITE.read_text())
    problem = PowerControl(suite["problem"]["params"])
    inst = problem.make_instances("test", suite["problem"]["instances"]["test"], seed=suite["seed"])
    expert = PrimalDual(suite["expert"]["params"])
    samples = expert.solve(problem, inst, suite["evaluation"]["samples"], Context(seed=suite["seed"]))
    metrics = problem.evaluate(inst, samples, Context(seed=1), suite["evaluation"]["params"]).metrics
    assert metrics["feasible_frac"] >= 0.98
    assert metrics["single_sample_feasible_frac"] < metrics["feasible_frac"]
    assert problem.decision_set(inst).contains(samples).all()

"""Experts: the exact LP policy, its refusal for large grids, the column-generation expert against it, and its diagnostics."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
import numpy as np
from wrbench_plugins.power_control.experts import Exhaustive, PrimalDual
from wrbench_plugins.power_control.mixture import best_mixture
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
    # The same network twice: at f_min = 0 no constraint has a price, so the mixture is the single best WMMSE
    # allocation; at 5.0 (above the weakest link's 4.35 under WMMSE) the prices lift the weakest link.
    twice = base.load_instances({key: value[[0, 0]] for key, value in base.export_instances(inst).items()} | {"f_min": [0.0, 5.0]})
    out = PrimalDual(rounds=20, starts=2, wmmse_iters=10).solve(base, twice, 10, Context(seed=0))
    assert int((out.weights[0] > 0).sum()) == 1
    rates = base.evaluate(twice, out.samples, Context(seed=1), {"T": 200, "T0": 2}, weights=out.weights).distributions["link_rate"]
    assert rates[1].min() >= 5.0 * (1 - 1e-6) > rates[0].min()


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


def hand_made(snr: list[list[float]], f_min: float) -> tuple[PowerControl, object]:
    """One network with SNR-unit gains snr[j][i] (tx j -> rx i), as instances of the problem."""
    problem = PowerControl(n_pairs=len(snr), f_min=f_min)
    gains = np.asarray(snr, dtype=float)[None] * problem.sigma2 / problem.params.p_max
    positions = np.zeros((1, len(snr), 2))
    return problem, problem.load_instances({"H": gains, "tx": positions, "rx": positions})


@pytest.mark.parametrize("snr, f_min", [
    ([[1e3, 8e2], [8e2, 1e3]], 2.0),  # two links as strong across as direct: take turns
    ([[1e3, 9e2, 1.0], [9e2, 1e3, 1.0], [1.0, 1.0, 3e2]], 1.5),  # the same pair beside a link of its own
])
def test_primal_dual_reaches_the_lp_optimum_where_switching_links_off_is_optimal(snr, f_min) -> None:
    problem, inst = hand_made(snr, f_min)
    expert = PrimalDual(rounds=40, starts=4)
    out = expert.solve(problem, inst, 10, Context(seed=0))
    score = problem.evaluate(inst, out.samples, Context(seed=1), {"T": 50, "T0": 5}, weights=out.weights).metrics
    levels = 21 if len(snr) == 2 else 11
    lp = Exhaustive(levels=levels, max_points=2000).solve(problem, inst, 10, Context(seed=0))
    optimum = problem.evaluate(inst, lp.samples, Context(seed=1), {"T": 50, "T0": 5}, weights=lp.weights).metrics
    assert score["mean_rate"] >= 0.99 * optimum["mean_rate"]
    assert score["feasible_frac"] == 1.0
    on = out.samples[0, out.weights[0] > 0] > 1e-3 * problem.params.p_max
    assert not on[:, :2].all(), "the mixture switches one of the interfering pair off"
    assert expert.diagnostics["converged_frac"] == 1.0


def test_primal_dual_flags_a_search_stopped_too_early() -> None:
    problem = PowerControl(n_pairs=8, f_min=1.5)
    inst = problem.make_instances("test", 2, seed=3)
    early = PrimalDual(rounds=1, starts=1, wmmse_iters=5)
    with pytest.warns(UserWarning, match="raise rounds"):
        early.solve(problem, inst, 10, Context(seed=0))
    assert early.diagnostics["converged_frac"] < 1.0 and early.diagnostics["pricing_gap_max"] > 1e-4
    assert early.diagnostics["rounds"] == 1.0
    full = PrimalDual(rounds=200, starts=4)
    full.solve(problem, inst, 10, Context(seed=0))
    assert full.diagnostics["converged_frac"] == 1.0 and full.diagnostics["pricing_gap_max"] <= 1e-4
    assert full.diagnostics["rounds"] < 200


def test_mixture_prices_satisfy_lp_optimality() -> None:
    """Complementary slackness: the support's reduced gain is 0, no column's is positive, and the value is
    the dual's (offset - prices . target)."""
    rates = np.random.default_rng(0).uniform(0.0, 3.0, size=(40, 5))
    mixture = best_mixture(rates, 1.2)
    gain = mixture.reduced_gain(rates)
    assert np.abs(gain[mixture.weights > 1e-9]).max() < 1e-8 and gain.max() < 1e-8
    assert mixture.mean_rate == pytest.approx(mixture.offset - 1.2 * mixture.prices.sum(), abs=1e-8)
    assert (mixture.weights @ rates >= 1.2 - 1e-9).all()
    short = best_mixture(rates, 10.0)  # out of reach: the shortfall is minimized, every link's at most 10 - best
    assert np.allclose(short.shortfall, 10.0 - short.weights @ rates) and (short.shortfall > 0).all()


def test_primal_dual_is_reproducible_and_in_the_box() -> None:
    problem = PowerControl(n_pairs=4)
    inst = problem.make_instances("test", 3, seed=0)
    expert = PrimalDual(rounds=10, starts=2)
    first, again = (expert.solve(problem, inst, 30, Context(seed=5)) for _ in range(2))
    assert first.samples.shape == (3, 30, 4) and torch.equal(first.samples, again.samples)
    assert torch.equal(first.weights, again.weights)
    assert problem.decision_set(inst).contains(first.samples).all()
    assert torch.allclose(first.weights.sum(-1), torch.ones(3, dtype=first.weights.dtype))


def test_primal_dual_on_default_suite_holds_every_constraint_exactly() -> None:
    suite = yaml.safe_load(SUITE.read_text())
    problem = PowerControl(suite["problem"]["params"])
    inst = problem.make_instances("test", suite["problem"]["instances"]["test"], seed=suite["seed"])
    expert = PrimalDual(suite["expert"]["params"])
    out = expert.solve(problem, inst, suite["evaluation"]["samples"], Context(seed=suite["seed"]))
    metrics = problem.evaluate(inst, out.samples, Context(seed=1), suite["evaluation"]["params"], weights=out.weights).metrics
    assert metrics["feasible_frac"] == 1.0 and metrics["violation"] < 1e-6
    assert metrics["single_sample_feasible_frac"] < metrics["feasible_frac"]
    assert problem.decision_set(inst).contains(out.samples).all()

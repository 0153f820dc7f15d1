"""Verdicts: exact ergodic scores, weighted policies, and a ranking the gaming policies cannot win."""
from __future__ import annotations

import json
import math

import pytest
import torch

from wrbench.api import Context, WeightedSamples
from wrbench.core.checks import BAD_WEIGHTS, CellInvalid, checked_output
from wrbench.core.params import resolve
from wrbench_plugins.power_control.problem import PowerControl
from wrbench_plugins.power_control.rates import expected_sample_rates, link_rates
from wrbench_plugins.sum_rate.problem import SumRate

PROBLEM = PowerControl({"n_pairs": 5, "f_min": 1.0})
EVAL = resolve(PowerControl.eval_parameters, {"T": 40, "T0": 5})


def test_exact_rates_match_a_monte_carlo_estimate_within_its_standard_error():
    instances = PROBLEM.make_instances("test", 2, seed=3)
    gains = PROBLEM.snr_gains(instances)
    power = torch.rand(2, 3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    power[:, 0, 2] = 0.0  # a link switched off: its rate is exactly 0
    exact = expected_sample_rates(power, gains)
    draws = 40000
    fading = torch.empty(draws, 2, 1, 5, 5, dtype=torch.float64).exponential_(generator=torch.Generator().manual_seed(1))
    rates = link_rates(power.unsqueeze(0), gains.unsqueeze(1).unsqueeze(0) * fading)
    estimate, error = rates.mean(0), rates.std(0) / math.sqrt(draws)
    assert torch.all((exact - estimate).abs() <= 4 * error + 1e-12), (exact - estimate) / error
    assert exact[:, 0, 2].abs().max() == 0.0


def _expanded(samples: torch.Tensor, counts: list[int]) -> torch.Tensor:
    return torch.cat([samples[:, i:i + 1].expand(-1, c, -1) for i, c in enumerate(counts)], dim=1)


def test_a_weighted_policy_scores_as_its_weight_expanded_sample_set():
    instances = PROBLEM.make_instances("test", 3, seed=1)
    samples = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.01
    counts = [1, 5, 0, 2]
    weights = torch.tensor(counts, dtype=torch.float64).expand(3, -1) / sum(counts)
    weighted = PROBLEM.evaluate(instances, samples, Context(5), EVAL, weights=weights)
    plain = PROBLEM.evaluate(instances, _expanded(samples, counts), Context(5), EVAL)
    for metric in ("mean_rate", "min_rate", "p5", "feasible_frac", "violation", "fairness", "single_sample_feasible_frac"):
        assert weighted.metrics[metric] == pytest.approx(plain.metrics[metric], rel=1e-12, abs=1e-12), metric
    assert weighted.per_instance["mean_rate"] == pytest.approx(plain.per_instance["mean_rate"], rel=1e-12)


def test_sum_rate_honours_weights_too():
    problem = SumRate({"channels": 3})
    instances = problem.make_instances("test", 4, seed=0)
    params = resolve(problem.eval_parameters, {})
    samples = torch.rand(4, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4
    counts = [2, 0, 1]
    weights = torch.tensor(counts, dtype=torch.float64).expand(4, -1) / 3
    weighted = problem.evaluate(instances, samples, Context(0), params, weights=weights)
    plain = problem.evaluate(instances, _expanded(samples, counts), Context(0), params)
    for metric in ("sum_rate", "exceed_ratio", "infeasible_frac", "exceed_ratio_min", "exceed_ratio_best"):
        assert weighted.metrics[metric] == pytest.approx(plain.metrics[metric], rel=1e-12), metric


def test_the_lp_mixture_is_exactly_feasible_when_scored_with_its_weights():
    from wrbench_plugins.power_control.experts import Exhaustive

    problem = PowerControl({"n_pairs": 3, "f_min": 1.0})
    instances = problem.make_instances("test", 4, seed=0)
    output = Exhaustive({"levels": 5}).solve(problem, instances, 8, Context(0))
    samples, weights = checked_output(problem, instances, output, 8, "expert")
    evaluation = problem.evaluate(instances, samples, Context(1), EVAL, weights=weights)
    assert evaluation.metrics["feasible_frac"] == 1.0 and evaluation.metrics["violation"] < 1e-6


def test_weights_are_checked_and_refused_by_a_problem_that_cannot_score_them():
    instances = PROBLEM.make_instances("test", 2, seed=0)
    samples = torch.full((2, 3, 5), 0.005)
    with pytest.raises(CellInvalid) as bad:
        checked_output(PROBLEM, instances, WeightedSamples(samples, -torch.ones(2, 3)), 3, "solver")
    assert bad.value.code == BAD_WEIGHTS
    with pytest.raises(CellInvalid) as shape:
        checked_output(PROBLEM, instances, WeightedSamples(samples, torch.ones(2, 4)), 3, "solver")
    assert shape.value.code == BAD_WEIGHTS and "(2, 3)" in str(shape.value)
    _, weights = checked_output(PROBLEM, instances, WeightedSamples(samples, torch.tensor([[1.0, 1, 2], [0, 0, 5]])), 3, "s")
    assert torch.allclose(weights, torch.tensor([[0.25, 0.25, 0.5], [0, 0, 1]], dtype=torch.float64))

    class Unweighted(PowerControl):
        scores_weights = False

    with pytest.raises(CellInvalid, match="does not score weights"):
        checked_output(Unweighted({"n_pairs": 5}), instances, WeightedSamples(samples, torch.ones(2, 3)), 3, "solver")


SMALL = {
    "name": "verdict_small",
    "seed": 0,
    "repetitions": 2,
    "problem": {"name": "power_control", "params": {"n_pairs": 4, "f_min": 1.0}, "instances": {"train": 2, "test": 8}},
    "expert": {"name": "exhaustive", "params": {"levels": 6}, "samples": 4},
    "solvers": [{"name": "tdma"}, {"name": "wmmse_mixture"}, {"name": "exhaustive", "params": {"levels": 6}},
                {"name": "primal_dual", "params": {"rounds": 10, "starts": 2}}],
    "evaluation": {"samples": 40, "params": {"T": 200, "T0": 5}},
}


def test_on_the_small_network_the_optimal_policies_rank_first_and_gaming_policies_below_them(
        wrbench, write_suite, tmp_path):
    result = wrbench("run", str(write_suite(**SMALL)), "-o", "out", "-q",
                     plugins=("wrbench_plugins.power_control", "verdict_plugin"))
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "out" / "leaderboard.json").read_text())["rows"]
    position = {row["label"]: i for i, row in enumerate(rows)}
    # primal_dual's continuous powers may match or beat the grid optimum: the three share the top
    assert {position["exhaustive (expert)"], position["exhaustive"], position["primal_dual"]} == {0, 1, 2}, [r["label"] for r in rows]
    assert rows[0]["rank"] in ("1", "1=")
    for gaming in ("tdma", "wmmse_mixture"):
        assert position[gaming] > max(position["primal_dual"], position["exhaustive"]), [r["label"] for r in rows]
    by_label = {row["label"]: row for row in rows}
    assert by_label["exhaustive"]["feasible_frac"] == 1.0
    assert by_label["wmmse_mixture"]["violation"] > 0.01 and by_label["tdma"]["mean_rate"] < by_label["primal_dual"]["mean_rate"]
    assert by_label["primal_dual"]["exceed_ratio"] >= 0.98 and by_label["primal_dual"]["feasible_frac"] == 1.0
    low, high = by_label["tdma"]["mean_rate_diff_ci"]
    assert high < 0  # the gaming policy is significantly below the optimum, paired
    assert (tmp_path / "out" / "plots" / "test_tradeoff.png").exists() and (tmp_path / "out" / "plots" / "test_profile.png").exists()

"""The offloading and NOMA-UAV problems' candidate scores and exact completions, against independent checks."""
from __future__ import annotations

import pytest
import torch
from wrbench_plugins.offloading.exact import all_decisions
from wrbench_plugins.offloading.model import cost_and_delay
from wrbench_plugins.offloading.problem import Offloading
from wrbench_plugins.noma_uav.physics import channel_gains, sic_power_ordered, user_rates
from wrbench_plugins.noma_uav.problem import NomaUav

from wrbench.api import Context
from wrbench.params import resolve


def _arrays(instances):
    return {key: v.to(torch.float64).unsqueeze(1) for key, v in instances.arrays.items()}


def test_offloading_completion_reaches_the_optimum_from_its_decision_and_beats_random_shares() -> None:
    problem = Offloading({"devices": 3, "delay_bound_s": 2.0})
    instances = problem.make_instances("test", 40, seed=3)
    optimum = problem.optimum(instances)
    garbage = torch.cat([optimum.offload, torch.rand(40, 3, dtype=torch.float64)], -1).unsqueeze(1)
    completed = problem.complete(instances, garbage)
    cost, _ = cost_and_delay(_arrays(instances), completed[..., :3], completed[..., 3:], problem.constants)
    torch.testing.assert_close(cost.squeeze(1), optimum.cost)
    # every D of every instance: no random share vector meeting the delay bounds is cheaper than the completion
    decisions = all_decisions(3).unsqueeze(0).expand(40, -1, -1)
    full = problem.complete(instances, torch.cat([decisions, torch.zeros_like(decisions)], -1))
    best, best_delay = cost_and_delay(_arrays(instances), decisions, full[..., 3:], problem.constants)
    bound = problem.constants.delay_bound_s
    gen, compared = torch.Generator().manual_seed(0), 0
    for _ in range(200):
        shares = torch.rand(decisions.shape, generator=gen, dtype=torch.float64) * decisions
        shares = shares / shares.sum(-1, keepdim=True).clamp(min=1e-300)
        cost, delay = cost_and_delay(_arrays(instances), decisions, shares, problem.constants)
        meets = (delay <= bound).all(-1)
        assert ((best_delay <= bound * (1 + 1e-9)).all(-1) | ~meets).all()  # the completion meets what can be met
        assert (best[meets] <= cost[meets] * (1 + 1e-9)).all()
        compared += int(meets.sum())
    assert compared > 1000  # the check compared many feasible share vectors


def test_offloading_candidate_scores_are_minus_the_scored_cost_and_the_delay_bounds() -> None:
    problem = Offloading({"devices": 3})
    instances = problem.make_instances("test", 30, seed=4)
    samples = torch.rand(30, 5, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    merit, feasible = problem.candidate_scores(instances, samples, resolve(problem.eval_parameters, {}))
    offload = (samples[..., :3] > 0.5).double()
    shares = samples[..., 3:] * offload
    shares = torch.where(shares.sum(-1, keepdim=True) > 0, shares / shares.sum(-1, keepdim=True), offload / 3)
    cost, delay = cost_and_delay(_arrays(instances), offload, shares, problem.constants)
    torch.testing.assert_close(merit, -cost)
    assert torch.equal(feasible, (delay <= problem.constants.delay_bound_s * (1 + 1e-6)).all(-1))


def test_noma_completion_gives_the_best_split_at_the_sampled_position() -> None:
    problem = NomaUav({"K": 3, "r_min": 0.5})
    instances = problem.make_instances("test", 6, seed=2)
    gen = torch.Generator().manual_seed(5)
    q = torch.rand(6, 4, 2, generator=gen, dtype=torch.float64) * problem.params.side
    raw = torch.cat([q, torch.full((6, 4, 3), 1.0, dtype=torch.float64)], -1)
    completed = problem.complete(instances, raw)
    torch.testing.assert_close(completed[..., :2], q)
    users = instances.arrays["users"].double().unsqueeze(1)
    P = instances.arrays["P"].double().view(6, 1, 1)
    g = channel_gains(q, users, problem.params.altitude, problem.link.rho0)
    best = user_rates(g, completed[..., 2:], problem.link.noise)
    params = resolve(problem.eval_parameters, {})
    merit, feasible = problem.candidate_scores(instances, completed, params)
    torch.testing.assert_close(merit, best.sum(-1))
    # Monte Carlo over splits on the budget: none keeping the SIC order and meeting r_min beats the completion
    compared = 0
    for _ in range(300):
        p = -torch.log(torch.rand(6, 4, 3, generator=gen, dtype=torch.float64))
        p = P * p / p.sum(-1, keepdim=True)
        rates = user_rates(g, p, problem.link.noise)
        meets = (rates >= problem.params.r_min).all(-1) & sic_power_ordered(g, p)
        assert (best.sum(-1)[meets] >= rates.sum(-1)[meets] - 1e-9).all()
        compared += int(meets.sum())
    assert compared > 100 and feasible.any()


def test_offloading_cost_of_an_unserved_sample_counts_at_the_ratio_cap() -> None:
    """An offloaded device with no server share never finishes: its cost is counted as ratio_cap x the optimum's."""
    problem = Offloading({"devices": 3})
    instances = problem.make_instances("test", 4, seed=6)
    unserved = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64).expand(4, 1, 6)
    params = resolve(problem.eval_parameters, {"ratio_cap": 7.0})
    evaluation = problem.evaluate(instances, unserved, Context(0), params)
    assert evaluation.metrics["unserved_frac"] == 1.0
    expected = 7.0 * problem.optimum(instances).cost
    assert evaluation.per_instance["cost"] == pytest.approx(expected.numpy())
    assert evaluation.per_instance["cost_ratio"] == pytest.approx(7.0)

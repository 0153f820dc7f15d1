"""noma_uav: NOMA physics by hand, the exact power split and the placement search against brute force, the decision
set, the evaluation protocol and the baselines' conformance."""
from __future__ import annotations

import math

import pytest
import torch
from wrbench_plugins.noma_uav.baselines import CentroidEqual, RandomPlacement
from wrbench_plugins.noma_uav.decision import PositionPower
from wrbench_plugins.noma_uav.experts import NomaSearch
from wrbench_plugins.noma_uav.physics import (
    channel_gains,
    db_to_linear,
    dbm_to_mw,
    sic_power_ordered,
    sorted_rates,
    user_rates,
)
from wrbench_plugins.noma_uav.power import optimal_split
from wrbench_plugins.noma_uav.problem import NomaUav
from wrbench_plugins.noma_uav.search import best_split, search

from wrbench.api import Context, Instances
from wrbench.core.plugins import load_plugins
from wrbench.params import ParamError, resolve
from wrbench.testing import assert_conformant

CTX = Context(seed=0)
f64 = torch.float64


def _eval_params(problem: NomaUav, **overrides):
    return resolve(problem.eval_parameters, overrides)


def _power_grid(K: int, P: float, levels: int) -> torch.Tensor:
    """Every split of {p >= 0, sum p <= P} on a grid of P / levels, as (N, K)."""
    axis = torch.arange(levels + 1, dtype=f64)
    points = torch.cartesian_prod(*[axis] * K).reshape(-1, K)
    return points[points.sum(-1) <= levels] * (P / levels)


def _budget_face(P: float, levels: int) -> torch.Tensor:
    """The splits of three users spending all of P, (p_1, p_2) on a grid of P / levels: a finer grid than the solid."""
    axis = torch.arange(levels + 1, dtype=f64)
    pairs = torch.cartesian_prod(axis, axis)
    pairs = pairs[pairs.sum(-1) <= levels]
    return torch.cat([pairs, levels - pairs.sum(-1, keepdim=True)], -1) * (P / levels)


# ----------------------------------------------------------------------------------------------------- physics


def test_units_and_a_hand_computed_gain() -> None:
    assert db_to_linear(-60.0) == pytest.approx(1e-6) and dbm_to_mw(-110.0) == pytest.approx(1e-11)
    g = channel_gains(torch.tensor([0.0, 0.0], dtype=f64), torch.tensor([[30.0, 40.0]], dtype=f64), 120.0, 1e-6)
    assert g.item() == pytest.approx(1e-6 / (120.0**2 + 50.0**2))  # 3-4-5: 50 m away, 130 m slant range


def test_two_users_in_reverse_order() -> None:
    # user 1 is the stronger (gain 2 sigma^2): it cancels user 0's signal; user 0 hears user 1 as interference.
    g, noise = torch.tensor([1e-11, 2e-11], dtype=f64), 1e-11
    rates = user_rates(g, torch.tensor([3.0, 1.0], dtype=f64), noise)
    assert rates.tolist() == pytest.approx([math.log2(1 + 3.0 / (1.0 + 1.0)), math.log2(1 + 2.0)])
    assert bool(sic_power_ordered(g, torch.tensor([3.0, 1.0], dtype=f64)))
    assert not bool(sic_power_ordered(g, torch.tensor([1.0, 3.0], dtype=f64)))


def test_three_users_by_hand() -> None:
    gamma = torch.tensor([4.0, 1.0, 2.0], dtype=f64)  # SIC order: user 0, user 2, user 1
    p = torch.tensor([3.0, 1.0, 2.0], dtype=f64)
    expected = [math.log2(1 + 12.0), math.log2(1 + 1.0 / (5.0 + 1.0)), math.log2(1 + 4.0 / (6.0 + 1.0))]
    assert user_rates(gamma * 1e-11, p, 1e-11).tolist() == pytest.approx(expected)
    assert not bool(sic_power_ordered(gamma, p))  # the strongest user has the most power
    assert bool(sic_power_ordered(gamma, torch.tensor([1.0, 3.0, 2.0], dtype=f64)))


# ------------------------------------------------------------------------------------------ exact power split


@pytest.mark.parametrize("gamma, r_min", [
    ((20.0, 8.0, 1.5), 0.0),
    ((20.0, 8.0, 1.5), 1.0),
    ((12.0, 11.5, 0.8), 0.4),  # near-equal strong users: SIC order binds between them, r_min for the weakest
    ((30.0, 3.0, 2.5), 1.6),
    ((5.0, 2.0, 1.0), 0.7),
])
def test_split_matches_a_fine_grid_over_the_power_simplex(gamma, r_min) -> None:
    gamma, P = torch.tensor(gamma, dtype=f64), 18.0
    p, ok = optimal_split(gamma, torch.tensor(P, dtype=f64), r_min)
    rates = sorted_rates(gamma, p)
    assert bool(ok) and p.sum().item() == pytest.approx(P)
    assert (p[1:] >= p[:-1] - 1e-12).all() and (rates >= r_min - 1e-9).all()
    for grid, gap in ((_power_grid(3, P, 120), 0.05), (_budget_face(P, 1500), 2e-3)):
        grid_rates = sorted_rates(gamma, grid)
        allowed = (grid[:, 1:] >= grid[:, :-1]).all(-1) & (grid_rates >= r_min).all(-1)
        best = grid_rates.sum(-1)[allowed].max().item()
        assert best <= rates.sum().item() + 1e-12  # nothing on the grid beats the exact split
        assert rates.sum().item() - best < gap  # and the grid's best approaches it


def test_split_is_equal_without_rmin_and_flags_an_unattainable_rmin() -> None:
    gamma = torch.tensor([[100.0, 40.0, 20.0], [0.2, 0.1, 0.05]], dtype=f64)
    p, ok = optimal_split(gamma, torch.tensor(18.0, dtype=f64), 0.0)
    assert ok.all() and torch.allclose(p, torch.full_like(p, 6.0))
    p, ok = optimal_split(gamma, torch.tensor(18.0, dtype=f64), 3.0)
    assert ok.tolist() == [True, False] and torch.isfinite(p).all()
    grid = _power_grid(3, 18.0, 90)
    rates = sorted_rates(gamma[1], grid)
    assert not ((grid[:, 1:] >= grid[:, :-1]).all(-1) & (rates >= 3.0).all(-1)).any()  # none on the grid either


# ------------------------------------------------------------------------------------------- placement search


@pytest.mark.parametrize("r_min", [0.0, 1.0])
def test_search_matches_a_brute_force_metre_grid(r_min: float) -> None:
    problem = NomaUav(r_min=r_min)
    inst = problem.make_instances("test", 2, seed=3)
    users, P = inst.arrays["users"], inst.arrays["P"]
    found = search(users, P, 400.0, problem.link, r_min)
    axis = torch.linspace(0.0, 400.0, 401, dtype=f64)
    points = torch.cartesian_prod(axis, axis).expand(2, -1, -1)
    if r_min == 0.0:  # the equal split is optimal at any position: brute force needs only the rates
        g = channel_gains(points, users.unsqueeze(1), problem.params.altitude, problem.link.rho0)
        brute = user_rates(g, (P / 3)[:, None, None].expand_as(g), problem.link.noise).sum(-1).max(-1).values
    else:
        brute = best_split(points, users, P, torch.full((2,), r_min, dtype=f64), problem.link)[0].max(-1).values
    assert (found.rate >= brute - 1e-9).all()
    assert (found.rate - brute < 1e-4 * brute).all()
    rates = problem.rates(inst, found.decisions().unsqueeze(1))[:, 0]
    assert torch.allclose(rates.sum(-1), found.rate)


def test_a_binding_rmin_is_met_by_the_reference() -> None:
    free, bound = NomaUav(r_min=0.0), NomaUav(r_min=1.0)
    inst = bound.make_instances("test", 4, seed=1)
    unconstrained = free.rates(inst, free.reference(inst).decisions().unsqueeze(1))[:, 0]
    assert (unconstrained.min(-1).values < 1.0).all()  # without it some user gets less: r_min binds
    placement = bound.reference(inst)
    x = placement.decisions().unsqueeze(1)
    rates = bound.rates(inst, x)[:, 0]
    assert placement.attainable.all() and (rates >= 1.0 - 1e-9).all()
    assert ((rates - 1.0).abs() < 1e-9).any(-1).all()  # some user sits exactly at r_min
    g = channel_gains(x[..., :2], inst.arrays["users"].unsqueeze(1), 150.0, bound.link.rho0)
    assert sic_power_ordered(g, x[..., 2:], 1e-12).all()
    assert (placement.rate <= free.reference(inst).rate + 1e-12).all()


def test_an_unattainable_rmin_is_flagged_without_nan() -> None:
    problem = NomaUav(r_min=3.0)
    inst = problem.make_instances("test", 3, seed=0)
    expert = NomaSearch(grid_step=20.0)
    x = expert.solve(problem, inst, 2, CTX)
    assert torch.isfinite(x).all() and expert.diagnostics == {"rmin_unattainable_frac": 1.0}
    ev = problem.evaluate(inst, x, CTX, _eval_params(problem))
    assert all(math.isfinite(v) for v in ev.metrics.values())
    assert ev.metrics["rmin_unattainable_frac"] == 1.0 and ev.metrics["violation_frac"] == 0.0


# ---------------------------------------------------------------------------------------------- decision set


def test_decision_set_membership_projection_and_unit_round_trip() -> None:
    dset = PositionPower(side=400.0, total=torch.tensor([18.0, 30.0], dtype=f64))
    x = torch.tensor([[[100.0, 400.0, 6.0, 6.0, 6.0], [-1.0, 50.0, 1.0, 1.0, 1.0]],
                      [[0.0, 0.0, 10.0, 10.0, 10.0], [5.0, 5.0, 20.0, -1.0, 20.0]]], dtype=f64)
    assert dset.contains(x).tolist() == [[True, False], [True, False]]
    y = dset.project(x)
    assert dset.contains(y).all()
    assert y[0, 1].tolist() == [0.0, 50.0, 1.0, 1.0, 1.0] and y[1, 1].tolist() == [5.0, 5.0, 15.0, 0.0, 15.0]
    assert torch.equal(dset.project(y), y)
    inside = dset.uniform(64, 5, torch.Generator().manual_seed(0))
    assert inside.shape == (2, 64, 5) and dset.contains(inside).all()
    u = dset.to_unit(inside)
    assert (u >= 0).all() and (u <= 1).all()
    assert torch.allclose(dset.from_unit(u, repair=False), inside) and torch.allclose(dset.from_unit(u), inside)
    raw = dset.to_unit(x)
    assert torch.allclose(dset.from_unit(raw, repair=False), x)
    assert torch.allclose(dset.from_unit(raw), y)
    violations = dset.unit_violations(raw)
    assert violations["clamped"].any(-1).tolist() == [[False, True], [False, True]]
    assert violations["scaled"].tolist() == [[False, False], [False, True]]


# ---------------------------------------------------------------------------------------------- the problem


def test_bad_params_are_refused_by_name() -> None:
    for params, key in (({"side": 0.0}, "side"), ({"altitude": 0.0}, "altitude"), ({"power_mw": 0.0}, "power_mw"),
                        ({"K": 0}, "K"), ({"r_min": -1.0}, "r_min"), ({"users": 3}, "users")):
        with pytest.raises(ParamError) as info:
            NomaUav(**params)
        assert info.value.key == key


def test_instances_are_deterministic_one_user_per_quadrant_and_round_trip() -> None:
    problem = NomaUav()
    inst = problem.make_instances("train", 50, seed=7)
    assert torch.equal(inst.arrays["users"], problem.make_instances("train", 50, seed=7).arrays["users"])
    assert not torch.equal(inst.arrays["users"], problem.make_instances("test", 50, seed=7).arrays["users"])
    users = inst.arrays["users"]
    quadrant = (users[..., 0] >= 200).long() + 2 * (users[..., 1] >= 200).long()
    assert all(len(set(row.tolist())) == 3 for row in quadrant)
    wide = NomaUav(K=6).make_instances("train", 50, seed=7).arrays["users"]
    assert wide.shape == (50, 6, 2) and (wide >= 0).all() and (wide <= 400).all()
    loaded = problem.load_instances(problem.export_instances(inst))
    assert loaded.fingerprint() == inst.fingerprint()
    with pytest.raises(ValueError, match=r"'users' must have shape \(B, 3, 2\)"):
        problem.load_instances({"users": users[:, :2].numpy(), "P": inst.arrays["P"].numpy()})
    flat = problem.flat(inst)
    assert flat.shape == (50, 9) and torch.allclose(flat[:, :6], users.flatten(1) / 400)
    assert flat[0, 7].item() == pytest.approx(math.log10(18.0 * 1e-6 / (1e-11 * 150.0**2)))


def test_evaluation_of_the_reference_and_the_baselines() -> None:
    problem = NomaUav()
    inst = problem.make_instances("test", 8, seed=0)
    params = _eval_params(problem)
    ref = problem.evaluate(inst, NomaSearch().solve(problem, inst, 2, CTX), CTX, params).metrics
    assert ref["rate_ratio"] == pytest.approx(1.0) and ref["violation_frac"] == 0.0 and ref["qos_frac"] == 1.0
    centroid = problem.evaluate(inst, CentroidEqual().sample(problem, inst, 3, CTX), CTX, params).metrics
    assert centroid["sic_frac"] == 1.0 and 0.8 < centroid["rate_ratio"] < 1.0
    random = problem.evaluate(inst, RandomPlacement().sample(problem, inst, 64, CTX), CTX, params).metrics
    assert random["rate_ratio"] < 1.0 and 0.0 < random["sic_frac"] < 0.5  # 1 / 3! of random splits are ordered
    assert set(ref) == set(problem.metrics)


def test_outside_samples_are_counted_and_weights_match_repetition() -> None:
    problem = NomaUav()
    inst = problem.make_instances("test", 3, seed=2)
    x = RandomPlacement().sample(problem, inst, 2, CTX)
    x[:, 1, 2] = -1.0  # a negative power: infeasible raw
    params = _eval_params(problem)
    weighted = problem.evaluate(inst, x, CTX, params, weights=torch.tensor([[0.75, 0.25]] * 3, dtype=f64)).metrics
    repeated = problem.evaluate(inst, x[:, [0, 0, 0, 1]], CTX, params).metrics
    assert weighted == pytest.approx(repeated) and weighted["infeasible_frac"] == pytest.approx(0.25)


# ---------------------------------------------------------------------------------------------- the plugin


@pytest.fixture(scope="module")
def registry():
    return load_plugins(["wrbench_plugins.noma_uav"], entry_points=False)


def test_plugin_loads(registry) -> None:
    (record,) = registry.records
    assert record.status == "loaded", record.error


@pytest.mark.parametrize("solver", ["centroid_equal", "random_placement"])
def test_baselines_conform(registry, solver: str) -> None:
    assert_conformant(solver, registry=registry)


def test_two_users_far_apart_get_the_uav_near_one_of_them() -> None:
    problem = NomaUav(K=2)
    inst = Instances({"users": torch.tensor([[[10.0, 10.0], [390.0, 390.0]]], dtype=f64),
                      "P": torch.tensor([18.0], dtype=f64)})
    x = NomaSearch().solve(problem, inst, 1, CTX)
    assert x.shape == (1, 1, 4)
    # two users on the diagonal's ends: the optimum hovers near one of them, not at the centroid
    assert min((x[0, 0, :2] - inst.arrays["users"][0, k]).norm().item() for k in range(2)) < 150.0

"""noma_uav's QoS coordinates: hand-computed splits, r_min, SIC order and the budget met by construction (checked
with physics.py's rates), round trips, repairs, and the problem's choice of coordinates."""
from __future__ import annotations

import math

import pytest
import torch
from wrbench_plugins.noma_uav.decision import PositionPower, QosPositionPower
from wrbench_plugins.noma_uav.experts import NomaSearch
from wrbench_plugins.noma_uav.physics import sorted_rates
from wrbench_plugins.noma_uav.power import optimal_split, qos_coordinates, qos_powers
from wrbench_plugins.noma_uav.problem import NomaUav

from wrbench.api import Context
from wrbench.params import resolve

f64 = torch.float64


def _meets(gamma: torch.Tensor, P: float, r_min: float, p: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """Whether powers p (..., K) in SIC order meet SIC order, r_min (by physics.sorted_rates) and the budget."""
    ordered = (p[..., 1:] >= p[..., :-1] - tol * P).all(-1)
    rates = (sorted_rates(gamma, p) >= r_min - tol).all(-1)
    return ordered & rates & (p >= 0).all(-1) & (p.sum(-1) <= P * (1 + tol))


@pytest.mark.parametrize("u, expected", [
    ((1.0, 1.0), (4.5, 5.5)),  # the optimum: user 2 exactly at r_min, the budget spent
    ((0.0, 0.5), (0.25, 5.5)),  # user 1 at its floor a / gamma_1; user 2 halfway in [1.25, 9.75]
    ((0.5, 0.0), (2.375, 3.375)),  # user 1 halfway in [0.25, 4.5]; user 2 at its floor p_1 (1 + a) + a / gamma_2
])
def test_two_users_by_hand(u, expected) -> None:
    # gamma = (4, 1), P = 10, r_min = 1 (a = 1): user 2 needs p_2 >= p_1 + 1, so p_1 <= (10 - 1) / 2 = 4.5
    gamma, P = torch.tensor([4.0, 1.0], dtype=f64), torch.tensor(10.0, dtype=f64)
    p, ok = qos_powers(gamma, P, 1.0, torch.tensor(u, dtype=f64))
    assert bool(ok) and p.tolist() == pytest.approx(expected, abs=1e-12)
    assert bool(_meets(gamma, 10.0, 1.0, p))
    back, _ = qos_coordinates(gamma, P, 1.0, p)
    assert back.tolist() == pytest.approx(list(u), abs=1e-9)


def test_the_hand_made_optimum_sits_exactly_on_rmin() -> None:
    gamma, P = torch.tensor([4.0, 1.0], dtype=f64), torch.tensor(10.0, dtype=f64)
    p, _ = qos_powers(gamma, P, 1.0, torch.ones(2, dtype=f64))
    assert sorted_rates(gamma, p).tolist() == pytest.approx([math.log2(1 + 4.5 * 4), 1.0])


@pytest.mark.parametrize("gamma, r_min", [
    ((20.0, 8.0, 1.5), 0.0),
    ((20.0, 8.0, 1.5), 1.0),
    ((12.0, 11.5, 0.8), 0.4),  # SIC order binds between the two strong users
    ((30.0, 3.0, 2.5), 1.6),
])
def test_every_cube_point_meets_the_constraints_and_ones_is_the_optimum(gamma, r_min) -> None:
    gamma, P = torch.tensor(gamma, dtype=f64), torch.tensor(18.0, dtype=f64)
    u = torch.rand(4000, 3, generator=torch.Generator().manual_seed(0), dtype=f64)
    corners = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=f64)] * 3)
    p, ok = qos_powers(gamma, P, r_min, torch.cat([u, corners]))
    assert ok.all() and _meets(gamma, 18.0, r_min, p).all()
    best, _ = optimal_split(gamma, P, r_min)
    top, _ = qos_powers(gamma, P, r_min, torch.ones(3, dtype=f64))
    assert torch.allclose(top, best, rtol=0, atol=1e-12)
    assert (sorted_rates(gamma, p).sum(-1) <= sorted_rates(gamma, best).sum() + 1e-12).all()
    back, _ = qos_coordinates(gamma, P, r_min, p[:4000])
    assert torch.allclose(back, u, atol=1e-8)


def test_an_unattainable_rmin_is_decoded_with_rmin_waived() -> None:
    gamma, P = torch.tensor([0.2, 0.1, 0.05], dtype=f64), torch.tensor(18.0, dtype=f64)
    p, ok = qos_powers(gamma, P, 3.0, torch.tensor([1.0, 1.0, 1.0], dtype=f64))
    assert not bool(ok) and p.tolist() == pytest.approx([6.0, 6.0, 6.0])  # the optimum without r_min
    p, _ = qos_powers(gamma, P, 3.0, torch.tensor([0.5, 0.0, 1.0], dtype=f64))
    assert p.tolist() == pytest.approx([3.0, 3.0, 12.0]) and bool(_meets(gamma, 18.0, 0.0, p))


def _set(r_min: float = 1.0) -> tuple[NomaUav, QosPositionPower, torch.Tensor]:
    problem = NomaUav(r_min=r_min, power_coordinates="qos")
    inst = problem.make_instances("test", 4, seed=5)
    return problem, problem.decision_set(inst), inst


def test_decoded_decisions_meet_rmin_and_sic_by_the_problems_own_check() -> None:
    problem, dset, inst = _set()
    u = torch.rand(4, 200, 5, generator=torch.Generator().manual_seed(1), dtype=f64)
    x = dset.from_unit(u)
    rates = problem.rates(inst, x)
    assert (rates >= 1.0 - 1e-9).all() and dset.contains(x).all()
    metrics = problem.evaluate(inst, x, Context(seed=0), resolve(problem.eval_parameters, {})).metrics
    assert metrics["qos_frac"] == pytest.approx(1.0, abs=1e-12) and metrics["violation_frac"] == pytest.approx(0.0, abs=1e-12)
    assert torch.allclose(dset.to_unit(x), u, atol=1e-8)


def test_the_reference_sits_on_the_all_ones_corner_and_round_trips() -> None:
    problem, dset, inst = _set()
    x = NomaSearch(grid_step=25.0).solve(problem, inst, 1, Context(seed=0))
    u = dset.to_unit(x)
    assert torch.allclose(u[..., 2:], torch.ones_like(u[..., 2:]))
    assert torch.allclose(dset.from_unit(u), x, rtol=0, atol=1e-9)


def test_repairs_are_counted_and_clamp_into_the_cube() -> None:
    problem, dset, _ = _set()
    u = torch.full((4, 2, 5), 0.5, dtype=f64)
    u[0, 1, 0], u[1, 0, 3] = -0.2, 1.3
    violations = dset.unit_violations(u)
    assert violations["clamped"].sum().item() == 2 and violations["clamped"][0, 1, 0] and violations["clamped"][1, 0, 3]
    assert not violations["rmin_waived"].any()
    assert torch.equal(dset.from_unit(u), dset.from_unit(u.clamp(0.0, 1.0)))
    far = NomaUav(r_min=3.0, power_coordinates="qos")  # 3 bit/s/Hz for all three users cannot be met anywhere
    inst = far.make_instances("test", 4, seed=5)
    waived = far.decision_set(inst).unit_violations(u)["rmin_waived"]
    assert waived.all()


def test_the_coordinates_change_what_solvers_see_not_the_scoring() -> None:
    budget, qos = NomaUav(r_min=1.0), NomaUav(r_min=1.0, power_coordinates="qos")
    inst = budget.make_instances("test", 4, seed=2)
    assert type(budget.decision_set(inst)) is PositionPower and type(qos.decision_set(inst)) is QosPositionPower
    x = budget.decision_set(inst).uniform(16, 5, torch.Generator().manual_seed(0))
    x[0, 0, 2] = -1.0
    params = resolve(budget.eval_parameters, {})
    assert budget.evaluate(inst, x, Context(seed=0), params).metrics == qos.evaluate(inst, x, Context(seed=0), params).metrics
    assert torch.equal(budget.decision_set(inst).project(x), qos.decision_set(inst).project(x))

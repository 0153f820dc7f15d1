"""offloading's delay-floor share coordinates: the least shares by hand, decoded decisions meeting the delay bounds
by construction (checked with model.cost_and_delay), the exact optimum's round trip, unchanged scoring, and the
exact expert solving afresh (its row times a solve, not a cache hit)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from wrbench_plugins.offloading.exact import share_floors
from wrbench_plugins.offloading.experts import Exhaustive
from wrbench_plugins.offloading.model import Constants, cost_and_delay
from wrbench_plugins.offloading.problem import Offloading

from wrbench.api import Context, SelectionShares
from wrbench.params import resolve

f64 = torch.float64


def test_least_shares_of_a_hand_computed_case() -> None:
    k = Constants()
    values = {"s": [2e5, 3e5], "c": [6e8, 9e8], "f_local": [5e8, 6e8], "h": [0.5, 0.8], "alpha": [0.25, 0.6]}
    arrays = {key: torch.tensor(v, dtype=f64) for key, v in values.items()}
    floors = share_floors(arrays, torch.tensor([1.0, 0.0], dtype=f64), k)
    rate = 1e6 * np.log2(1 + 0.3 * 0.25 / 7.96159e-13)  # alone on the uplink
    # device 2 computes locally in 9e8 / 6e8 = 1.5 s > 1 s: no shares can make this decision meet every bound
    assert torch.isinf(floors).all()
    relaxed = Constants(delay_bound_s=2.0)
    floors = share_floors(arrays, torch.tensor([1.0, 0.0], dtype=f64), relaxed)
    assert floors.tolist() == pytest.approx([6e8 / (2.5e9 * (2.0 - 2e5 / rate)), 0.0], rel=1e-12)
    # the least share gives a delay of exactly the bound
    _, delay = cost_and_delay(arrays, torch.tensor([1.0, 0.0], dtype=f64), torch.tensor([floors[0].item(), 0.0], dtype=f64), relaxed)
    assert delay[0].item() == pytest.approx(2.0, rel=1e-12)


def _instances(n: int = 3, count: int = 200):
    problem = Offloading(devices=n, share_coordinates="delay_floor")
    return problem, problem.make_instances("test", count, seed=4)


def test_decoded_shares_meet_the_delay_bounds_of_every_feasible_selection() -> None:
    problem, inst = _instances()
    dset = problem.decision_set(inst)
    gen = torch.Generator().manual_seed(0)
    d = (torch.rand(200, 64, 3, generator=gen, dtype=f64) < 0.5).to(f64)
    u = torch.cat([d, torch.rand(200, 64, 3, generator=gen, dtype=f64)], -1)
    x = dset.from_unit(u)
    assert dset.contains(x).all()
    arrays = {key: v.unsqueeze(1) for key, v in inst.arrays.items()}
    feasible = torch.isfinite(share_floors(arrays, d, problem.constants)).all(-1)
    _, delay = cost_and_delay(arrays, x[..., :3], x[..., 3:], problem.constants)
    late = (delay > problem.constants.delay_bound_s * (1 + 1e-9)).any(-1)
    assert feasible.sum() > 100 and not late[feasible].any()  # by construction wherever the selection allows it
    assert torch.equal(dset.unit_violations(u)["floors_dropped"], d.bool().any(-1) & ~feasible)


def test_the_exact_optimum_round_trips_with_bound_shares_on_the_cube_face() -> None:
    problem, inst = _instances()
    x = Exhaustive().solve(problem, inst, 1, Context(seed=0))
    dset = problem.decision_set(inst)
    u = dset.to_unit(x)
    assert ((u >= -1e-12) & (u <= 1 + 1e-12)).all()
    torch.testing.assert_close(dset.from_unit(u), x, rtol=0, atol=1e-12)
    possible = problem.optimum(inst).feasible_possible
    on_floor = (u[..., 3:] == 0) & (x[..., :3] > 0)
    assert on_floor[possible].any()  # some binding delay bounds: their shares are exactly 0 in unit coordinates


def test_share_coordinates_change_what_solvers_see_not_the_scoring() -> None:
    plain, floored = Offloading(devices=3), Offloading(devices=3, share_coordinates="delay_floor")
    inst = plain.make_instances("test", 50, seed=1)
    assert plain.decision_set(inst).floors is None and isinstance(floored.decision_set(inst), SelectionShares)
    x = plain.decision_set(inst).uniform(8, 6, torch.Generator().manual_seed(0))
    params = resolve(plain.eval_parameters, {})
    assert plain.evaluate(inst, x, Context(seed=0), params).metrics == floored.evaluate(inst, x, Context(seed=0), params).metrics


def test_the_exhaustive_expert_solves_afresh_so_its_timing_is_a_solve() -> None:
    problem = Offloading(devices=3)
    inst = problem.make_instances("test", 20, seed=0)
    x = Exhaustive().solve(problem, inst, 1, Context(seed=0))
    assert not problem._optimum  # the scoring reference's cache is neither read nor filled by the expert
    optimum = problem.optimum(inst)
    torch.testing.assert_close(x[:, 0], torch.cat([optimum.offload, optimum.shares], -1), rtol=0, atol=0)

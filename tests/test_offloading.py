"""The offloading problem: its cost model, exact shares and optimum against independent computations."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from wrbench_plugins.offloading.baselines import Greedy
from wrbench_plugins.offloading.exact import all_decisions, solve
from wrbench_plugins.offloading.model import Constants, cost_and_delay
from wrbench_plugins.offloading.problem import Offloading
from wrbench_plugins.offloading.shares import bounded_shares

from wrbench.api import Context
from wrbench.devkit.testing import assert_conformant
from wrbench.params import ParamError, resolve

DIFFSG_CSV = Path(os.environ.get("WRBENCH_DIFFSG_CO_CSV",
                                 Path(__file__).resolve().parents[2] / "shared/data/diffsg_co_3nodes_ood_head500.csv"))


def _grid_shares(a: np.ndarray, lower: np.ndarray, step: float = 1e-3) -> float:
    """min sum a / F over a grid of (F_1, F_2), F_3 = 1 - F_1 - F_2, with F >= lower: a brute-force optimum."""
    f1, f2 = np.meshgrid(np.arange(step, 1, step), np.arange(step, 1, step), indexing="ij")
    f3 = 1 - f1 - f2
    F = np.stack([f1, f2, f3], -1)
    ok = (F >= lower).all(-1) & (f3 > 0)
    values = np.where(ok, (a / np.where(F > 0, F, 1)).sum(-1), np.inf)
    return float(values.min())


def test_kkt_shares_match_a_fine_grid_search() -> None:
    gen = np.random.default_rng(0)
    for _ in range(20):
        a = gen.uniform(0.05, 1.0, 3)
        lower = gen.uniform(0.0, 0.45, 3) * (gen.uniform(size=3) < 0.7)
        F = bounded_shares(torch.tensor(a), torch.tensor(lower), torch.ones(3, dtype=torch.float64)).numpy()
        assert F.sum() == pytest.approx(1.0, abs=1e-12)
        assert (F >= lower - 1e-12).all()
        exact = float((a / F).sum())
        grid = _grid_shares(a, lower)
        assert exact <= grid + 1e-9  # never worse than the best grid point
        assert exact == pytest.approx(grid, rel=5e-3)


def test_shares_go_only_to_offloading_devices() -> None:
    a = torch.tensor([0.3, 0.2, 0.5], dtype=torch.float64)
    F = bounded_shares(a, torch.tensor([0.0, 0.6, 0.0], dtype=torch.float64), torch.tensor([1.0, 1.0, 0.0]))
    torch.testing.assert_close(F, torch.tensor([0.4, 0.6, 0.0], dtype=torch.float64))  # device 2 held at its bound
    assert bounded_shares(a, torch.zeros(3, dtype=torch.float64), torch.zeros(3)).abs().sum() == 0


def test_cost_and_delay_of_a_hand_computed_case() -> None:
    """Two devices, device 1 offloads with the whole server, device 2 stays local; 'others' interference."""
    k = Constants()
    values = {"s": [2e5, 3e5], "c": [6e8, 9e8], "f_local": [5e8, 6e8], "h": [0.5, 0.8], "alpha": [0.25, 0.6]}
    arrays = {key: torch.tensor(v, dtype=torch.float64) for key, v in values.items()}
    cost, delay = cost_and_delay(arrays, torch.tensor([1.0, 0.0], dtype=torch.float64),
                                 torch.tensor([1.0, 0.0], dtype=torch.float64), k)
    rate = 1e6 * np.log2(1 + 0.3 * 0.25 / 7.96159e-13)  # device 2 is local: no interference
    up, server = 2e5 / rate, 6e8 / 2.5e9
    remote = 0.25 * (up + server) + 0.75 * (0.3 * up + 0.1 * server)
    local = 0.6 * 9e8 / 6e8 + 0.4 * 1e-28 * 6e8**2 * 9e8
    assert float(cost) == pytest.approx(remote + local, rel=1e-12)
    np.testing.assert_allclose(delay.numpy(), [up + server, 1.5], rtol=1e-12)
    # when both offload, each interferes with the other
    _, both = cost_and_delay(arrays, torch.ones(2, dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64), k)
    rate_1 = 1e6 * np.log2(1 + 0.3 * 0.25 / (7.96159e-13 + 0.3 * 0.64))
    assert float(both[0]) == pytest.approx(2e5 / rate_1 + 6e8 / (2.5e9 * 0.5), rel=1e-12)


def test_decision_codes_follow_diffsg_bit_order() -> None:
    decisions = all_decisions(3)
    assert decisions[4].tolist() == [1.0, 0.0, 0.0]  # 4 = only device 1 offloads
    assert decisions[3].tolist() == [0.0, 1.0, 1.0]


def _diffsg_rows() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    if not DIFFSG_CSV.exists():
        pytest.skip(f"DiffSG reference data not found at {DIFFSG_CSV} (set WRBENCH_DIFFSG_CO_CSV)")
    rows = torch.as_tensor(np.loadtxt(DIFFSG_CSV, delimiter=","))
    devices = rows[:, :18].reshape(-1, 3, 6)
    arrays = {"s": devices[..., 0], "c": devices[..., 1], "f_local": devices[..., 2], "h": devices[..., 3],
              "alpha": devices[..., 4]}
    assert torch.allclose(devices[..., 5], 1 - devices[..., 4])  # beta = 1 - alpha in the file
    return arrays, all_decisions(3)[rows[:, 18].long()], rows[:, 19:22]


def test_exact_optimum_is_never_above_a_diffsg_label() -> None:
    arrays, label_d, label_f = _diffsg_rows()
    k = Constants(interference="diffsg")
    label_cost, _ = cost_and_delay(arrays, label_d, label_f, k)
    optimum = solve(arrays, k)
    assert (optimum.cost <= label_cost * (1 + 1e-12)).all()
    # the labels are a 0.02 grid search of the same model: within a fraction of a percent of the exact cost
    assert float((label_cost / optimum.cost).max()) < 1.001
    assert (optimum.offload == label_d).all(-1).double().mean() > 0.95


def _problem(**params) -> tuple[Offloading, object]:
    problem = Offloading(devices=3, **params)
    return problem, problem.make_instances("test", 200, seed=1)


def test_exact_optimum_beats_every_random_decision() -> None:
    """Monte Carlo check of the enumeration: no random decision meeting the delay bounds is cheaper."""
    problem, instances = _problem(delay_bound_s=2.0)
    optimum = problem.optimum(instances)
    x = problem.decision_set(instances).uniform(4000, 6, torch.Generator().manual_seed(0))
    arrays = {key: v.unsqueeze(1) for key, v in instances.arrays.items()}
    cost, delay = cost_and_delay(arrays, x[..., :3], x[..., 3:], problem.constants)
    feasible = (delay <= problem.constants.delay_bound_s).all(-1)
    cheapest = torch.where(feasible, cost, torch.inf).min(-1).values
    assert optimum.feasible_possible[feasible.any(-1)].all()
    assert (optimum.cost[feasible.any(-1)] <= cheapest[feasible.any(-1)] * (1 + 1e-12)).all()
    assert optimum.feasible_possible.any()


def test_exhaustive_scores_one_and_greedy_not_better() -> None:
    problem, instances = _problem(delay_bound_s=2.0)
    params, ctx = resolve(problem.eval_parameters, {}), Context(seed=0)
    optimum = problem.optimum(instances)
    exact = torch.cat([optimum.offload, optimum.shares], -1).unsqueeze(1)
    metrics = problem.evaluate(instances, exact, ctx, params).metrics
    assert metrics["cost_ratio"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["delay_violation_frac"] == 0.0 and metrics["decision_match_frac"] == 1.0
    greedy = problem.evaluate(instances, Greedy().sample(problem, instances, 1, ctx), ctx, params).metrics
    # greedy may only undercut the optimum by breaking delay bounds
    assert greedy["cost_ratio"] >= 1.0 - 1e-12 or greedy["delay_violation_frac"] > 0


def test_raw_samples_are_checked_and_scored_after_rounding() -> None:
    problem, instances = _problem()
    params, ctx = resolve(problem.eval_parameters, {}), Context(seed=0)
    B = len(instances)
    raw = torch.tensor([0.9, 0.2, 0.7, 0.3, 5.0, 0.1], dtype=torch.float64).expand(B, 1, 6)
    rounded = torch.tensor([1.0, 0.0, 1.0, 0.75, 0.0, 0.25], dtype=torch.float64).expand(B, 1, 6)
    m_raw, m_rounded = (problem.evaluate(instances, x, ctx, params).metrics for x in (raw, rounded))
    assert m_raw["invalid_frac"] == 1.0 and m_rounded["invalid_frac"] == 0.0
    assert m_raw["cost_ratio"] == pytest.approx(m_rounded["cost_ratio"], rel=1e-12)
    # an offloaded device with no server share: capped cost ratio, counted as unserved
    starved = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64).expand(B, 1, 6)
    m = problem.evaluate(instances, starved, ctx, params).metrics
    assert m["unserved_frac"] == 1.0 and m["cost_ratio"] == pytest.approx(params.ratio_cap)


def test_graph_view_has_a_node_per_decision_coordinate() -> None:
    problem = Offloading(devices=4)
    instances = problem.make_instances("train", 5, seed=0)
    graph = problem.graph(instances)
    assert graph.num_nodes == 5 * problem.decision_dim(instances)
    assert graph.x.shape == (40, 7) and torch.isfinite(graph.x).all()
    # per graph: 2n choice-share edges, n(n-1) edges among choices and among shares
    assert graph.edge_index.shape[1] == 5 * (2 * 4 + 2 * 12)
    assert problem.flat(instances).shape == (5, 24)


def test_instances_follow_the_truncated_distributions() -> None:
    problem = Offloading(devices=3)
    arrays = problem.make_instances("train", 4000, seed=3).arrays
    assert ((arrays["s"] > 0) & (arrays["s"] < 5e5)).all() and ((arrays["f_local"] > 0) & (arrays["f_local"] < 1e9)).all()
    assert float(arrays["s"].mean()) == pytest.approx(2.5e5, rel=0.01)
    torch.testing.assert_close(arrays["c"], 3000 * arrays["s"])
    again = problem.make_instances("train", 4000, seed=3).arrays
    assert all(torch.equal(arrays[k], again[k]) for k in arrays)


@pytest.mark.parametrize(("params", "message"), [
    ({"task_max_bits": 1e5}, "task_max_bits"),
    ({"delay_bound_s": 0.0}, "delay_bound_s"),
    ({"interference": "all"}, "interference"),
])
def test_bad_parameters_say_which(params, message) -> None:
    with pytest.raises((ParamError, ValueError), match=message):
        Offloading(**params)


def test_loading_arrays_checks_shapes_and_ranges() -> None:
    problem = Offloading(devices=3)
    arrays = problem.export_instances(problem.make_instances("test", 4, seed=0))
    round_trip = problem.load_instances(arrays)
    assert all(np.array_equal(round_trip.arrays[k].numpy(), arrays[k]) for k in arrays)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        problem.load_instances({**arrays, "s": arrays["s"][:, :2]})
    with pytest.raises(ValueError, match="alpha"):
        problem.load_instances({**arrays, "alpha": arrays["alpha"] + 2})


@pytest.mark.parametrize("name", ["all_local", "all_offload", "greedy", "random"])
def test_baselines_are_conformant(name: str) -> None:
    assert_conformant(name, problems=["offloading"])


def test_every_decision_of_a_tiny_case_brute_force() -> None:
    """n = 2 enumerated by hand with a fine share grid, against the exact solver."""
    problem = Offloading(devices=2, delay_bound_s=2.0)
    instances = problem.make_instances("test", 30, seed=5)
    optimum = problem.optimum(instances)
    arrays = instances.arrays
    grid = torch.linspace(1e-4, 1 - 1e-4, 20001, dtype=torch.float64)
    for b in range(30):
        one = {key: v[b] for key, v in arrays.items()}
        best_feasible, best_any = np.inf, np.inf
        for d in itertools.product([0.0, 1.0], repeat=2):
            D = torch.tensor(d, dtype=torch.float64).expand(len(grid), 2)
            F = {0: torch.zeros(len(grid), 2), 1: torch.stack([torch.ones_like(grid), torch.zeros_like(grid)], -1),
                 2: torch.stack([torch.zeros_like(grid), torch.ones_like(grid)], -1),
                 3: torch.stack([grid, 1 - grid], -1)}[int(d[0]) * 1 + int(d[1]) * 2].double()
            cost, delay = cost_and_delay(one, D, F, problem.constants)
            ok = (delay <= 2.0).all(-1)
            best_any = min(best_any, float(cost.min()))
            if ok.any():
                best_feasible = min(best_feasible, float(cost[ok].min()))
        expected = best_feasible if np.isfinite(best_feasible) else best_any
        assert bool(optimum.feasible_possible[b]) == bool(np.isfinite(best_feasible))
        assert float(optimum.cost[b]) <= expected * (1 + 1e-12)
        assert float(optimum.cost[b]) == pytest.approx(expected, rel=1e-4)

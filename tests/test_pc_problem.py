"""The power_control problem's contract: views, round trips, decision set, baselines and common random numbers."""
from __future__ import annotations

import numpy as np
import torch
from wrbench_plugins.power_control.baselines import WMMSE, FullPower, RandomPower
from wrbench_plugins.power_control.problem import PowerControl

from wrbench.api import Context
from wrbench.core.plugins import load_plugins

EVAL = {"T": 60, "T0": 5}


def test_plugin_registers_every_component() -> None:
    registry = load_plugins(["wrbench_plugins.power_control"], strict=True, entry_points=False)
    assert registry.names("problem") == ["power_control"]
    assert registry.names("expert") == ["exhaustive", "primal_dual", "sa_pd"]
    assert registry.names("solver") == ["full_power", "random", "sa_pd", "wmmse"]


def test_export_load_round_trip() -> None:
    problem = PowerControl(n_pairs=5)
    inst = problem.make_instances("test", 3, seed=1)
    arrays = problem.export_instances(inst)
    assert set(arrays) == {"H", "tx", "rx", "f_min"} and all(isinstance(a, np.ndarray) for a in arrays.values())
    again = problem.load_instances(arrays)
    assert again.fingerprint() == inst.fingerprint() and again.attrs == inst.attrs


def test_graph_and_flat_views() -> None:
    problem = PowerControl(n_pairs=12, k_neighbors=4, f_min=0.7)
    inst = problem.make_instances("test", 3, seed=0)
    graph = problem.graph(inst)
    assert graph.num_graphs == 3 and graph.x.shape == (36, 3) and (graph.x[:, 2] == 0.7).all()
    assert graph.edge_index.shape == (2, 3 * 12 * 5) and graph.edge_weight.shape == (180,)
    assert graph.edge_weight.max() <= 1.0 and graph.edge_weight.min() >= 0.0
    first = graph.get_example(0)
    into_0 = first.edge_index[0, first.edge_index[1] == 0]
    strongest = inst.arrays["H"][0, 1:, 0].topk(4).indices + 1
    assert set(into_0.tolist()) == {0, *strongest.tolist()}
    flat = problem.flat(inst)
    assert flat.shape == (3, 145) and (flat[:, -1] == 0.7).all()
    dense = PowerControl(n_pairs=12, k_neighbors=11).graph(inst)
    assert dense.edge_index.shape[1] == 3 * 144


def test_baselines_stay_in_the_box() -> None:
    problem = PowerControl(n_pairs=8)
    inst = problem.make_instances("test", 2, seed=0)
    box = problem.decision_set(inst)
    for solver in (FullPower(), WMMSE(), RandomPower()):
        x = solver.sample(problem, inst, 5, Context(seed=0))
        assert x.shape == (2, 5, 8) and box.contains(x).all()
    assert problem.decision_dim(inst) == 8


def test_common_random_numbers() -> None:
    problem = PowerControl(n_pairs=6, f_min=1.0)
    inst = problem.make_instances("test", 3, seed=0)
    random = RandomPower()
    cells = [problem.evaluate(inst, random.sample(problem, inst, 12, Context(seed=4)), Context(seed=7), EVAL) for _ in range(2)]
    assert cells[0].metrics == cells[1].metrics
    other = problem.evaluate(inst, random.sample(problem, inst, 12, Context(seed=4)), Context(seed=8), EVAL)
    assert other.metrics != cells[0].metrics
    # The fading a policy sees does not depend on how many samples it brings.
    one, many = (FullPower().sample(problem, inst, s, Context(seed=0)) for s in (1, 12))
    rates = [problem.evaluate(inst, x, Context(seed=7), EVAL).distributions["link_rate"] for x in (one, many)]
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)


def test_evaluation_metrics_and_reference_ratio() -> None:
    problem = PowerControl(n_pairs=6, f_min=1.0)
    inst = problem.make_instances("test", 3, seed=0)
    ctx = Context(seed=2)
    full = FullPower().sample(problem, inst, 4, ctx)
    reference = problem.evaluate(inst, full, ctx, EVAL)
    assert reference.per_instance["mean_rate"].shape == (3,) and reference.distributions["link_rate"].shape == (3, 6)
    assert reference.markers == {"link_rate": {"f_min": 1.0}}
    same = problem.evaluate(inst, full, ctx, EVAL, reference)
    assert same.metrics["exceed_ratio"] == 1.0 and (same.per_instance["exceed_ratio"] == 1.0).all()
    assert same.metrics["single_sample_feasible_frac"] == same.metrics["feasible_frac"]
    score = problem.score(inst, full, ctx)
    assert score.shape == (3, 4) and torch.allclose(score[:, 0], score[:, 1])


def test_training_mixes_qos_levels_and_densities_per_network() -> None:
    problem = PowerControl(n_pairs=6, f_min=0.6, f_min_train=[0.4, 0.8], density=8.0, density_train=[4.0, 16.0])
    train = problem.make_instances("train", 40, seed=0)
    assert set(train.arrays["f_min"].tolist()) == {0.4, 0.8}
    assert (problem.make_instances("test", 5, seed=0).arrays["f_min"] == 0.6).all()  # other splits: f_min
    # each network's transmitters lie in the square of its own density: side 1000 sqrt(N / density) m
    spread = train.arrays["tx"].amax(dim=(1, 2))
    assert spread.max() > 1000 * np.sqrt(6 / 8.0) and spread.max() <= 1000 * np.sqrt(6 / 4.0)
    assert torch.allclose(problem.graph(train).x[:, 2].unique(), torch.tensor([0.4, 0.8]))


def test_feasibility_is_judged_against_each_networks_own_f_min() -> None:
    problem = PowerControl(n_pairs=5)
    inst = problem.make_instances("test", 2, seed=3)
    x = FullPower().sample(problem, inst, 1, Context(seed=0))
    link = problem.evaluate(inst, x, Context(seed=1), EVAL).distributions["link_rate"].reshape(2, 5)
    levels = np.array([np.median(link[0]), np.median(link[1]) + 10.0])  # half of network 0 passes, none of network 1
    mixed = problem.load_instances({**problem.export_instances(inst), "f_min": levels})
    metrics = problem.evaluate(mixed, x, Context(seed=1), EVAL).metrics
    expected = (link >= levels[:, None]).mean()
    assert metrics["feasible_frac"] == expected == 0.3
    assert np.isclose(metrics["violation"], (np.clip(levels[:, None] - link, 0, None) / levels[:, None]).mean())


def test_mixture_parameters_are_validated() -> None:
    for bad, message in (({"f_min_train": [0.4, "high"]}, "f_min_train: item 1: expected float"),
                         ({"density_train": [8.0, -1.0]}, "density_train: item 1: must be >= 1e-06"),
                         ({"f_min_train": []}, "f_min_train: expected a non-empty list")):
        try:
            PowerControl(**bad)
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")
    try:
        PowerControl(n_pairs=4, positions="fixed", density_train=[6.6, 8.2])
    except ValueError as exc:
        assert "density_train" in str(exc) and "positions: fresh" in str(exc)
    else:
        raise AssertionError("a fixed layout accepted mixed densities")

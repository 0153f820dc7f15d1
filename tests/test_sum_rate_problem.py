"""The sum_rate problem: instances, views, export, and its evaluation protocol (raw feasibility, projection, water-filling ratios)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from wrbench_plugins.sum_rate.problem import SumRate
from wrbench_plugins.sum_rate.waterfill import water_fill

from wrbench.api import Context
from wrbench.core.plugins import load_plugins
from wrbench.params import ParamError, resolve

CTX = Context(seed=0)


@pytest.fixture
def problem() -> SumRate:
    return SumRate(channels=4, budget=10.0)


def _evaluate(problem: SumRate, instances, samples: torch.Tensor):
    return problem.evaluate(instances, samples, CTX, resolve(problem.eval_parameters, {}))


def _optimal_samples(instances, n: int) -> torch.Tensor:
    return water_fill(instances.arrays["g"], instances.arrays["P"]).unsqueeze(1).repeat(1, n, 1)


def test_plugin_registers_its_components() -> None:
    registry = load_plugins(["wrbench_plugins.sum_rate"], entry_points=False, strict=True)
    assert registry.names("problem") == ["sum_rate"]
    assert registry.names("expert") == ["exhaustive", "water_filling"]
    assert registry.names("solver") == ["random_budget", "uniform"]


def test_instances_follow_params_and_seed(problem: SumRate) -> None:
    a = problem.make_instances("test", 50, seed=3)
    assert a.arrays["g"].shape == (50, 4) and a.arrays["P"].shape == (50,)
    assert ((a.arrays["g"] >= 0.5) & (a.arrays["g"] <= 2.5)).all() and (a.arrays["P"] == 10.0).all()
    assert a.fingerprint() == problem.make_instances("test", 50, seed=3).fingerprint()
    assert a.fingerprint() != problem.make_instances("train", 50, seed=3).fingerprint()
    assert problem.decision_dim(a) == 4


def test_rejects_inconsistent_params() -> None:
    with pytest.raises(ParamError, match="gain_low"):
        SumRate(gain_low=3.0, gain_high=2.0)
    with pytest.raises(ParamError, match="budget"):
        SumRate(budget=0.0)


def test_flat_view_is_relative_noise_floors(problem: SumRate) -> None:
    instances = problem.make_instances("test", 6, seed=0)
    flat = problem.flat(instances)
    floors = 4 / (instances.arrays["g"] * instances.arrays["P"].unsqueeze(-1))
    assert flat.shape == (6, 4)
    torch.testing.assert_close(flat, floors - floors.mean(-1, keepdim=True))


def test_flat_view_keeps_what_decides_the_optimal_shares(problem: SumRate) -> None:
    """Equal views give equal water-filling shares: rescaled gains against the budget, or every floor raised alike."""
    g = problem.make_instances("test", 6, seed=0).arrays["g"]
    P = torch.full((6,), 10.0, dtype=torch.float64)
    floors = 1 / (g * P.unsqueeze(-1))
    variants = [(g, P), (3 * g, P / 3), (1 / (floors + 0.05) / (2 * P.unsqueeze(-1)), 2 * P)]
    views = [problem.flat(problem.load_instances({"g": gv.numpy(), "P": Pv.numpy()})) for gv, Pv in variants]
    shares = [water_fill(gv, Pv) / Pv.unsqueeze(-1) for gv, Pv in variants]
    for view, share in zip(views[1:], shares[1:]):
        torch.testing.assert_close(view, views[0])
        torch.testing.assert_close(share, shares[0])


def test_flat_view_puts_diffsg_ood_inside_the_training_range() -> None:
    train = SumRate(channels=3, budget=10.0)
    ood = SumRate(channels=3, gain_high=3.0, budget=20.0)
    seen = train.flat(train.make_instances("train", 2000, seed=0))
    new = ood.flat(ood.make_instances("ood", 500, seed=0))
    assert (new >= seen.min(0).values).all() and (new <= seen.max(0).values).all()


def test_export_load_round_trip(problem: SumRate, tmp_path) -> None:
    instances = problem.make_instances("test", 7, seed=1)
    path = tmp_path / "instances.npz"
    np.savez(path, **problem.export_instances(instances))
    with np.load(path) as arrays:
        assert set(arrays.files) == set(problem.export_arrays)
        loaded = problem.load_instances(dict(arrays))
    assert loaded.fingerprint() == instances.fingerprint()
    with pytest.raises(ValueError, match="shape"):
        problem.load_instances({"g": np.ones((7, 3)), "P": np.ones(7)})


def test_water_filling_scores_exactly_one(problem: SumRate) -> None:
    instances = problem.make_instances("test", 30, seed=2)
    metrics = _evaluate(problem, instances, _optimal_samples(instances, 3)).metrics
    for key in ("exceed_ratio", "exceed_ratio_p5", "exceed_ratio_min", "exceed_ratio_best"):
        assert metrics[key] == pytest.approx(1.0, abs=1e-12)
    assert metrics["infeasible_frac"] == 0.0 and metrics["exceed_ratio_std"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("broken", ["negative", "over_budget"])
def test_infeasible_samples_are_flagged_and_projected(problem: SumRate, broken: str) -> None:
    instances = problem.make_instances("test", 10, seed=4)
    samples = _optimal_samples(instances, 4)
    if broken == "negative":
        samples[:, 0, 0] = -0.5
    else:
        samples[:, 0] *= 1.5  # 50 % over budget: projection scales it back to the optimum
    assert problem.decision_set(instances).enforce == "score"  # the harness leaves them to the problem
    evaluation = _evaluate(problem, instances, samples)
    assert evaluation.metrics["infeasible_frac"] == pytest.approx(0.25)
    ratios = evaluation.distributions["exceed_ratio"].reshape(10, 4)
    assert (ratios <= 1 + 1e-12).all()  # scored after projection, never above the optimum
    if broken == "over_budget":
        np.testing.assert_allclose(ratios, 1.0, rtol=1e-12)


def test_tolerance_accepts_rounding(problem: SumRate) -> None:
    instances = problem.make_instances("test", 10, seed=5)
    samples = _optimal_samples(instances, 2).float()
    assert _evaluate(problem, instances, samples).metrics["infeasible_frac"] == 0.0


def test_metric_definitions(problem: SumRate) -> None:
    instances = problem.make_instances("test", 40, seed=6)
    uniform = (instances.arrays["P"] / 4)[:, None, None].expand(-1, 2, 4)
    samples = torch.cat([uniform, _optimal_samples(instances, 1)], dim=1)
    evaluation = _evaluate(problem, instances, samples)
    ratios = evaluation.distributions["exceed_ratio"].reshape(40, 3)
    per_instance = ratios.mean(-1)
    np.testing.assert_allclose(evaluation.per_instance["exceed_ratio"], per_instance)
    assert evaluation.metrics["exceed_ratio"] == pytest.approx(per_instance.mean())
    assert evaluation.metrics["exceed_ratio_min"] == pytest.approx(per_instance.min())
    assert evaluation.metrics["exceed_ratio_p5"] == pytest.approx(np.quantile(per_instance, 0.05))
    assert evaluation.metrics["exceed_ratio_std"] == pytest.approx(per_instance.std())
    assert evaluation.metrics["exceed_ratio_best"] == pytest.approx(1.0)
    assert evaluation.metrics["sum_rate"] == pytest.approx(evaluation.per_instance["sum_rate"].mean())
    assert 0.99 < evaluation.metrics["exceed_ratio"] < 1.0

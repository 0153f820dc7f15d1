"""Latency benchmarks: the significance rule, run storage, discovery of third-party solvers, and `wrbench bench`.

Nothing here runs the real benchmarks: the end-to-end runs time a tiny solver
at N=3 with two samples and no expert.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from wrbench.core.clock import clock, measure
from wrbench.core.plugins import load_plugins
from wrbench.latency.calibration import (CALIBRATION_KERNEL, MAX_CALIBRATION_SECONDS, CalibrationKernel,
                                         calls_per_round, repeated, rounds_for)
from wrbench.latency.cases import Case, discover
from wrbench.latency.compare import busy_warning, compare_runs, comparison_rows
from wrbench.latency.prepare import Bench
from wrbench.latency.pytest_run import benchmarks_dir, from_pytest_json
from wrbench.latency.stats import calibrated_rounds, compare_rounds, min_p_value
from wrbench.latency.storage import find_baseline, fingerprint_id, load_run, make_run, save_run

PLUGINS = ("wrbench_plugins.power_control", "bench_toy_plugin")
PC = "power_control"  # the bundled problem these tests time third-party solvers on
TINY = f"{PC}/bench_tiny-N3-B1"


def _rounds(seed: int, median: float, sigma: float, n: int) -> np.ndarray:
    """n lognormal rounds with exactly the given median."""
    x = np.random.default_rng(seed).lognormal(0.0, sigma, n)
    return x * (median / np.median(x))


# ------------------------------------------------------------ significance rule


def test_thirty_percent_slowdown_with_low_noise_fails():
    base, cur = _rounds(1, 1.0, 0.02, 15), _rounds(2, 1.3, 0.02, 15)
    c = compare_rounds("x", base, cur, fail_over_pct=10)
    assert c.verdict == "regressed" and c.fails
    assert c.p_value < 0.01 and c.change_pct == pytest.approx(30.0)


def test_thirty_percent_inside_heavy_noise_does_not_fail():
    base, cur = _rounds(3, 1.0, 1.0, 15), _rounds(4, 1.3, 1.0, 15)
    c = compare_rounds("x", base, cur, fail_over_pct=10)
    assert c.change_pct == pytest.approx(30.0)
    assert c.p_value >= 0.01 and c.verdict == "unchanged" and not c.fails


@pytest.mark.parametrize("seed", range(10))
def test_heavy_noise_is_not_a_regression_across_seeds(seed):
    c = compare_rounds("x", _rounds(10 + seed, 1.0, 1.0, 10), _rounds(50 + seed, 1.3, 1.0, 10), fail_over_pct=10)
    assert not c.fails


def test_significant_but_under_threshold_is_slower_not_failing():
    c = compare_rounds("x", _rounds(5, 1.0, 0.01, 15), _rounds(6, 1.05, 0.01, 15), fail_over_pct=10)
    assert c.verdict == "slower" and not c.fails


def test_faster_new_missing_and_too_few_rounds():
    assert compare_rounds("x", _rounds(7, 1.0, 0.01, 10), _rounds(8, 0.5, 0.01, 10)).verdict == "faster"
    assert compare_rounds("x", None, [1.0]).verdict == "new"
    assert compare_rounds("x", [1.0], None).verdict == "missing"
    assert min_p_value(3, 3) == pytest.approx(0.05)
    few = compare_rounds("x", [1.0, 1.0, 1.0], [2.0, 2.0, 2.0], fail_over_pct=10)
    assert few.verdict == "too few rounds" and not few.fails


def _run(rounds: dict[str, list[float]], fp: dict | None = None, calibration: dict[str, list[float]] | None = None,
         kernel: str = CALIBRATION_KERNEL) -> dict:
    fp = fp or {"cpu": "test cpu", "cpu_count": 2, "torch": "2", "device": "cpu"}
    benches = {k: {"role": "solver", "component": k.split("-")[0], "n": 20, "batch": 1, "samples": 50, "rounds": list(v)}
               for k, v in rounds.items()}
    for k, seconds in (calibration or {}).items():
        benches[k].update(calibration=list(seconds), calibration_kernel=kernel)
    return make_run(benches, "cpu", {"samples": 50}, fp=fp)


def test_different_fingerprints_warn_and_do_not_fail():
    cal = {"a-N20-B1": list(_rounds(3, 0.01, 0.02, 15))}
    base = _run({"a-N20-B1": list(_rounds(1, 1.0, 0.02, 15))}, calibration=cal)
    other = {"cpu": "other cpu", "cpu_count": 64, "torch": "2", "device": "cpu"}
    cur = _run({"a-N20-B1": list(_rounds(2, 1.3, 0.02, 15))}, fp=other, calibration=cal)
    comparisons, warnings = compare_runs(base, cur, fail_over_pct=10)
    assert comparisons[0].verdict == "regressed" and not comparisons[0].fails
    assert warnings and "different machine fingerprint" in warnings[0] and "cpu_count: 2 -> 64" in warnings[0]
    same, none = compare_runs(base, _run({"a-N20-B1": list(_rounds(2, 1.3, 0.02, 15))}, calibration=cal),
                                 fail_over_pct=10)
    assert same[0].fails and not none


# ------------------------------------------------------------------ calibration


def _loaded(seed: int, solver_median: float, load: float, n: int = 15, load_sigma: float = 0.1) -> tuple[list, list]:
    """(rounds, calibration) of a run whose machine is `load` times slower, the load varying from round to round
    and hitting the solver round and its paired calibration alike."""
    factor = _rounds(seed, load, load_sigma, n)
    return list(_rounds(seed + 1, solver_median, 0.02, n) * factor), list(_rounds(seed + 2, 0.01, 0.02, n) * factor)


def test_load_change_slowing_rounds_and_calibration_alike_is_not_a_regression():
    (base, base_cal), (cur, cur_cal) = _loaded(1, 1.0, 1.0), _loaded(11, 1.0, 1.3)
    c = compare_rounds("x", base, cur, baseline_calibration=base_cal, current_calibration=cur_cal, fail_over_pct=10)
    assert c.raw.verdict == "regressed" and c.change_pct == pytest.approx(30.0, abs=3)
    assert c.speed_factor == pytest.approx(1.3, abs=0.05)
    assert c.verdict == "unchanged" and not c.fails and abs(c.calibrated.change_pct) < 3
    comparisons, warnings = compare_runs(_run({"a-N20-B1": base}, calibration={"a-N20-B1": base_cal}),
                                            _run({"a-N20-B1": cur}, calibration={"a-N20-B1": cur_cal}), fail_over_pct=10)
    assert not comparisons[0].fails and not warnings
    row = comparison_rows(comparisons)[0]
    assert row[3].startswith("+") and row[4:6] == ["regressed", f"{c.speed_factor:.3f}"] and row[-1] == "unchanged"


def test_solver_slowdown_under_unchanged_calibration_fails():
    (base, base_cal), (cur, cur_cal) = _loaded(1, 1.0, 1.0), _loaded(11, 1.3, 1.0)
    comparisons, _ = compare_runs(_run({"a-N20-B1": base}, calibration={"a-N20-B1": base_cal}),
                                     _run({"a-N20-B1": cur}, calibration={"a-N20-B1": cur_cal}), fail_over_pct=10)
    c = comparisons[0]
    assert c.speed_factor == pytest.approx(1.0, abs=0.05) and c.calibrated.change_pct == pytest.approx(30.0, abs=3)
    assert c.verdict == "regressed" and c.fails and c.p_value < 0.01
    assert comparison_rows(comparisons)[0][-1] == "regressed (FAIL)"


@pytest.mark.parametrize("seed", range(10))
def test_heavy_noise_is_not_a_regression_when_calibrated(seed):
    calibration = list(_rounds(90 + seed, 0.01, 0.02, 10))
    c = compare_rounds("x", _rounds(10 + seed, 1.0, 1.0, 10), _rounds(50 + seed, 1.3, 1.0, 10),
                       baseline_calibration=calibration, current_calibration=calibration, fail_over_pct=10)
    assert c.calibrated is not None and c.verdict == "unchanged" and not c.fails


def test_without_calibration_in_either_run_the_raw_rule_decides_and_says_so():
    (base, base_cal), (cur, cur_cal) = _loaded(1, 1.0, 1.0), _loaded(11, 1.0, 1.3)
    calibrated = _run({"a-N20-B1": cur}, calibration={"a-N20-B1": cur_cal})
    other_kernel = _run({"a-N20-B1": base}, calibration={"a-N20-B1": base_cal}, kernel="old")
    for baseline in (_run({"a-N20-B1": base}), other_kernel):
        comparisons, warnings = compare_runs(baseline, calibrated, fail_over_pct=10)
        c = comparisons[0]
        assert c.calibrated is None and c.speed_factor is None and c.verdict == "regressed" and c.fails
        assert len(warnings) == 1 and "a-N20-B1 compared with the raw rule" in warnings[0]
        assert comparison_rows(comparisons)[0][5:7] == ["-", "uncalibrated"]
    assert "the baseline run has no calibration rounds" in compare_runs(_run({"a-N20-B1": base}), calibrated)[1][0]


def test_calibrated_rounds_pair_up_or_use_the_median():
    assert list(calibrated_rounds([2.0, 6.0], [1.0, 3.0])) == [2.0, 2.0]
    assert list(calibrated_rounds([2.0, 6.0, 4.0], [1.0, 2.0])) == [2.0 / 1.5, 6.0 / 1.5, 4.0 / 1.5]


def test_calibration_kernel_is_fixed_lasts_about_a_round_and_pairs_with_the_timed_rounds(toy_only):
    kernel = CalibrationKernel()
    assert torch.equal(kernel.run(3), CalibrationKernel().run(3)) and kernel.step_seconds > 0
    assert kernel.steps_for(0.0) == 1 and kernel.steps_for(1.0) == kernel.steps_for(MAX_CALIBRATION_SECONDS)
    assert kernel.steps_for(4 * kernel.step_seconds) == 4
    paired = Bench(load_plugins(())).calibration("cpu", 0.0)
    paired()  # before the warm-up round: as long as the first call took (here: as short as it gets)
    time.sleep(2 * MAX_CALIBRATION_SECONDS)  # the warm-up round, longer than the longest calibration
    paired()  # before the timed round: as long as the warm-up round, at most MAX_CALIBRATION_SECONDS
    assert paired.steps == [1, paired.kernel.steps_for(1.0)] and all(s > 0 for s in paired.seconds)
    assert paired.info(1) == {"calibration": paired.seconds[1:], "calibration_steps": paired.steps[1:],
                              "calibration_kernel": CALIBRATION_KERNEL}


# ---------------------------------------------------------------------- storage


def test_storage_round_trip(tmp_path: Path):
    run = _run({"a-N20-B1": [0.1, 0.2, 0.3], "b-N20-B8": [1.0, 2.0]}, calibration={"a-N20-B1": [0.01, 0.02, 0.03]})
    first = save_run(run, tmp_path, "A")
    assert first == tmp_path / run["fingerprint_id"] / "A.json"
    loaded = load_run(first)
    assert loaded["benchmarks"] == run["benchmarks"] and loaded["fingerprint"] == run["fingerprint"]
    assert loaded["name"] == "A" and loaded["benchmarks"]["a-N20-B1"]["rounds"] == [0.1, 0.2, 0.3]
    assert loaded["benchmarks"]["a-N20-B1"]["calibration"] == [0.01, 0.02, 0.03]
    assert loaded["benchmarks"]["a-N20-B1"]["calibration_kernel"] == CALIBRATION_KERNEL
    second = save_run(run, tmp_path, "B")
    assert find_baseline(tmp_path, run["fingerprint_id"], None) == (second, None)
    assert find_baseline(tmp_path, run["fingerprint_id"], "A") == (first, None)
    assert find_baseline(tmp_path, run["fingerprint_id"], str(first)) == (first, None)
    path, warning = find_baseline(tmp_path, "not-this-machine", None)
    assert path == second and "another" in warning
    assert find_baseline(tmp_path, run["fingerprint_id"], "nope")[0] is None
    assert find_baseline(tmp_path / "empty", "x", None)[0] is None


def test_fingerprint_id_is_stable_and_sensitive():
    fp = {"cpu": "c", "cpu_count": 2, "torch": "2", "device": "cpu"}
    assert fingerprint_id(fp) == fingerprint_id(dict(reversed(list(fp.items()))))
    assert fingerprint_id(fp) != fingerprint_id({**fp, "device": "cuda:0 (H100)"})


def test_from_pytest_json_keeps_raw_rounds_and_calibration():
    info = {"case": "a-N20-B1", "n": 20, "calibration": [0.01, 0.03, 0.02], "calibration_kernel": "k"}
    data = {"benchmarks": [{"name": "test_latency[a-N20-B1]", "extra_info": info,
                            "stats": {"data": [0.3, 0.1, 0.2], "median": 0.2}}]}
    entry = from_pytest_json(data)["a-N20-B1"]
    assert entry["rounds"] == [0.3, 0.1, 0.2] and entry["median"] == pytest.approx(0.2) and entry["n"] == 20
    assert entry["calibration"] == [0.01, 0.03, 0.02] and entry["calibration_kernel"] == "k"


# ------------------------------------------------------------- timing, rounds


def test_measure_returns_raw_rounds_after_warmup():
    calls = []
    result, seconds = measure(lambda: calls.append(1) or len(calls), warmup=2, rounds=3)
    assert len(calls) == 5 and result == 5 and len(seconds) == 3 and all(s >= 0 for s in seconds)
    assert clock() <= clock()


def test_rounds_for():
    assert rounds_for(10.0, 2.0, 5, 50) == 5
    assert rounds_for(0.001, 2.0, 5, 50) == 50
    assert rounds_for(0.1, 2.0, 5, 50) == 20


# -------------------------------------------------------------------- discovery


def test_third_party_solver_is_discovered_and_broken_one_reported(toy_only):
    registry = load_plugins(PLUGINS)
    found = discover(registry, sizes=[3], batches=[1, 2], samples=2)
    ids = [c.id for c in found.cases]
    assert TINY in ids and f"{PC}/bench_tiny-N3-B2" in ids and f"{PC}/primal_dual@rounds=5-N3-B1" in ids
    assert {"full_power", "wmmse", "random"} <= set(found.names())
    broken = [c for c in found.cases if c.name == "bench_broken"]
    assert broken and all("half-written solver" in c.error for c in broken)
    assert any(name == "exhaustive" for name, _ in found.skipped) is False  # experts are not solvers unless asked for
    only = discover(registry, problem=PC, solvers=["bench_tiny", "nope"], sizes=[3], batches=[1],
                    include_expert=False)
    assert [c.id for c in only.cases] == [TINY] and only.skipped[0][0] == "nope"


def test_prepare_fits_a_learned_solver_minimally(toy_only):
    bench = Bench(load_plugins(PLUGINS))
    case = Case("solver", "bench_fitme", PC, "n_pairs", 3, 2, 4)
    prepared = bench.prepare(case)
    assert tuple(prepared.call().shape) == (2, 4, 3)
    assert prepared.extra_info["weights"].startswith("random weights (fit with train_steps=0")
    assert bench._solvers[(PC, "bench_fitme", None, 3, "cpu")][0].steps_done == 0
    tiny = bench.prepare(Case("solver", "bench_tiny", PC, "n_pairs", 3, 1, 2))
    assert tiny.extra_info["weights"] == "no learned weights" and tiny.extra_info["case"] == TINY
    with pytest.raises(RuntimeError, match="half-written"):
        bench.prepare(discover(bench.registry, solvers=["bench_broken"], sizes=[3], batches=[1],
                                  include_expert=False).cases[0])


def test_cli_list_shows_third_party_solver(wrbench):
    result = wrbench("bench", "--list", "--size", "3", "--batch", "1", plugins=PLUGINS)
    assert result.exit_code == 0, result.output
    assert TINY in result.output and f"{PC}/primal_dual@rounds=5-N3-B1" in result.output
    assert "construction failed" in result.output  # bench_broken, listed with its error


def test_cli_rejects_unknown_solver(wrbench):
    result = wrbench("bench", "--solver", "bench_tinny", plugins=PLUGINS)
    assert result.exit_code == 2 and "did you mean 'bench_tiny'" in result.output


# ------------------------------------------------------------------- end to end


def test_cli_save_compare_and_fail_over(wrbench, monkeypatch, tmp_path):
    """Two tiny runs through pytest-benchmark: same speed passes, a 20x slowdown fails, a foreign fingerprint warns."""
    args = ("bench", "--problem", PC, "--solver", "bench_tiny", "--no-expert", "--size", "3", "--batch", "1", "--samples", "2",
            "--max-time", "0.01", "--min-rounds", "8", "--storage", str(tmp_path / "store"))
    monkeypatch.setenv("BENCH_TINY_DELAY", "0.001")
    threads_before = torch.get_num_threads()
    first = wrbench(*args, "--save", "A", "--threads", "1", plugins=PLUGINS)
    assert first.exit_code == 0, first.output
    [saved] = list((tmp_path / "store").glob("*/A.json"))
    run = json.loads(saved.read_text())
    entry = run["benchmarks"][TINY]
    assert len(entry["rounds"]) >= 8 and entry["weights"] == "no learned weights" and entry["n"] == 3
    assert len(entry["calibration"]) == len(entry["rounds"]) and all(s > 0 for s in entry["calibration"])
    assert entry["calibration_kernel"] == CALIBRATION_KERNEL
    assert entry["torch_threads"] == 1 and run["settings"]["threads"] == 1 and torch.get_num_threads() == threads_before
    assert run["fingerprint"]["cpu_count"] >= 1 and run["fingerprint_id"] == saved.parent.name

    same = wrbench(*args, "--compare", "--fail-over", "1000", plugins=PLUGINS)
    assert same.exit_code == 0, same.output
    assert "compared with 'A'" in same.output and TINY in same.output

    monkeypatch.setenv("BENCH_TINY_DELAY", "0.02")
    slow = wrbench(*args, "--compare", "A", "--fail-over", "100", plugins=PLUGINS)
    assert slow.exit_code == 1, slow.output
    assert "regressed (FAIL)" in slow.output and "raw rule" not in slow.output

    foreign = dict(run, fingerprint={**run["fingerprint"], "cpu": "some other cpu"}, fingerprint_id="0000other")
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    warned = wrbench(*args, "--compare", str(tmp_path / "foreign.json"), "--fail-over", "100", plugins=PLUGINS)
    assert warned.exit_code == 0, warned.output
    assert "different machine fingerprint" in warned.output and "regressed" in warned.output


def test_busy_machine_warns_on_compare():
    base = _run({"a-N20-B1": [1.0] * 6})
    busy = dict(_run({"a-N20-B1": [1.0] * 6}), load_average={"start": [5.0, 4.0, 3.0], "end": [1.0, 1.0, 1.0]})
    assert busy_warning(base, "baseline") is None
    assert "load average up to 5 on 2 cores" in busy_warning(busy, "current")
    _, warnings = compare_runs(base, busy)
    assert any("busy" in w for w in warnings)


def test_benchmarks_stay_out_of_the_normal_test_run():
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert config["testpaths"] == ["tests"]
    assert (root / "benchmarks" / "test_latency.py").is_file() and benchmarks_dir() is not None


def test_different_thread_counts_warn():
    base, cur = _run({"a-N20-B1": [1.0] * 6}), _run({"a-N20-B1": [1.0] * 6})
    base["benchmarks"]["a-N20-B1"]["torch_threads"], cur["benchmarks"]["a-N20-B1"]["torch_threads"] = 2, 1
    _, warnings = compare_runs(base, cur)
    assert any("thread counts (baseline -> current: 2 -> 1)" in w for w in warnings)


def test_fast_calls_are_repeated_to_fill_a_round_and_saved_per_call():
    assert calls_per_round(0.5) == 1 and calls_per_round(0.004) == 3
    assert calls_per_round(40e-6) == 250 and calls_per_round(0.0) == 1
    counter = []
    assert repeated(lambda: counter.append(1) or len(counter), 4)() == 4 and len(counter) == 4
    data = {"benchmarks": [{"name": "t", "extra_info": {"case": "fast", "calls_per_round": 250},
                            "stats": {"data": [0.010, 0.012]}}]}
    entry = from_pytest_json(data)["fast"]
    assert entry["rounds"] == pytest.approx([40e-6, 48e-6]) and entry["median"] == pytest.approx(44e-6)

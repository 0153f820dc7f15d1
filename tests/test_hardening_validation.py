"""Issue 21, validation and plugin loading: every bad input found by trying to break the harness is a
`FILE:LINE: key.path: message` line and exit 2 before any work, every broken plugin a load failure."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_suite_validation import GOOD

from wrbench.core.plugins import PluginError, load_plugins
from wrbench.run.suite import SuiteError, read_suite

SUM_RATE = """\
name: sr
problem:
  name: sum_rate
  params: {channels: 3, gain_low: 0.5, gain_high: 2.5, budget: 10.0}
  instances: {train: 8, test: 4}
expert: {name: water_filling}
solvers:
  - {name: uniform}
"""

POWER_CONTROL = """\
name: pc
problem:
  name: power_control
  params: {n_pairs: 3}
  instances: {train: 8, test: pc.npz}
expert: {name: primal_dual}
solvers:
  - {name: full_power}
"""


@pytest.fixture
def toy(toy_only):
    return load_plugins(["toy_plugin"])


@pytest.fixture(scope="module")
def bundled():
    return load_plugins(["wrbench_plugins.sum_rate", "wrbench_plugins.power_control"], strict=True, entry_points=False)


def errors_for(tmp_path: Path, registry, text: str | bytes, overrides=(), **kwargs) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SuiteError) as info:
        read_suite(path, registry, overrides, **kwargs)
    return info.value.errors


def has(errors: list[str], tmp_path: Path, line: int | str, text: str) -> bool:
    return any(e.startswith(f"{tmp_path / 's.yaml'}:{line}: ") and text in e for e in errors)


# ----------------------------------------------------------- 6, 16, 17: labels


def test_6_a_solver_may_not_take_the_expert_jobs_label(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.replace("label: half", "label: expert"))
    assert has(errors, tmp_path, 11, "solvers[1].label: 'expert' is reserved for the expert's own job"), errors


@pytest.mark.parametrize("label, why", [("'x' * 300", "1 to 64 printable characters"), ('"a\\tb"', "1 to 64 printable"),
                                        ('""', "1 to 64 printable"), ("[1]", "expected a string")])
def test_16_17_the_experts_label_is_validated(tmp_path, toy, label, why):
    text = GOOD.replace("expert: {name: toy_expert, samples: 5}", f"expert: {{name: toy_expert, samples: 5, label: {label}}}")
    text = text.replace("'x' * 300", "x" * 300)
    errors = errors_for(tmp_path, toy, text)
    assert has(errors, tmp_path, 8, "expert.label: ") and why in errors[0], errors


def test_17_a_300_character_solver_label_is_refused_with_the_limit(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.replace("label: half", "label: " + "h" * 300))
    assert has(errors, tmp_path, 11, "solvers[1].label: ") and "at most 64 characters" in errors[0], errors
    assert len(errors[0]) < 300, "the message quotes the label shortened"


# ----------------------------------------------------------- 9, 21: numbers


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_9_non_finite_timeout_is_refused(tmp_path, toy, value):
    errors = errors_for(tmp_path, toy, GOOD.replace("timeout: 60", f"timeout: {value}"))
    assert has(errors, tmp_path, 13, "timeout: must be a finite number"), errors


def test_9_non_finite_float_parameters_are_refused(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.replace("params: {dim: 3}", "params: {dim: 3, spread: .nan}"))
    assert has(errors, tmp_path, 6, "problem.params.spread: expected a finite number, got nan"), errors


@pytest.mark.parametrize("params, key, message", [
    ("budget: .nan", "budget", "expected a finite number, got nan"),
    ("gain_high: .inf", "gain_high", "expected a finite number, got inf"),
    ("gain_low: 3, gain_high: 1", "gain_low", "need 0 < gain_low < gain_high, got 3.0 and 1.0"),
])
def test_21_sum_rate_parameters_refused_at_validation(tmp_path, bundled, params, key, message):
    text = SUM_RATE.replace("gain_low: 0.5, gain_high: 2.5, budget: 10.0", params)
    errors = errors_for(tmp_path, bundled, text)
    assert has(errors, tmp_path, 4, f"problem.params.{key}: {message}"), errors


def test_21_a_test_split_the_constructor_refuses_names_the_split(tmp_path, bundled):
    text = SUM_RATE.replace("test: 4}", "test: 4}\n  test_splits:\n    ood: {params: {gain_low: 4.0}, instances: 4}")
    errors = errors_for(tmp_path, bundled, text)
    assert has(errors, tmp_path, 7, "problem.test_splits.ood.params.gain_low: need 0 < gain_low < gain_high"), errors


def test_21_gain_low_above_gain_high_is_exit_2_not_a_traceback(wrbench, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SUM_RATE.replace("gain_low: 0.5, gain_high: 2.5", "gain_low: 3, gain_high: 1"))
    result = wrbench("collect", str(path), plugins=("wrbench_plugins.sum_rate",))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{path}:4: problem.params.gain_low: need 0 < gain_low < gain_high" in result.output


def test_21_repetitions_are_bounded(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.replace("repetitions: 2", "repetitions: 100000000"))
    assert has(errors, tmp_path, 3, "repetitions: must be <= 1000, got 100000000"), errors


def test_21_an_unknown_rank_by_is_refused_with_a_suggestion(tmp_path, bundled):
    errors = errors_for(tmp_path, bundled, SUM_RATE + "rank_by: exceed_ration\n")
    assert has(errors, tmp_path, 9, "rank_by: 'exceed_ration' is not a metric of problem 'sum_rate'; did you mean"), errors
    assert read_suite(_write(tmp_path, SUM_RATE + "rank_by: speedup\n"), bundled).rank_by == "speedup"


def test_21_sweep_plot_metrics_are_checked(tmp_path, bundled):
    text = SUM_RATE.replace("test: 4}", "test: 4}\n  sweep: {param: budget, values: [5.0], instances: 4, plot: [p55]}")
    assert has(errors_for(tmp_path, bundled, text), tmp_path, 6, "problem.sweep.plot: 'p55' is not a metric")


@pytest.mark.parametrize("name", ["power_control", "sum_rate"])
def test_21_declared_metrics_are_exactly_what_evaluate_reports(bundled, name):
    """`rank_by` is checked against `metrics`: the declaration must not drift from `evaluate`."""
    from wrbench.api import Context
    from wrbench.params import resolve

    cls = bundled.get("problem", name)
    problem = cls({"n_pairs": 3} if name == "power_control" else {})
    instances = problem.make_instances("test", 2, 0)
    ctx, params = Context(0), resolve(problem.eval_parameters, {})
    x = problem.decision_set(instances).project(torch.rand(2, 2, problem.decision_dim(instances), dtype=torch.float64))
    reference = problem.evaluate(instances, x, ctx, params)
    assert set(problem.evaluate(instances, x, ctx, params, reference).metrics) == set(cls.metrics)


def test_21_cuda_on_a_machine_without_it_is_a_suite_error_for_run(wrbench, write_suite, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    path = write_suite(text=GOOD + "device: cuda\n")
    result = wrbench("run", str(path), "-q")
    assert result.exit_code == 2, result.output
    assert f"{path}:14: device: device cuda: CUDA is not available on this machine; use device: cpu" in result.output
    assert not (path.parent / "results").exists(), "refused before any work"
    listed = wrbench("collect", str(path))  # listing a GPU suite's cells still works, with a warning
    assert listed.exit_code == 0 and "warning: device cuda: CUDA is not available" in listed.output


# ----------------------------------------------------------- 21: instance files


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def _pc_arrays(b: int = 2, n: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"H": rng.uniform(1e-9, 1e-7, (b, n, n)), "tx": rng.uniform(0, 100, (b, n, 2)),
            "rx": rng.uniform(0, 100, (b, n, 2)), "f_min": np.full(b, 0.5)}


def _with(**changes) -> dict[str, np.ndarray]:
    arrays = _pc_arrays()
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


NPZ_CASES = {
    "missing key": (_with(H=None), "expected arrays H, tx, rx (optional: f_min); missing H"),
    "unknown key": (_with(f_mn=np.ones(2)), "expected arrays H, tx, rx (optional: f_min); unknown f_mn"),
    "H shape": (_with(H=np.ones((2, 3))), "'H' must have shape (B, N, N) with N >= 1, got (2, 3)"),
    "tx shape": (_with(tx=np.ones((2, 4, 2))), "'tx' must have shape (2, 3, 2) to match 'H' (2, 3, 3), got (2, 4, 2)"),
    "dtype": (_with(f_min=np.array(["a", "b"])), "'f_min' must hold real numbers, got dtype <U1"),
    "empty": (_pc_arrays(b=0), "'H' holds no instances (shape (0, 3, 3))"),
    "nan": (_with(H=np.full((2, 3, 3), np.nan)), "'H' holds NaN or inf values"),
    "negative": (_with(H=-_pc_arrays()["H"]), "gains 'H' must be >= 0, with direct gains H[b, i, i] > 0"),
}


@pytest.mark.parametrize("case", sorted(NPZ_CASES))
def test_21_instance_file_contents_are_checked_by_the_problem(tmp_path, bundled, case):
    arrays, message = NPZ_CASES[case]
    np.savez(tmp_path / "pc.npz", **arrays)
    errors = errors_for(tmp_path, bundled, POWER_CONTROL)
    assert has(errors, tmp_path, 5, "problem.instances.test: instance file 'pc.npz' does not hold valid "
                                    f"'power_control' instances: {message}"), errors


def test_21_a_valid_instance_file_passes(tmp_path, bundled):
    np.savez(tmp_path / "pc.npz", **_pc_arrays())
    assert read_suite(_write(tmp_path, POWER_CONTROL), bundled).splits[1].instances == str(tmp_path / "pc.npz")


def test_21_object_arrays_and_directories_are_refused(tmp_path, bundled):
    np.savez(tmp_path / "pc.npz", H=np.array([{"a": 1}], dtype=object))
    errors = errors_for(tmp_path, bundled, POWER_CONTROL)
    assert has(errors, tmp_path, 5, "instance file 'pc.npz' cannot be read as an .npz without pickle (Object arrays"), errors
    (tmp_path / "pc.npz").unlink()
    (tmp_path / "pc.npz").mkdir()
    assert has(errors_for(tmp_path, bundled, POWER_CONTROL), tmp_path, 5, "instance file 'pc.npz' is not a file")


def test_21_sum_rate_instance_files_with_inf_gains_are_refused(tmp_path, bundled):
    np.savez(tmp_path / "sr.npz", g=np.array([[1.0, np.inf, 2.0]]), P=np.array([10.0]))
    errors = errors_for(tmp_path, bundled, SUM_RATE.replace("test: 4}", "test: sr.npz}"))
    assert has(errors, tmp_path, 5, "does not hold valid 'sum_rate' instances: 'g' holds NaN or inf values"), errors


# ----------------------------------------------------------- 15, 19, 21: the file itself


def test_15_a_non_utf8_suite_names_the_line(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.encode().replace(b"name: toy_half", b"name: toy_h\xe9lf"))
    assert errors == [f"{tmp_path / 's.yaml'}:11: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_15_empty_params_with_test_splits(tmp_path, toy):
    text = GOOD.replace("params: {dim: 3}", "params:\n  test_splits: {wide: {params: {spread: 0.4}, instances: 4}}")
    suite = read_suite(_write(tmp_path, text), toy)
    assert suite.splits[-1].params == {"dim": 3, "spread": 0.4}


def test_15_a_list_where_split_params_belong(tmp_path, toy):
    text = GOOD.replace("params: {dim: 3}", "params: {dim: 3}\n  test_splits: {wide: {params: [1, 2], instances: 4}}")
    errors = errors_for(tmp_path, toy, text)
    assert has(errors, tmp_path, 7, "problem.test_splits.wide.params: expected a mapping of parameters, got a list"), errors


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def test_19_an_alias_bomb_is_refused_before_expansion(tmp_path, toy):
    assert len(ALIAS_BOMB) < 700
    errors = errors_for(tmp_path, toy, ALIAS_BOMB)
    assert len(errors) == 1 and ": invalid YAML: aliases expand to more than 10000 extra nodes" in errors[0], errors


def test_19_a_few_aliases_still_work(tmp_path, toy):
    text = GOOD.replace("params: {dim: 3}", "params: &p {dim: 3}").replace("test: 4}", "test: 4}\n  test_splits: {b: {params: *p, instances: 4}}")
    assert read_suite(_write(tmp_path, text), toy).splits[-1].params["dim"] == 3


def test_21_duplicate_keys_are_reported_with_both_lines(tmp_path, toy):
    text = GOOD.replace("timeout: 60", "timeout: 60\nseed: 5").replace("samples: 3}", "samples: 3, samples: 4}")
    errors = errors_for(tmp_path, toy, text)
    assert has(errors, tmp_path, 14, "seed: key given twice (first at line 2); keep one"), errors
    assert has(errors, tmp_path, 12, "evaluation.samples: key given twice (first at line 12)"), errors


# ----------------------------------------------------------- 22: messages


def test_22_set_past_the_end_names_the_full_path_and_the_length(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD, ["solvers[9].name=toy_half"])
    assert errors == [f"{tmp_path / 's.yaml'}: --set solvers[9].name: index 9 is past the end: solvers has 2 entries"]


def test_22_every_bad_parameter_of_a_component_is_reported(tmp_path, toy):
    errors = errors_for(tmp_path, toy, GOOD.replace("params: {dim: 3}", "params: {dim: 0, spread: x, nope: 1}"))
    for key in ("dim: must be >= 1", "spread: expected float", "nope: unknown parameter"):
        assert has(errors, tmp_path, 6, f"problem.params.{key}"), errors


@pytest.mark.parametrize("declared", ["abc", "1", 1])
def test_22_an_unparsable_api_version_names_the_plugin_and_the_format(toy_only, monkeypatch, declared):
    import broken.api_version_text as module

    monkeypatch.setattr(module, "WRBENCH_API_VERSION", declared)
    record = load_plugins(["broken.api_version_text"]).records[0]
    assert record.status == "failed"
    assert record.error == f'WRBENCH_API_VERSION must be a string "MAJOR.MINOR" such as "1.0", got {declared!r}'
    with pytest.raises(PluginError, match="plugin 'broken.api_version_text' failed: WRBENCH_API_VERSION must be"):
        load_plugins(["broken.api_version_text"], strict=True)


# ----------------------------------------------------------- 13, 14: plugins


@pytest.mark.parametrize("module, code", [("broken.exit_import", 3), ("broken.exit_hook", 4)])
def test_13_sys_exit_in_a_plugin_is_a_load_failure(wrbench, module, code):
    result = wrbench("plugins", "--json", plugins=("toy_plugin", module))
    assert result.exit_code == 0, result.output
    status = {r["name"]: r for r in json.loads(result.output)["plugins"]}
    assert status["toy_plugin"]["status"] == "loaded"
    assert status[module]["status"] == "failed" and status[module]["error"] == f"called sys.exit({code}) while loading"
    strict = wrbench("plugins", "--strict-plugins", plugins=("toy_plugin", module))
    assert strict.exit_code == 2 and f"plugin '{module}' failed: called sys.exit({code})" in strict.output


@pytest.mark.parametrize("module, message", [
    ("broken.bad_default", "solver 'opaque_default': `parameters`: parameter 'thing': default <object object at"),
    ("broken.wrong_default", "solver 'wrong_default': `parameters`: parameter 'steps': default 'ten' is invalid: "
                             "expected int, got str 'ten'"),
])
def test_14_broken_parameter_declarations_fail_the_plugin(wrbench, write_suite, module, message):
    result = wrbench("plugins", "--json", plugins=("toy_plugin", module))
    assert result.exit_code == 0, result.output
    status = {r["name"]: r for r in json.loads(result.output)["plugins"]}
    assert status[module]["status"] == "failed" and status[module]["error"].startswith(message), status[module]
    run = wrbench("collect", str(write_suite()), plugins=("toy_plugin", module))
    assert run.exit_code == 0 and f"plugin '{module}' not loaded" in run.output

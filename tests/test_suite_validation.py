"""Every class of suite error is reported with file, key path and line, exit code 2, no traceback."""
from __future__ import annotations

import pytest

from wrbench.core.plugins import load_plugins
from wrbench.run.suite import SuiteError, read_suite

GOOD = """\
name: toy
seed: 0
repetitions: 2
problem:
  name: toy
  params: {dim: 3}
  instances: {train: 16, test: 4}
expert: {name: toy_expert, samples: 5}
solvers:
  - {name: toy_mean}
  - {name: toy_half, label: half}
evaluation: {samples: 3}
timeout: 60
"""


@pytest.fixture
def registry(toy_only):
    return load_plugins(["toy_plugin"])


def errors_for(tmp_path, registry, text, overrides=()):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError) as info:
        read_suite(path, registry, overrides)
    return info.value.errors


def test_good_suite_validates_with_defaults(tmp_path, registry):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    suite = read_suite(path, registry)
    assert [s.label for s in suite.solvers] == ["toy_mean", "half"]
    assert suite.problem.params == {"dim": 3, "spread": 0.2}
    assert suite.eval_params == {"noise": 0.0}
    assert suite.rank_by == "" and suite.qos_tolerance is None and suite.optimum is None  # the problem's own rule
    assert [s.name for s in suite.splits] == ["train", "test"]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("seed: 0", "sed: 0", "s.yaml:2: sed: unknown key; did you mean 'seed'?"),
        ("repetitions: 2", "repetitions: two", "s.yaml:3: repetitions: expected a positive integer, got str 'two'"),
        ("repetitions: 2", "repetitions: 0", "s.yaml:3: repetitions: must be >= 1, got 0"),
        ("name: toy_half, label: half", "name: toy_hlaf", "s.yaml:11: solvers[1].name: unknown solver/expert 'toy_hlaf'; did you mean 'toy_half'"),
        ("params: {dim: 3}", "params: {dim: 3, dimm: 4}", "s.yaml:6: problem.params.dimm: unknown parameter (declared: dim, spread)"),
        ("params: {dim: 3}", "params: {dim: three}", "s.yaml:6: problem.params.dim: expected int, got str 'three'"),
        ("params: {dim: 3}", "params: {dim: 0}", "s.yaml:6: problem.params.dim: must be >= 1, got 0"),
        ("timeout: 60", "timeout: -1", "s.yaml:13: timeout: must be > 0, got -1"),
        ("label: half", "label: toy_mean", "s.yaml:11: solvers[1].label: label 'toy_mean' is used twice"),
        ("test: 4", "test: missing.npz", "s.yaml:7: problem.instances.test: instance file 'missing.npz' does not exist"),
        ("evaluation: {samples: 3}", "evaluation: {samples: 3, params: {noize: 1}}", "s.yaml:12: evaluation.params.noize: unknown parameter"),
        ("expert: {name: toy_expert, samples: 5}", "expert: {name: toy_expertt}", "s.yaml:8: expert.name: unknown expert 'toy_expertt'; did you mean 'toy_expert'"),
    ],
)
def test_each_error_names_file_key_and_line(tmp_path, registry, old, new, expected):
    assert old in GOOD
    errors = errors_for(tmp_path, registry, GOOD.replace(old, new, 1))
    assert any(e.startswith(str(tmp_path / expected.split(":")[0])) and expected.split(":", 1)[1] in e for e in errors), errors


def test_all_errors_are_reported_at_once(tmp_path, registry):
    text = GOOD.replace("seed: 0", "seed: x").replace("timeout: 60", "timeout: 0")
    assert len(errors_for(tmp_path, registry, text)) == 2


def test_invalid_yaml_names_the_line(tmp_path, registry):
    errors = errors_for(tmp_path, registry, GOOD.replace("seed: 0", "seed: [0"))
    assert ":3: invalid YAML" in errors[0] or ":2: invalid YAML" in errors[0]


def test_set_overrides_any_key_and_parses_yaml(tmp_path, registry):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    suite = read_suite(path, registry, ["solvers=[{name: toy_half}]", "problem.params.dim=5", "solvers[0].label=h"])
    assert [(s.name, s.label) for s in suite.solvers] == [("toy_half", "h")]
    assert suite.problem.params["dim"] == 5
    errors = errors_for(tmp_path, registry, GOOD, ["problem.params.dim=zero"])
    assert errors == [f"{path}:--set: problem.params.dim: expected int, got str 'zero'"]


def test_cli_reports_suite_errors_with_exit_2_and_no_traceback(wrbench, write_suite):
    path = write_suite(text=GOOD.replace("seed: 0", "sed: 0"))
    result = wrbench("run", str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "sed: unknown key" in result.output


def test_collect_lists_cells(wrbench, write_suite):
    path = write_suite(text=GOOD)
    result = wrbench("collect", str(path))
    assert result.exit_code == 0, result.output
    assert "toy_mean/rep1" in result.output and "to run" in result.output


def test_errors_inside_an_overridden_key_point_at_the_override(tmp_path, registry):
    errors = errors_for(tmp_path, registry, GOOD, ["solvers=[{name: toy_hlaf}]"])
    assert errors[0].startswith(f"{tmp_path / 's.yaml'}:--set: solvers[0].name: unknown solver/expert 'toy_hlaf'")


def test_combinations_a_problem_rejects_are_suite_errors():
    """power_control refuses mixed densities on a fixed layout before any work, with the key and line."""
    from pathlib import Path

    bundled = load_plugins(["wrbench_plugins.power_control", "wrbench_plugins.diffusion"], strict=True, entry_points=False)
    path = Path(__file__).resolve().parents[1] / "suites" / "power_control_paper_cpu.yaml"
    with pytest.raises(SuiteError) as info:
        read_suite(path, bundled, ["problem.params.density_train=[6.6, 8.2]"])
    assert any(e.startswith(f"{path}:--set: problem.params.density_train: mixes geometries and needs positions: fresh")
               for e in info.value.errors), info.value.errors

"""The sum_rate suites name parameters the plugin accepts, and `exhaustive` resolves to its grid expert there."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from wrbench.core.plugins import load_plugins

SUITES = sorted((Path(__file__).resolve().parents[1] / "suites").glob("sum_rate_*.yaml"))
REGISTRY = load_plugins(["wrbench_plugins.sum_rate"], entry_points=False, strict=True)


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_suite_params_resolve(path: Path) -> None:
    suite = yaml.safe_load(path.read_text())
    problem_cls = REGISTRY.get("problem", suite["problem"]["name"])
    params = suite["problem"]["params"]
    problem = problem_cls(params)
    for split in suite["problem"].get("test_splits", {}).values():
        problem_cls({**params, **split["params"]})
    expert = REGISTRY.get("expert", suite["expert"]["name"], problem.name)(suite["expert"].get("params"))
    assert expert.supports(problem) is None
    for entry in suite["solvers"]:
        if REGISTRY.has("solver", entry["name"]) or REGISTRY.has("expert", entry["name"]):
            solver = REGISTRY.make_solver(entry["name"], entry.get("params"), problem.name)
            assert solver.supports(problem) is None, entry["name"]


BOTH = ("wrbench_plugins.power_control", "wrbench_plugins.sum_rate")
EXHAUSTIVE_SUITE = {
    "name": "sum_rate_exhaustive",
    "repetitions": 1,
    "problem": {"name": "sum_rate", "params": {"channels": 3}, "instances": {"train": 4, "test": 3}},
    "expert": {"name": "exhaustive", "params": {"levels": 21}},
    "solvers": [{"name": "exhaustive", "params": {"levels": 6}}, {"name": "uniform"}],
    "evaluation": {"samples": 2},
}


def test_exhaustive_resolves_to_the_sum_rate_grid_and_runs(wrbench, write_suite, tmp_path) -> None:
    """`exhaustive` is also power_control's expert; a sum_rate suite must get the sum_rate one."""
    suite = write_suite(**EXHAUSTIVE_SUITE)
    result = wrbench("run", str(suite), "-o", "out", "-q", "--threads", "1", plugins=BOTH)
    assert result.exit_code == 0, result.output
    rows = {r["label"]: r for r in json.loads((tmp_path / "out" / "leaderboard.json").read_text())["rows"]}
    assert {row["status"] for row in rows.values()} == {"ok"} and "exhaustive (expert)" in rows
    assert 0.98 < rows["exhaustive"]["exceed_ratio"] <= 1.0 + 1e-9


def test_a_problem_without_an_exhaustive_variant_is_a_suite_error(wrbench, write_suite) -> None:
    suite = write_suite(expert={"name": "exhaustive"})  # the toy problem
    result = wrbench("run", str(suite), "-q", plugins=("toy_plugin", *BOTH))
    assert result.exit_code == 2
    assert "expert 'exhaustive' has no variant for problem 'toy'" in result.output
    assert "power_control (plugin 'wrbench_plugins.power_control')" in result.output

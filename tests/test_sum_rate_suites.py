"""The sum_rate suites name parameters this plugin accepts (until the harness validates suites itself)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wrbench.plugins import load_plugins

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
    expert = REGISTRY.get("expert", suite["expert"]["name"])(suite["expert"].get("params"))
    assert expert.supports(problem) is None
    for entry in suite["solvers"]:
        if REGISTRY.has("solver", entry["name"]) or REGISTRY.has("expert", entry["name"]):
            solver = REGISTRY.make_solver(entry["name"], entry.get("params"))
            assert solver.supports(problem) is None, entry["name"]

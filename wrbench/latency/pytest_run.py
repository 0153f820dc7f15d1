"""Running the benchmarks in `benchmarks/` through pytest-benchmark, in this process, and collecting the results.

pytest owns collection, selection (`-k`), the timing loop and its JSON report;
this module passes the settings on (`wrbench.latency.options.pytest_argv`),
records each benchmark's outcome with a small in-process plugin, and turns the
JSON (with raw data) into run entries keyed by case id.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from wrbench.latency.options import pytest_argv

NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED


def benchmarks_dir() -> Path | None:
    """The `benchmarks/` folder: next to the current directory, or in the source checkout of this wrbench."""
    for candidate in (Path.cwd() / "benchmarks", Path(__file__).resolve().parents[2] / "benchmarks"):
        if (candidate / "test_latency.py").is_file():
            return candidate
    return None


def from_pytest_json(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Benchmarks of a pytest-benchmark JSON (run with raw data) as run entries keyed by case id."""
    out = {}
    for bench in data.get("benchmarks", []):
        info = dict(bench.get("extra_info", {}))
        key = info.get("case") or bench["name"]
        calls = int(info.get("calls_per_round", 1))
        rounds = [float(x) / calls for x in bench["stats"].get("data", [])]
        out[key] = {**info, "rounds": rounds, "median": float(np.median(rounds)) if rounds else None,
                    "pytest_name": bench.get("fullname", bench["name"])}
    return out


@dataclass
class Outcomes:
    """What pytest reported: failed benchmarks (case id -> message) and skipped ones (id -> reason)."""

    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def collected_nothing(self) -> bool:
        return self.exit_code == NO_TESTS_COLLECTED


class _Collector:
    """An in-process pytest plugin that records each benchmark's outcome."""

    def __init__(self) -> None:
        self.outcomes = Outcomes()

    @staticmethod
    def _case(nodeid: str) -> str:
        return nodeid.split("[", 1)[1].rstrip("]") if "[" in nodeid else nodeid

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            text = getattr(report, "longreprtext", "") or str(report.longrepr)
            errors = [ln.strip()[1:].strip() for ln in text.splitlines() if ln.strip().startswith("E ")]
            lines = errors or text.strip().splitlines() or ["failed"]
            self.outcomes.failed[self._case(report.nodeid)] = lines[0] if errors else lines[-1]
        elif report.skipped and report.when in ("setup", "call"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.outcomes.skipped[self._case(report.nodeid)] = reason.removeprefix("Skipped: ")

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.outcomes.collection_errors.append(str(report.longrepr).strip().splitlines()[-1])


def run_benchmarks(settings: Mapping[str, Any], bench_dir: Path | None = None,
                   pytest_args: Sequence[str] = ()) -> tuple[dict[str, dict[str, Any]], Outcomes]:
    """Run `benchmarks/` with `settings` (see `wrbench.latency.options`); (run entries by case id, outcomes)."""
    import pytest

    bench_dir = bench_dir or benchmarks_dir()
    if bench_dir is None:
        raise FileNotFoundError("benchmarks/test_latency.py not found: run from a wrbench source checkout")
    with tempfile.TemporaryDirectory(prefix="wrbench-bench-") as tmp:
        json_path = Path(tmp) / "run.json"
        args = [str(bench_dir), "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=",
                "--benchmark-json", str(json_path), "--benchmark-sort=name", "--benchmark-name=short",
                "--benchmark-columns=median,iqr,min,max,rounds", *pytest_argv(settings), *pytest_args]
        collector = _Collector()
        collector.outcomes.exit_code = int(pytest.main(args, plugins=[collector]))
        data = json.loads(json_path.read_text()) if json_path.is_file() else {}
    return from_pytest_json(data), collector.outcomes

"""Latency benchmarks from the plugins' own declarations: a third-party problem, the one option owner,
and the runs that have nothing to time."""
from __future__ import annotations

import json

from wrbench.core.plugins import load_plugins
from wrbench.latency.cases import discover
from wrbench.latency.options import OPTIONS, pytest_argv, settings_from_pytest

TOY = ("bench_toy_plugin",)
QUICK = ("--samples", "2", "--max-time", "0.01", "--min-rounds", "2", "--max-rounds", "2")


def test_a_third_party_problem_gets_cases_from_its_declarations(toy_only):
    found = discover(load_plugins(TOY))
    ids = {c.id for c in found.cases}
    # sizes 2 and 4 (its bench_sizes on cpu), default batches 1 and 8, the first expert that supports it
    assert {f"bench_toy/{name}-N{n}-B{b}" for name in ("bench_tiny", "bench_toy_expert")
            for n in (2, 4) for b in (1, 8)} <= ids
    assert {c.role for c in found.cases if c.name == "bench_toy_expert"} == {"expert"}
    assert {c.size_param for c in found.cases} == {"dim"} and {c.problem for c in found.cases} == {"bench_toy"}
    assert not discover(load_plugins(TOY), problem="bench_toy", sizes=[3], include_expert=False,
                        solvers=["bench_tiny"]).skipped


def test_a_bench_run_times_the_third_party_problem(wrbench, monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_TINY_DELAY", "0")
    result = wrbench("bench", "--solver", "bench_tiny", "--batch", "1", *QUICK, "--save", "T",
                     "--storage", str(tmp_path / "store"), plugins=TOY)
    assert result.exit_code == 0, result.output
    [saved] = (tmp_path / "store").glob("*/T.json")
    benchmarks = json.loads(saved.read_text())["benchmarks"]
    assert set(benchmarks) == {f"bench_toy/{name}-N{n}-B1" for name in ("bench_tiny", "bench_toy_expert") for n in (2, 4)}
    entry = benchmarks["bench_toy/bench_tiny-N4-B1"]
    assert entry["problem"] == "bench_toy" and entry["size_param"] == "dim" and entry["n"] == 4
    assert len(entry["rounds"]) == 2 and benchmarks["bench_toy/bench_toy_expert-N2-B1"]["role"] == "expert"


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_a_run_that_collects_nothing_exits_2_with_one_line(wrbench):
    result = wrbench("bench", "-k", "nomatch", *QUICK, plugins=TOY)
    assert result.exit_code == 2, result.output
    assert _error_lines(result.output) == ["error: no benchmark collected (-k 'nomatch' selected none of 16 cases)"]
    assert "sampling latency" not in result.output


def test_solvers_that_match_nothing_exit_2(wrbench):
    result = wrbench("bench", "--problem", "bench_toy", "--solver", "wmmse", "--no-expert", *QUICK,
                     plugins=("wrbench_plugins.power_control", *TOY))
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert line.startswith("error: nothing to benchmark") and "bench_toy/wmmse" in result.output


def test_compare_with_a_missing_run_names_the_folder_and_the_option(wrbench, tmp_path):
    store = tmp_path / "elsewhere"
    result = wrbench("bench", "--compare", "nope", "--storage", str(store), *QUICK, plugins=TOY)
    assert result.exit_code == 2, result.output
    [line] = _error_lines(result.output)
    assert str(store.resolve()) in line and "--storage" in line and "'nope'" in line


def test_options_are_declared_once_for_click_pytest_env_and_argv():
    from wrbench.latency.command import bench

    assert {p.name for p in bench.params} == {o.dest for o in OPTIONS}
    settings = settings_from_pytest(lambda dest: None, {"WRBENCH_BENCH_SIZES": "3, 4", "WRBENCH_BENCH_NO_EXPERT": "1",
                                                   "WRBENCH_BENCH_KEYWORD": "ignored: pytest reads -k itself"})
    assert settings["sizes"] == (3, 4) and settings["no_expert"] is True and settings["batches"] == (1, 8)
    assert settings["samples"] == 50 and settings["keyword"] is None
    assert pytest_argv({"sizes": (3, 4), "samples": 2, "no_expert": True, "plugins": ("m",), "keyword": None}) == \
        ["--size", "3", "--size", "4", "--samples", "2", "--no-expert", "--wrbench-plugin", "m"]

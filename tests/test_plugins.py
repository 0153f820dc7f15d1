"""Plugin loading: failures are isolated and reported, conflicts name both plugins."""
from __future__ import annotations

import json

import pytest

from wrbench.core.plugins import PluginError, UnknownComponent, UnresolvedComponent, load_plugins


def test_broken_plugins_are_reported_and_the_rest_loads(toy_only):
    broken = ["broken.import_error", "broken.bad_signature", "broken.wrong_api", "broken.raises", "broken.duplicate"]
    registry = load_plugins(["toy_plugin", *broken])
    status = {r.name: r for r in registry.records}
    assert status["toy_plugin"].status == "loaded"
    assert "wrbench_no_such_dependency" in status["broken.import_error"].error
    assert "extra" in status["broken.bad_signature"].error
    assert "2.0" in status["broken.wrong_api"].error and "1.0" in status["broken.wrong_api"].error
    assert "registration failed on purpose" in status["broken.raises"].error
    dup = status["broken.duplicate"].error
    assert "toy_half" in dup and "toy_plugin" in dup and "broken.duplicate" in dup
    assert all(status[name].status == "failed" for name in broken)
    assert registry.names("solver") == ["toy_bad", "toy_half", "toy_mean", "toy_slow"]


def test_strict_mode_makes_a_failure_fatal(toy_only):
    with pytest.raises(PluginError, match="import_error"):
        load_plugins(["toy_plugin", "broken.import_error"], strict=True)


def test_unknown_component_suggests_close_names(toy_only):
    registry = load_plugins(["toy_plugin"])
    with pytest.raises(UnknownComponent, match="did you mean 'toy_half'"):
        registry.get("solver", "toy_halff")


def test_plugins_command_lists_status_as_json(wrbench):
    result = wrbench("plugins", "--json", plugins=("toy_plugin", "broken.wrong_api"))
    assert result.exit_code == 0
    data = json.loads(result.output)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["toy_plugin"]["status"] == "loaded"
    toy_mean = {"kind": "solver", "name": "toy_mean", "version": "1", "problems": None}
    assert toy_mean in by_name["toy_plugin"]["components"]
    assert by_name["broken.wrong_api"]["status"] == "failed"
    solver = next(c for c in data["components"]["solver"] if c["name"] == "toy_bad")
    assert solver["parameters"]["mode"]["choices"][0] == "raise"


def test_strict_plugins_flag_exits_2_without_traceback(wrbench):
    result = wrbench("plugins", "--strict-plugins", plugins=("toy_plugin", "broken.import_error"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "broken.import_error" in result.output


BUNDLED_PROBLEMS = ("wrbench_plugins.power_control", "wrbench_plugins.sum_rate")


@pytest.fixture
def bundled_pair(toy_only):
    """The two bundled problem plugins, which both register an expert named `exhaustive`."""
    return load_plugins(BUNDLED_PROBLEMS, strict=True)


def test_one_name_on_disjoint_problems_resolves_per_problem(bundled_pair):
    variants = bundled_pair.variants("expert", "exhaustive")
    assert sorted(cls.problems for cls in variants) == [("power_control",), ("sum_rate",)]
    for problem in ("power_control", "sum_rate"):
        assert bundled_pair.get("expert", "exhaustive", problem).problems == (problem,)
        solver = bundled_pair.make_solver("exhaustive", {"levels": 3}, problem)
        assert solver.expert.problems == (problem,)


def test_a_shared_name_needs_a_problem_it_serves(bundled_pair):
    with pytest.raises(UnresolvedComponent, match="several problems: power_control .*; sum_rate"):
        bundled_pair.get("expert", "exhaustive")
    with pytest.raises(UnresolvedComponent, match="no variant for problem 'toy'.*power_control.*sum_rate"):
        bundled_pair.make_solver("exhaustive", None, "toy")


def test_overlapping_problems_are_rejected_naming_both_plugins(toy_only):
    registry = load_plugins(["toy_plugin", "broken.overlap"])
    error = {r.name: r for r in registry.records}["broken.overlap"].error
    assert "toy_expert" in error and "toy_plugin" in error and "broken.overlap" in error
    assert "toy, toy_noflat vs toy_noflat, elsewhere" in error
    assert [cls.__module__ for cls in registry.variants("expert", "toy_expert")] == ["toy_plugin"]


def test_plugins_command_shows_every_variant(wrbench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # one table row per plugin, unwrapped
    data = json.loads(wrbench("plugins", "--json", plugins=BUNDLED_PROBLEMS).output)
    shared = [c for c in data["components"]["expert"] if c["name"] == "exhaustive"]
    assert {(c["plugin"], tuple(c["capabilities"]["problems"])) for c in shared} == {
        ("wrbench_plugins.power_control", ("power_control",)), ("wrbench_plugins.sum_rate", ("sum_rate",))}
    table = wrbench("plugins", plugins=BUNDLED_PROBLEMS).output
    assert "expert:exhaustive (power_control)" in table and "expert:exhaustive (sum_rate)" in table

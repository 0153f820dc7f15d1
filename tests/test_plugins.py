"""Plugin loading: failures are isolated and reported, conflicts name both plugins."""
from __future__ import annotations

import json

import pytest

from wrbench.plugins import PluginError, UnknownComponent, load_plugins


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
    assert {"kind": "solver", "name": "toy_mean", "version": "1"} in by_name["toy_plugin"]["components"]
    assert by_name["broken.wrong_api"]["status"] == "failed"
    solver = next(c for c in data["components"]["solver"] if c["name"] == "toy_bad")
    assert solver["parameters"]["mode"]["choices"][0] == "raise"


def test_strict_plugins_flag_exits_2_without_traceback(wrbench):
    result = wrbench("plugins", "--strict-plugins", plugins=("toy_plugin", "broken.import_error"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "broken.import_error" in result.output

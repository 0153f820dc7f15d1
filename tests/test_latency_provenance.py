"""Latency runs name the code they timed (per solver: plugin, distribution, version, commit), live in a folder per
user found from any working directory, and a `--compare` name that is not saved lists the names that are."""
from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
from pathlib import Path

import pytest

from wrbench.core.machine import fingerprint
from wrbench.latency.compare import provenance_changes
from wrbench.latency.options import default_storage, storage_dir
from wrbench.latency.storage import fingerprint_id, make_run, save_run

TOY = ("bench_toy_plugin",)
QUICK = ("--no-expert", "--size", "3", "--batch", "1", "--samples", "2", "--max-time", "0.01", "--min-rounds", "2",
         "--max-rounds", "2")


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parent).stdout.strip()


def test_a_saved_run_records_each_solvers_provenance_and_compare_prints_what_changed(wrbench, monkeypatch, tmp_path):
    """A bundled solver (entry point of the installed wrbench distribution) next to a -p one, saved to the folder
    WRBENCH_BENCH_STORAGE names; a baseline whose solver came from another version shows the change."""
    monkeypatch.delenv("WRBENCH_DISABLE_ENTRY_POINTS")  # the bundled plugins, with their distribution
    monkeypatch.setenv("BENCH_TINY_DELAY", "0")
    store = tmp_path / "user-store"
    monkeypatch.setenv("WRBENCH_BENCH_STORAGE", str(store))
    args = ("bench", "--problem", "power_control", "--solver", "full_power", "--solver", "bench_tiny", *QUICK)
    saved = wrbench(*args, "--save", "A", plugins=TOY)
    assert saved.exit_code == 0, saved.output
    assert f"storage: {store.resolve()}" in saved.output
    [path] = store.glob("*/A.json")
    run = json.loads(path.read_text())
    assert set(run["solvers"]) == {"full_power", "bench_tiny"}
    bundled, tiny = run["solvers"]["full_power"], run["solvers"]["bench_tiny"]
    assert bundled["plugin"] == "power_control" and bundled["distribution"] == "wrbench"
    assert bundled["version"] == md.version("wrbench") and bundled["name"] == "full_power"
    assert tiny["plugin"] == "bench_toy_plugin" and tiny["distribution"] is None  # a -p module: no distribution
    for entry in (bundled, tiny):  # both live in this checkout; "+dirty" depends on the working tree
        assert entry["commit"].split("+")[0] == _head()

    older = dict(run, name="old", saved=run["saved"] - 60,
                 solvers={**run["solvers"], "full_power": {**bundled, "version": "0.0.1", "commit": "0123456789abcdef"}})
    (path.parent / "old.json").write_text(json.dumps(older))
    compared = wrbench(*args, "--compare", "old", plugins=TOY)
    assert compared.exit_code == 0, compared.output
    assert "solver provenance, baseline -> now" in compared.output
    [line] = [ln.strip() for ln in compared.output.splitlines() if ln.strip().startswith("full_power:")]
    assert line.startswith("full_power: power_control wrbench 0.0.1 0123456789ab -> power_control wrbench "
                           f"{bundled['version']} {_head()[:12]}")
    assert not any(ln.strip().startswith("bench_tiny:") for ln in compared.output.splitlines())  # unchanged
    assert f"storage: {store.resolve()}" in compared.output


def test_provenance_changes_only_for_solvers_in_both_runs_and_old_baselines_say_so():
    p = {"plugin": "x", "distribution": "d", "version": "1.0", "commit": "a" * 40 + "+dirty", "component_version": "1"}
    base = {"name": "b", "solvers": {"s": p, "gone": p}}
    assert provenance_changes(base, {"solvers": {"s": p, "new": p}}) == []
    [line] = provenance_changes(base, {"solvers": {"s": {**p, "version": "2.0"}}})
    assert line == f"s: x d 1.0 {'a' * 12}+dirty -> x d 2.0 {'a' * 12}+dirty"
    [line] = provenance_changes(base, {"solvers": {"s": {**p, "component_version": "2", "commit": None}}})
    assert line == f"s: x d 1.0 {'a' * 12}+dirty -> x d 1.0 - (component version 1 -> 2)"
    assert "recorded no solver provenance" in provenance_changes({"name": "b"}, {"solvers": {"s": p}})[0]


def test_default_storage_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_storage({}) == tmp_path / "home" / ".local" / "share" / "wrbench" / "bench"
    assert default_storage({"XDG_DATA_HOME": "relative/ignored"}) == tmp_path / "home/.local/share/wrbench/bench"
    assert default_storage({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "wrbench" / "bench"
    both = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "WRBENCH_BENCH_STORAGE": str(tmp_path / "mine")}
    assert default_storage(both) == tmp_path / "mine"
    monkeypatch.chdir(tmp_path)
    assert storage_dir("given", both) == tmp_path / "given"  # --storage wins, relative to the cwd
    monkeypatch.delenv("WRBENCH_BENCH_STORAGE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert storage_dir(None) == (tmp_path / "xdg" / "wrbench" / "bench").resolve()


def _saved(store: Path, name: str, fp: dict) -> None:
    save_run(make_run({}, "cpu", fp=fp), store, name)


@pytest.mark.parametrize("given", [False, True])
def test_a_missing_compare_name_exits_2_and_lists_the_saved_names(wrbench, monkeypatch, tmp_path, given):
    """Found through XDG_DATA_HOME, or through --storage: the names on this fingerprint, those on others."""
    monkeypatch.delenv("WRBENCH_BENCH_STORAGE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = tmp_path / "given" if given else tmp_path / "xdg" / "wrbench" / "bench"
    here = fingerprint("cpu")
    _saved(store, "A", here)
    _saved(store, "B", here)
    _saved(store, "C", {**here, "cpu": "some other cpu"})
    result = wrbench("bench", "--compare", "nope", *(("--storage", str(store)) if given else ()), *QUICK, plugins=TOY)
    assert result.exit_code == 2, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert f"no saved run named 'nope' in {store.resolve()}" in line and "--storage" in line
    assert f"saved runs on this machine fingerprint ({fingerprint_id(here)}): A, B" in line
    assert "runs on 1 other machine fingerprint(s): C" in line
    assert "sampling latency" not in result.output  # nothing was timed

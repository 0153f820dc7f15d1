"""Issue 21, the result store and the caches: nothing lost, nothing stale, no traceback.

Defects 1 (diagnostics), 2 (.npz by content), 3 + 23 (job keys), 4 (torn tail), 5 (missing reference),
11 (unreadable or uncacheable cache entries) and 18 (malformed lines in results.jsonl).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import toy_plugin

from wrbench.core.plugins import Registry, load_plugins
from wrbench.run.cache import Cache
from wrbench.run.plan import plan
from wrbench.run.record import JobRecord
from wrbench.run.store import ResultStore
from wrbench.run.suite import Suite, read_suite

PLUGINS = ("toy_plugin", "faulty_store_plugin")
HALF, MEAN = {"name": "toy_half"}, {"name": "toy_mean"}


def lines(outdir: Path) -> list[dict]:
    """Every line of results.jsonl, parsed: fails on any line that is not intact JSON."""
    return [json.loads(line) for line in (outdir / "results.jsonl").read_bytes().decode().splitlines()]


def by_id(outdir: Path) -> dict[str, dict]:
    return {r["id"]: r for r in lines(outdir)}


def metrics(record: dict, split: str = "test") -> dict:
    return record["metrics"][split]


@pytest.fixture
def run(wrbench):
    """`wrbench run SUITE -o OUT -q ARGS...` with the toy and faulty-store plugins."""

    def invoke(suite: Path, *args: str, out: str = "out"):
        return wrbench("run", str(suite), "-o", out, "-q", *args, plugins=PLUGINS)

    return invoke


def solvers_set(*solvers: dict) -> tuple[str, str]:
    return "--set", "solvers=" + json.dumps(list(solvers))


# ------------------------------------------------------------------ 1: diagnostics


def test_diagnostics_become_json_and_a_bad_value_fails_only_its_cell(run, write_suite, tmp_path):
    kinds = ["tensor", "numpy", "vector", "lambda", "object"]
    solvers = [{"name": "odd_diagnostics", "label": k, "params": {"kind": k}} for k in kinds] + [HALF]
    result = run(write_suite(repetitions=1, solvers=solvers, timeout=20))
    assert result.exit_code == 1, result.output
    got = {r["entry"]: r for r in lines(tmp_path / "out")}
    assert metrics(got["tensor"])["clamped"] == 0.25 and metrics(got["numpy"])["clamped"] == 0.25
    assert metrics(got["vector"])["clamped"] == [0.0, 1.0, 2.0]
    assert got["lambda"]["status"] == "invalid"
    assert got["lambda"]["message"] == "diagnostics['clamped'] is of type function, not a number, string, list or mapping"
    assert got["object"]["status"] == "invalid" and "diagnostics['clamped'] is of type object" in got["object"]["message"]
    assert got["toy_half"]["status"] == "ok"
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert {row["label"]: row["status"] for row in board["rows"]}["tensor"] == "ok"


def test_a_record_json_cannot_encode_is_stored_as_an_error_naming_why(tmp_path, capsys):
    store = ResultStore(tmp_path)
    store.append(JobRecord("a/rep0", "k", "cell", "a", 0, status="ok", metrics={"test": {"x": object()}}))
    store.append(JobRecord("b/rep0", "k", "cell", "b", 0, status="ok", metrics={"test": {"x": 1.0}}))
    got = {r.id: r for r in store.records()}
    assert got["a/rep0"].status == "error" and "could not be written as JSON" in got["a/rep0"].message
    assert got["a/rep0"].key == "k" and got["b/rep0"].metrics == {"test": {"x": 1.0}}
    assert "warning: a/rep0: the job's record could not be written" in capsys.readouterr().err


# ------------------------------------------------------------------- 2: .npz content


def test_an_overwritten_instance_file_gives_new_numbers(wrbench, run, write_suite, tmp_path):
    assert wrbench("export", str(write_suite()), "--split", "test", "-o", "test.npz").exit_code == 0
    problem = {"name": "toy", "params": {"dim": 3}, "instances": {"train": 16, "test": "test.npz"}}
    evaluation = {"samples": 3, "params": {"noise": 0.0}}  # toy_half then scores exactly 1 - mean (0.5 - c)^2
    suite = write_suite("file.yaml", repetitions=1, problem=problem, solvers=[HALF], evaluation=evaluation)
    for shift in (0.0, 0.3):
        c = np.clip(np.load(tmp_path / "test.npz")["c"] + shift, 0, 1)
        np.savez(tmp_path / "test.npz", c=c)  # overwritten in place: same path, new content
        assert run(suite).exit_code == 0
        score = metrics(by_id(tmp_path / "out")["toy_half/rep0"])["score"]
        assert score == pytest.approx(1 - np.mean((0.5 - c) ** 2), abs=1e-12)
    registry = load_plugins(("toy_plugin",))
    before = job_keys(read_suite(suite, registry), registry)
    np.savez(tmp_path / "test.npz", c=np.clip(c - 0.1, 0, 1))
    assert changed(before, job_keys(read_suite(suite, registry), registry)) == {"expert/rep0", "toy_half/rep0"}


# -------------------------------------------------------------- 3 + 23: job keys


def rerun_ids(outdir: Path, before: dict[str, dict]) -> set[str]:
    """Jobs whose record was written again since `before` (by their `started` time)."""
    return {i for i, r in by_id(outdir).items() if i not in before or r["started"] != before[i]["started"]}


def job_keys(suite: Suite, registry: Registry) -> dict[str, str]:
    return {job.id: job.key for job in plan(suite, registry)}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Ids of the jobs of `after` whose key is not the one in `before`."""
    return {i for i, key in after.items() if before.get(i) != key}


def changed_keys(suite: Path, *overrides: str) -> set[str]:
    """Ids of the jobs whose key differs between the suite as written and with `overrides`."""
    registry = load_plugins(("toy_plugin",))
    return changed(job_keys(read_suite(suite, registry), registry), job_keys(read_suite(suite, registry, overrides), registry))


EVERY_JOB = {"expert/rep0", "toy_half/rep0", "toy_mean/rep0"}


@pytest.mark.parametrize("overrides, rekeyed", [
    (["rank_by=loss", "timeout=30", "name=renamed", "description=x"], set()),
    (["solvers=[{name: toy_half}, {name: toy_mean}, {name: toy_half, label: half2}]"], {"half2/rep0"}),
    (["solvers=[{name: toy_half}, {name: toy_mean, params: {shrink: 0.5}}]"], {"toy_mean/rep0"}),
    (["solvers=[{name: toy_mean}]"], set()),
    (["seed=1"], EVERY_JOB),
    (["evaluation.params.noise=0.02"], EVERY_JOB),
    (["expert.samples=6"], EVERY_JOB),
    (["problem.params.spread=0.3"], EVERY_JOB),
    (["problem.test_splits={far: {params: {spread: 0.4}, instances: 4}}"], EVERY_JOB),
], ids=["rank_by-timeout-name", "solver-added", "other-solver-params", "solver-removed", "seed", "evaluation",
        "expert-samples", "problem-params", "test-split"])
def test_a_job_key_changes_with_its_own_inputs_only(toy_only, write_suite, overrides, rekeyed):
    assert changed_keys(write_suite(repetitions=1, solvers=[HALF, MEAN]), *overrides) == rekeyed


@pytest.mark.parametrize("component, bumped", [
    (toy_plugin.MeanSolver, {"toy_mean/rep0"}),
    (toy_plugin.Toy, EVERY_JOB),
    (toy_plugin.ToyExpert, EVERY_JOB),
], ids=["solver", "problem", "expert"])
def test_a_component_version_bump_changes_the_keys_that_depend_on_it(toy_only, write_suite, monkeypatch, component, bumped):
    suite = write_suite(repetitions=1, solvers=[HALF, MEAN])
    registry = load_plugins(("toy_plugin",))
    before = job_keys(read_suite(suite, registry), registry)
    monkeypatch.setattr(component, "version", "2")
    assert changed(before, job_keys(read_suite(suite, registry), registry)) == bumped


def test_the_device_is_part_of_every_key(toy_only, write_suite):
    registry = load_plugins(("toy_plugin",))
    suite = read_suite(write_suite(repetitions=1, solvers=[HALF, MEAN]), registry)
    on_cuda = dataclasses.replace(suite, device="cuda")  # validation refuses cuda on a machine without it
    assert changed(job_keys(suite, registry), job_keys(on_cuda, registry)) == EVERY_JOB


def test_resume_after_rank_by_timeout_and_an_added_solver_runs_only_the_new_job(run, write_suite, tmp_path):
    suite, out = write_suite(repetitions=1, solvers=[HALF, MEAN]), tmp_path / "out"
    assert run(suite).exit_code == 0
    before = by_id(out)
    added = {"name": "toy_half", "label": "half2"}
    result = run(suite, "--resume", "--set", "rank_by=loss", "--set", "timeout=30", *solvers_set(HALF, MEAN, added))
    assert result.exit_code == 0, result.output
    assert rerun_ids(out, before) == {"half2/rep0"}


def test_a_learned_solver_added_on_resume_computes_its_expert_samples(run, write_suite, tmp_path):
    suite = write_suite(repetitions=1, solvers=[HALF])  # the expert job makes no training samples
    assert run(suite).exit_code == 0
    before = by_id(tmp_path / "out")
    assert run(suite, "--resume", "--cache-dir", "elsewhere", *solvers_set(HALF, MEAN)).exit_code == 0
    assert rerun_ids(tmp_path / "out", before) == {"toy_mean/rep0"}
    added = by_id(tmp_path / "out")["toy_mean/rep0"]
    assert added["status"] == "ok", added.get("message")
    assert {"exceed_ratio", "expert_seconds_per_network", "speedup"} <= set(metrics(added))  # defect 5
    assert run(suite, *solvers_set(HALF, MEAN), out="fresh").exit_code == 0
    assert metrics(added)["score"] == metrics(by_id(tmp_path / "fresh")["toy_mean/rep0"])["score"]


# ------------------------------------------------------------ 5: missing reference


def test_a_cell_recomputes_a_deleted_reference_and_expert_time(run, write_suite, tmp_path):
    suite, out = write_suite(repetitions=1, solvers=[HALF]), tmp_path / "out"
    assert run(suite).exit_code == 0
    first = metrics(by_id(out)["toy_half/rep0"])
    for kind in ("reference", "expert"):
        for entry in (out / "cache" / kind).glob("*.pt"):
            entry.unlink()
    expert_line = (out / "results.jsonl").read_bytes().splitlines()[0]
    (out / "results.jsonl").write_bytes(expert_line + b"\n")  # the cell as if it never finished
    resumed = run(suite, "--resume")
    assert resumed.exit_code == 0, resumed.output
    again = metrics(by_id(out)["toy_half/rep0"])
    assert again["exceed_ratio"] == first["exceed_ratio"]
    assert again["expert_seconds_per_network"] > 0 and again["speedup"] > 0


# ------------------------------------------------------------------ 4: torn tail


def test_a_torn_last_line_is_quarantined_and_the_next_record_kept(run, write_suite, tmp_path):
    suite = write_suite(repetitions=1, solvers=[HALF, MEAN])
    assert run(suite).exit_code == 0
    results = tmp_path / "out" / "results.jsonl"
    data = results.read_bytes()
    results.write_bytes(data[:-40])  # the last record (toy_mean's) torn mid-write
    resumed = run(suite, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert set(by_id(tmp_path / "out")) == {"expert/rep0", "toy_half/rep0", "toy_mean/rep0"}
    (torn,) = (tmp_path / "out").glob("results.jsonl.torn-*")
    assert torn.read_bytes() == data[data.rstrip(b"\n").rfind(b"\n") + 1:-40]
    assert "the last line was torn" in resumed.stderr and torn.name in resumed.stderr
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert {row["label"]: row["repetitions"] for row in board["rows"]}["toy_mean"] == 1


def test_a_complete_last_record_without_its_newline_is_kept(tmp_path):
    store = ResultStore(tmp_path)
    record = JobRecord("a/rep0", "k", "cell", "a", 0, status="ok")
    store.path.write_text(json.dumps(record.to_json()))
    store.append(JobRecord("b/rep0", "k", "cell", "b", 0, status="ok"))
    assert [r.id for r in store.records()] == ["a/rep0", "b/rep0"]
    assert not list(tmp_path.glob("results.jsonl.torn-*"))


# ------------------------------------------------------------ 11: cache entries


def test_a_state_dict_weights_only_cannot_load_is_not_cached(run, write_suite, tmp_path):
    suite = write_suite(repetitions=1, solvers=[{"name": "numpy_state"}])
    first = run(suite)
    assert first.exit_code == 0, first.output
    record = by_id(tmp_path / "out")["numpy_state/rep0"]
    assert record["status"] == "ok"
    assert "not cached: the model entry cannot be stored for torch.load(weights_only=True)" in record["warnings"][0]
    assert "numpy" in record["warnings"][0] and "numpy_state/rep0: not cached" in first.stderr
    assert not list((tmp_path / "out" / "cache").glob("model/*.pt"))
    second = run(suite)
    assert second.exit_code == 0, second.output
    assert by_id(tmp_path / "out")["numpy_state/rep0"]["status"] == "ok"


def test_an_unreadable_entry_that_cannot_be_replaced_is_dropped(tmp_path):
    cache = Cache(tmp_path)
    path = cache.path("model", "k")
    path.parent.mkdir()
    torch.save({"offset": np.zeros(2)}, path)  # what an earlier wrbench cached without checking
    assert cache.load("model", "k") is None
    assert cache.save("model", "k", {"offset": np.zeros(2)}) is None
    assert not path.exists()
    unreadable, refused = cache.drain_warnings()
    assert unreadable.startswith("cache entry model/k.pt was unreadable (UnpicklingError: ")
    assert refused.endswith("(UnpicklingError: WeightsUnpickler error: Unsupported global: GLOBAL numpy._core.multiarray._reconstruct)")
    assert cache.load("model", "k") is None and cache.drain_warnings() == []


def test_truncated_cache_entries_are_recomputed_and_replaced(run, write_suite, tmp_path):
    suite = write_suite(repetitions=1, solvers=[HALF, MEAN])
    assert run(suite).exit_code == 0
    first = by_id(tmp_path / "out")
    entries = sorted((tmp_path / "out" / "cache").glob("*/*.pt"))
    assert {e.parent.name for e in entries} == {"instances", "expert", "timing", "reference", "model"}
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:50])
    result = run(suite)
    assert result.exit_code == 0, result.output
    again = by_id(tmp_path / "out")
    assert again["toy_mean/rep0"]["fit_cached"] is False
    assert any("was unreadable (RuntimeError" in w for w in again["expert/rep0"]["warnings"])
    for job_id, record in first.items():
        assert metrics(again[job_id])["score"] == metrics(record)["score"]
    for entry in entries:
        torch.load(entry, weights_only=True)  # replaced by a readable entry


# ---------------------------------------------------------- 18: malformed lines


JUNK = [b"42", b'{"foo": 1}', b"\xff\xfe not utf-8", b'{"id": "x/rep0"}', b"[1, 2]", b"null",
        b'{"id": "toy_half/rep0", "key": "k", "kind": "cell", "entry": "toy_half", "rep": 0, "status": "ok", "metrics": {"test": 5}}']


def test_malformed_lines_are_skipped_by_resume_leaderboard_and_collect(wrbench, run, write_suite, tmp_path):
    suite = write_suite(repetitions=1, solvers=[HALF])
    assert run(suite).exit_code == 0
    results = tmp_path / "out" / "results.jsonl"
    good = results.read_bytes().splitlines()
    results.write_bytes(b"\n".join(good[:1] + JUNK + good[1:]) + b"\n")
    board = wrbench("leaderboard", "out", "-q", plugins=PLUGINS)
    assert board.exit_code == 0, board.output
    assert f"skipped {len(JUNK)} malformed line(s)" in board.stderr
    collect = wrbench("collect", str(suite), "-o", "out", plugins=PLUGINS)
    assert collect.exit_code == 0, collect.output
    assert collect.stdout.count("done (ok)") == 2
    resumed = run(suite, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert len(results.read_bytes().splitlines()) == len(good) + len(JUNK)  # nothing was run again

"""The runner: a status for every misbehaving solver, reproducible numbers, crash-safe resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import HERE

from wrbench.report.leaderboard import sweep_points


def records(outdir: Path) -> dict[str, dict]:
    lines = (outdir / "results.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_misbehaving_solvers_each_get_their_status(wrbench, write_suite, tmp_path):
    modes = ["raise", "nan", "shape", "outside", "mutate", "die", "hang"]
    solvers = [{"name": "toy_bad", "label": m, "params": {"mode": m}} for m in modes] + [{"name": "toy_half"}]
    suite = write_suite(repetitions=1, solvers=solvers, timeout=4)
    result = wrbench("run", str(suite), "-o", "out", "-q")
    assert result.exit_code == 1, result.output
    got = {r["entry"]: r for r in records(tmp_path / "out").values()}
    assert got["raise"]["status"] == "error" and "exploded on purpose" in got["raise"]["message"]
    assert "RuntimeError" in (tmp_path / "out" / got["raise"]["log"]).read_text()
    assert got["nan"]["status"] == "invalid" and "NaN" in got["nan"]["message"]
    assert got["shape"]["status"] == "invalid" and "(4, 3, 2)" in got["shape"]["message"]
    assert got["outside"]["status"] == "invalid" and "outside the decision set" in got["outside"]["message"]
    assert got["mutate"]["status"] == "invalid" and "modified its input" in got["mutate"]["message"]
    assert got["die"]["status"] == "error" and "exit code 3" in got["die"]["message"]
    assert got["hang"]["status"] == "timeout"
    assert got["toy_half"]["status"] == "ok"  # ran after the hang killed the worker
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert {row["label"]: row["status"] for row in board["rows"]}["hang"] == "timeout"


def test_unsupported_pair_is_skipped_with_reason(wrbench, write_suite, tmp_path):
    problem = {"name": "toy_noflat", "params": {"dim": 3}, "instances": {"train": 16, "test": 4}}
    suite = write_suite(repetitions=1, problem=problem, solvers=[{"name": "toy_mean"}, {"name": "toy_half"}])
    result = wrbench("run", str(suite), "-o", "out", "-q", plugins=("toy_plugin", "noflat_plugin"))
    got = {r["entry"]: r for r in records(tmp_path / "out").values()}
    assert result.exit_code == 0, result.output
    assert got["toy_mean"]["status"] == "skipped"
    assert "needs the flat view" in got["toy_mean"]["message"]


def test_same_seed_gives_identical_numbers(wrbench, write_suite, tmp_path):
    suite = write_suite()
    assert wrbench("run", str(suite), "-o", "a", "-q").exit_code == 0
    assert wrbench("run", str(suite), "-o", "b", "-q", "--cache-dir", "other-cache").exit_code == 0
    a = json.loads((tmp_path / "a" / "leaderboard.json").read_text())["rows"]
    b = json.loads((tmp_path / "b" / "leaderboard.json").read_text())["rows"]
    keep = lambda rows: [{k: v for k, v in r.items() if "seconds" not in k and not k.startswith("speedup")} for r in rows]  # noqa: E731
    assert keep(a) == keep(b)
    changed = wrbench("run", str(suite), "-o", "c", "-q", "--set", "seed=1")
    c = json.loads((tmp_path / "c" / "leaderboard.json").read_text())["rows"]
    assert changed.exit_code == 0 and keep(c) != keep(a)


def test_every_leaderboard_format_renders_and_rerenders(wrbench, write_suite, tmp_path):
    suite = write_suite()
    result = wrbench("run", str(suite), "-o", "out", "--save-samples")
    assert result.exit_code == 0
    out = tmp_path / "out"
    board = json.loads((out / "leaderboard.json").read_text())
    row = next(r for r in board["rows"] if r["label"] == "toy_half")
    assert {"solver", "status", "exceed_ratio", "exceed_ratio_std", "score", "sample_seconds_per_network"} <= set(row)
    assert board["meta"]["suite"] == "toy" and board["meta"]["torch_version"]
    assert "| toy_half | ok |" in (out / "leaderboard.md").read_text()
    assert "<table class='sortable'>" in (out / "leaderboard.html").read_text()
    assert "toy_half" in (out / "leaderboard.csv").read_text()
    assert (out / "plots" / "test_score_cdf.png").stat().st_size > 1000
    samples = np.load(out / "samples" / "toy_half.npz")["x"]
    assert samples.shape == (4, 3, 3)
    assert np.load(out / "samples" / "expert.npz")["x"].shape == (4, 3, 3)
    (out / "leaderboard.md").unlink()
    rerender = wrbench("leaderboard", str(out), "--publish")
    assert rerender.exit_code == 0 and (out / "leaderboard.md").exists()
    assert (tmp_path / "leaderboard" / "toy" / "leaderboard.json").exists()


def test_export_then_load_instances_from_file(wrbench, write_suite, tmp_path):
    suite = write_suite()
    assert wrbench("export", str(suite), "--split", "test", "-o", "test.npz").exit_code == 0
    exported = np.load(tmp_path / "test.npz")["c"]
    assert exported.shape == (4, 3)
    from_file = write_suite("file.yaml", problem={"name": "toy", "params": {"dim": 3}, "instances": {"train": 16, "test": "test.npz"}})
    assert wrbench("run", str(from_file), "-o", "out", "-q", "--save-samples").exit_code == 0
    assert np.allclose(np.load(tmp_path / "out" / "samples" / "expert.npz")["x"][:, 0], exported, atol=0.05)
    bad = wrbench("export", str(suite), "--split", "nope", "-o", "x.npz")
    assert bad.exit_code == 2 and "no split 'nope'" in bad.output


def test_kill_minus_9_then_resume_redoes_nothing_finished(toy_only, write_suite, tmp_path):
    solvers = [{"name": "toy_slow", "label": f"slow{i}", "params": {"seconds": 1.0}} for i in range(4)]
    suite = write_suite(repetitions=1, solvers=solvers)
    cmd = [sys.executable, "-m", "wrbench.cli", "run", "-p", "toy_plugin", str(suite), "-o", str(tmp_path / "out"), "-q"]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True)
    results = tmp_path / "out" / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (results.exists() and len(results.read_text().splitlines()) >= 3):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = records(tmp_path / "out")
    assert 3 <= len(before) < 5, "the run should have been killed mid-way"
    resumed = subprocess.run(cmd + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    after = records(tmp_path / "out")
    assert set(after) == {"expert/rep0", *(f"slow{i}/rep0" for i in range(4))}
    for job_id, record in before.items():
        assert after[job_id]["finished"] == record["finished"], f"{job_id} was run again"
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 5


def test_sweep_makes_one_test_split_per_value_with_a_plot(wrbench, write_suite, tmp_path):
    problem = {"name": "toy", "params": {"dim": 3}, "instances": {"train": 16, "test": 4},
               "sweep": {"param": "spread", "values": [0.1, 0.4], "instances": 4, "plot": ["score", "loss"]}}
    suite = write_suite(repetitions=1, problem=problem)
    assert wrbench("run", str(suite), "-o", "out", "-q").exit_code == 0
    rows = json.loads((tmp_path / "out" / "leaderboard.json").read_text())["rows"]
    assert {r["split"] for r in rows} == {"test", "spread=0.1", "spread=0.4"}
    half = {r["split"]: r["loss"] for r in rows if r["label"] == "toy_half"}
    assert half["spread=0.4"] > half["spread=0.1"]  # targets further from 0.5 cost the constant policy more
    assert (tmp_path / "out" / "plots" / "sweep_spread.png").stat().st_size > 1000


def test_sweep_plot_takes_in_the_test_split_that_differs_only_in_the_swept_parameter():
    splits = [
        {"name": "train", "role": "train", "params": {"n": 30, "density": 8.0}},
        {"name": "test", "role": "test", "params": {"n": 30, "density": 8.0}},
        {"name": "dense", "role": "test", "params": {"n": 120, "density": 11.9}},
        {"name": "n=120", "role": "test", "params": {"n": 120, "density": 8.0}, "sweep": "n"},
        {"name": "n=60", "role": "test", "params": {"n": 60, "density": 8.0}, "sweep": "n"},
    ]
    assert sweep_points(splits) == {"n": [("test", 30), ("n=60", 60), ("n=120", 120)]}


def test_sampling_only_parameters_reuse_one_fit(wrbench, write_suite, tmp_path):
    solvers = [{"name": "toy_mean", "label": "full"}, {"name": "toy_mean", "label": "shrunk", "params": {"shrink": -5.0}}]
    suite = write_suite(repetitions=1, solvers=solvers)
    assert wrbench("run", str(suite), "-o", "out", "-q").exit_code == 0
    got = {r["entry"]: r for r in records(tmp_path / "out").values()}
    assert got["full"]["fit_cached"] is False and got["shrunk"]["fit_cached"] is True
    score = {label: got[label]["metrics"]["test"]["score"] for label in ("full", "shrunk")}
    assert score["shrunk"] < score["full"]  # the cached fit is sampled with the cell's own parameter

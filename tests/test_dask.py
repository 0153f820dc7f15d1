"""The Dask executor: same numbers as the local one, and a worker killed mid-run costs nothing finished."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from conftest import HERE

distributed = pytest.importorskip("distributed")


def numbers(outdir):
    rows = json.loads((outdir / "leaderboard.json").read_text())["rows"]
    return [{k: v for k, v in r.items() if "seconds" not in k and not k.startswith("speedup")} for r in rows]


@pytest.fixture
def cluster_env(wrbench, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    return wrbench


def test_dask_gives_the_local_numbers(cluster_env, write_suite, tmp_path):
    suite = write_suite()
    assert cluster_env("run", str(suite), "-o", "local", "-q").exit_code == 0
    result = cluster_env("run", str(suite), "-o", "dask", "-q", "--executor", "dask", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert numbers(tmp_path / "dask") == numbers(tmp_path / "local")


def test_a_killed_worker_is_retried_and_every_cell_is_accounted_for(cluster_env, write_suite, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    from wrbench.core.plugins import load_plugins
    from wrbench.run.dask_executor import DaskExecutor
    from wrbench.run.loop import run_suite
    from wrbench.run.suite import read_suite

    solvers = [{"name": "toy_slow", "label": f"slow{i}", "params": {"seconds": 2.0}} for i in range(4)]
    path = write_suite(repetitions=1, solvers=solvers)
    registry = load_plugins(["toy_plugin"])
    suite = read_suite(path, registry)
    with dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    results = tmp_path / "out" / "results.jsonl"
    killed = []

    def kill_one_worker_mid_run():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 1:  # the expert is done, cells run
                time.sleep(1.0)
                pid = next(iter(client.run(os.getpid).values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_worker_mid_run)
    killer.start()
    try:
        summary = run_suite(suite, registry, tmp_path / "out", quiet=True, executor=DaskExecutor(cluster.scheduler_address))
    finally:
        killer.join()
        client.close()
        cluster.close()
    assert killed, "no worker was killed"
    ids = sorted(r.id for r in summary.records)
    assert ids == ["expert/rep0", "slow0/rep0", "slow1/rep0", "slow2/rep0", "slow3/rep0"]
    assert all(r.status in ("ok", "error") for r in summary.records)
    assert sum(r.status == "ok" for r in summary.records) >= 4
    stored = [json.loads(line)["id"] for line in results.read_text().splitlines()]
    assert sorted(stored) == ids


def test_missing_dask_gives_a_clear_message(monkeypatch):
    import builtins

    from wrbench.run.dask_executor import DaskExecutor

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name in ("dask", "distributed"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(RuntimeError, match=r"pip install 'wrbench\[dask\]'"):
        DaskExecutor()

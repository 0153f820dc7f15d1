"""Run a suite's jobs on a Dask cluster (`wrbench run SUITE --executor dask`).

The job is the unit of work. Each Dask task runs its job through the same
`IsolatedWorker` as the local executor (a child process of the Dask worker),
so per-job timeouts hold there too, and the harness process writes each record
as its future completes, so nothing finished is lost.

Artifacts (instances, expert samples, fitted models) travel through the cache
folder, which must be on a filesystem every worker can read and write (NFS,
Lustre, a shared home). The scheduler is not used to move them: fitted models
and expert samples can be large, and a shared cache also lets `--resume` and
later runs reuse them.

A worker that dies mid-job costs one retry (scheduler `allowed-failures: 1`);
a second death ends the job with status `error`.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any, Iterator, Sequence

from wrbench.run.executor import IsolatedWorker, WorkerSetup
from wrbench.run.plan import Job
from wrbench.run.record import ERROR, JobRecord

MISSING = (
    "the dask executor needs dask.distributed: install it with `pip install 'wrbench[dask]'` "
    "(or `pip install 'dask[distributed]'`)"
)

_WORKERS: dict[tuple[str, float], IsolatedWorker] = {}


def _run_job(setup: WorkerSetup, job: Job, timeout: float) -> JobRecord:
    """Task body on a Dask worker: reuse one isolated child process per (run, timeout)."""
    key = (setup.outdir + setup.cache_dir, timeout)
    worker = _WORKERS.get(key)
    if worker is None:
        worker = _WORKERS[key] = IsolatedWorker(setup, timeout)
    record = worker.run(job, lambda *args: None)
    record.worker = f"{os.uname().nodename}:{os.getpid()}"
    return record


class DaskExecutor:
    """Submits jobs to an existing scheduler (`scheduler`) or to a local cluster of `workers` processes."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, gpu: bool = False):
        try:
            import dask  # noqa: F401
            import distributed  # noqa: F401
        except ImportError:
            raise RuntimeError(MISSING) from None
        self.scheduler, self.workers, self.gpu = scheduler, workers or 2, gpu

    @contextlib.contextmanager
    def session(self, setup: WorkerSetup, timeout: float) -> Iterator["DaskSession"]:
        import dask
        from distributed import Client, LocalCluster

        # workers start child processes for timeouts, so they must not be daemons;
        # a job whose worker dies is retried once, then reported as an error
        with dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 1}):
            if self.scheduler:
                with Client(self.scheduler) as client:
                    yield DaskSession(client, setup, timeout, self.gpu)
            else:
                resources = {"GPU": 1} if self.gpu else None
                with LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, resources=resources) as cluster, Client(cluster) as client:
                    yield DaskSession(client, setup, timeout, self.gpu)


class DaskSession:
    def __init__(self, client: Any, setup: WorkerSetup, timeout: float, gpu: bool):
        self.client, self.setup, self.timeout, self.gpu = client, setup, timeout, gpu

    def run_many(self, jobs: Sequence[Job], display: Any) -> Iterator[tuple[Job, JobRecord]]:
        from distributed import as_completed

        if not jobs:
            return
        resources = {"GPU": 1} if self.gpu else None
        futures = {}
        for job in jobs:
            display.start(job)
            future = self.client.submit(_run_job, self.setup, job, self.timeout,
                                        key=f"wrbench-{job.id}-{uuid.uuid4().hex[:8]}", resources=resources)
            futures[future] = job
        for future in as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker and friends become a status
                record = JobRecord.failure(job, ERROR, f"dask worker failed twice ({type(exc).__name__}: {exc})")
            yield job, record

"""Executors run jobs away from the harness process, so a timeout holds even if a solver never returns.

An `Executor` opens a session for a run; the session's `run_many` yields
(job, record) pairs as jobs finish, in any order. `LocalExecutor` keeps one
spawned worker process that runs jobs in order (`IsolatedWorker`); a job that
overruns its timeout, or a worker that dies, costs only that job: the worker
is killed and a fresh one starts for the next job. The Dask executor
(`wrbench.dask_executor`) runs the same `IsolatedWorker` on cluster workers.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Protocol, Sequence

import torch

from .cache import Cache
from .plugins import load_plugins
from .suite import Suite
from .work import Job, Workbench

STARTUP_ALLOWANCE = 120.0  # seconds a fresh worker may take to import torch and the plugins

Progress = Callable[[str, str, float, float | None, dict], None]


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs to rebuild the harness state (all picklable)."""

    suite: dict[str, Any]
    plugin_modules: tuple[str, ...]
    outdir: str
    cache_dir: str
    save_samples: bool
    threads: int | None = None

    def workbench(self) -> Workbench:
        registry = load_plugins(self.plugin_modules)
        return Workbench(Suite.from_dict(self.suite), registry, Path(self.outdir), Cache(self.cache_dir), self.save_samples)


def _worker_main(setup: WorkerSetup, jobs: mp.Queue, messages: mp.Queue) -> None:
    parent = os.getppid()
    if setup.threads:
        torch.set_num_threads(setup.threads)
    bench = setup.workbench()
    while True:
        try:
            job = jobs.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the harness was killed: do not linger
                return
            continue
        if job is None:
            return
        messages.put(("started", job.id))

        def report(stage: str, done: float = 0, total: float | None = None, _id: str = job.id, **info: Any) -> None:
            messages.put(("progress", _id, stage, done, total, info))

        messages.put(("result", job.id, bench.run(job, report)))


class Executor(Protocol):
    def session(self, setup: WorkerSetup, timeout: float) -> ContextManager["Session"]:
        """Resources (processes, a cluster client) for one run."""


class Session(Protocol):
    def run_many(self, jobs: Sequence[Job], display: Any) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Run `jobs`, yielding each with its record as it finishes."""


class LocalExecutor:
    """Runs jobs one after another in one worker process on this machine."""

    @contextlib.contextmanager
    def session(self, setup: WorkerSetup, timeout: float) -> Iterator["LocalSession"]:
        with IsolatedWorker(setup, timeout) as worker:
            yield LocalSession(worker)


@dataclass
class LocalSession:
    worker: "IsolatedWorker"

    def run_many(self, jobs: Sequence[Job], display: Any) -> Iterator[tuple[Job, dict[str, Any]]]:
        for job in jobs:
            display.start(job)
            yield job, self.worker.run(job, display.progress)


class IsolatedWorker:
    """Runs jobs one at a time in a spawned child process, with a per-job timeout."""

    def __init__(self, setup: WorkerSetup, timeout: float):
        self.setup, self.timeout = setup, timeout
        self._ctx = mp.get_context("spawn")
        self._process: mp.process.BaseProcess | None = None

    def __enter__(self) -> "IsolatedWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self._jobs, self._messages = self._ctx.Queue(), self._ctx.Queue()
        self._process = self._ctx.Process(target=_worker_main, args=(self.setup, self._jobs, self._messages), daemon=True)
        self._process.start()

    def run(self, job: Job, on_progress: Progress) -> dict[str, Any]:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._jobs.put(job)
        deadline = time.monotonic() + self.timeout + STARTUP_ALLOWANCE
        while True:
            try:
                message = self._messages.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() > deadline:
                    self._kill()
                    return failure(job, "timeout", f"no result after {self.timeout:g} s (the worker was killed)")
                if not self._process.is_alive():
                    code = self._process.exitcode
                    self._process = None
                    return failure(job, "error", f"worker process died (exit code {code})")
                continue
            kind, job_id, *rest = message
            if job_id != job.id:
                continue
            if kind == "result":
                return rest[0]
            if kind == "started":
                deadline = time.monotonic() + self.timeout
                continue
            stage, done, total, info = rest
            on_progress(job.id, stage, done, total, info)

    def _kill(self) -> None:
        if self._process is not None and self._process.pid is not None:
            self._process.kill()
            self._process.join(5)
        self._process = None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._jobs.put(None)
            self._process.join(10)
        self._kill()


def failure(job: Job, status: str, message: str) -> dict[str, Any]:
    """The record of a job that produced no result of its own."""
    return {"id": job.id, "key": job.key, "kind": job.kind, "label": job.label, "rep": job.rep, "status": status, "message": message}

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
import ctypes
import multiprocessing as mp
import os
import pickle
import queue
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Protocol, Sequence

import numpy as np
import torch

from wrbench.core.fsio import safe_name
from wrbench.core.plugins import load_plugins
from wrbench.run.cache import Cache
from wrbench.run.plan import Job
from wrbench.run.record import ERROR, TIMEOUT, JobRecord
from wrbench.run.stages import Workbench
from wrbench.run.suite import Suite

STARTUP_ALLOWANCE = 120.0  # seconds a fresh worker may take to import torch and the plugins
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL = 0.5  # seconds between checks that the harness is still alive

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

    def output_path(self, job: Job) -> Path:
        """Where a job's prints go, next to its traceback log."""
        return Path(self.outdir) / "logs" / f"{safe_name(job.entry)}.rep{job.rep}.out"


@dataclass
class GlobalState:
    """Process-wide settings a plugin may change, restored before each job so no job changes another's numbers."""

    dtype: torch.dtype
    device: torch.device
    grad: bool
    anomaly: bool
    threads: int
    deterministic: tuple[bool, bool]  # (enabled, warn only)
    matmul_precision: str
    cudnn: tuple[bool, bool, bool]
    torch_rng: torch.Tensor
    numpy_rng: tuple
    python_rng: tuple

    @classmethod
    def capture(cls) -> "GlobalState":
        cudnn = torch.backends.cudnn
        return cls(torch.get_default_dtype(), torch.get_default_device(), torch.is_grad_enabled(),
                   torch.is_anomaly_enabled(), torch.get_num_threads(), _deterministic_mode(),
                   torch.get_float32_matmul_precision(), (cudnn.enabled, cudnn.benchmark, cudnn.deterministic),
                   torch.get_rng_state(), np.random.get_state(), random.getstate())

    def restore(self) -> None:
        torch.set_default_dtype(self.dtype)
        if torch.get_default_device() != self.device:
            torch.set_default_device(None if self.device.type == "cpu" else self.device)
        torch.set_grad_enabled(self.grad)
        torch.set_anomaly_enabled(self.anomaly)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        if _deterministic_mode() != self.deterministic:  # only when changed: its first call takes seconds
            torch.use_deterministic_algorithms(self.deterministic[0], warn_only=self.deterministic[1])
        torch.set_float32_matmul_precision(self.matmul_precision)
        cudnn = torch.backends.cudnn
        cudnn.enabled, cudnn.benchmark, cudnn.deterministic = self.cudnn
        torch.set_rng_state(self.torch_rng)
        if torch.cuda.is_initialized():  # CUDA starts after the snapshot: reseed it the same way for every job
            torch.cuda.manual_seed_all(torch.initial_seed())
        np.random.set_state(self.numpy_rng)
        random.setstate(self.python_rng)


def _deterministic_mode() -> tuple[bool, bool]:
    return torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the harness does, kill -9 included, even while a job hangs.

    PR_SET_PDEATHSIG fires when the thread that started the worker ends; IsolatedWorker then starts a fresh worker
    for its next job (a Dask task thread that ends, say)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the harness died before the kernel was told to kill us with it
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="wrbench-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """Portable fallback for PR_SET_PDEATHSIG: poll for the harness being gone (runs while a job sleeps)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


@contextlib.contextmanager
def _captured_output(path: Path) -> Iterator[Path]:
    """Send everything written to stdout and stderr, C code included, to `path` instead of the console."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in (1, 2)]
    try:
        with open(path, "wb") as sink:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            try:
                yield path
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def _worker_main(setup: WorkerSetup, jobs: mp.Queue, messages: mp.Queue, parent: int) -> None:
    """Run jobs from `jobs` until None, each from the same global state, sending progress and records to `messages`."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the harness's to handle: it kills this worker
    if setup.threads:
        torch.set_num_threads(setup.threads)
    initial = GlobalState.capture()
    bench = setup.workbench()
    while (job := jobs.get()) is not None:
        initial.restore()
        messages.put(("started", job.id))

        def report(stage: str, done: float = 0, total: float | None = None, _id: str = job.id, **info: Any) -> None:
            messages.put(("progress", _id, stage, done, total, info))

        with _captured_output(setup.output_path(job)) as output:
            record = bench.run(job, report)
        if output.stat().st_size:
            record.output = str(output.relative_to(setup.outdir))
        else:
            output.unlink()
        messages.put(("result", job.id, _sendable(job, record)))


def _sendable(job: Job, record: JobRecord) -> JobRecord:
    """The record, or an error record if it cannot be pickled (mp.Queue would drop it silently: a false timeout)."""
    try:
        pickle.dumps(record)
    except Exception as exc:  # noqa: BLE001 - pickling can fail in many ways (PicklingError, TypeError, AttributeError)
        where = _unpicklable_key(record.to_json()) or "the record"
        failed = JobRecord.failure(job, ERROR, f"{where} cannot be sent to the harness: {type(exc).__name__}: {exc}")
        failed.started, failed.finished, failed.log = record.started, record.finished, record.log
        return failed
    return record


def _unpicklable_key(value: Any, path: str = "") -> str | None:
    """The dotted path of the first value that cannot be pickled, for the error message."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unpicklable_key(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001
        return path or None
    return None


class Executor(Protocol):
    def session(self, setup: WorkerSetup, timeout: float) -> ContextManager["Session"]:
        """Resources (processes, a cluster client) for one run."""


class Session(Protocol):
    def run_many(self, jobs: Sequence[Job], display: Any) -> Iterator[tuple[Job, JobRecord]]:
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

    def run_many(self, jobs: Sequence[Job], display: Any) -> Iterator[tuple[Job, JobRecord]]:
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

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:  # interrupted (Ctrl-C, SIGTERM) or failing: do not wait for the job in flight
            self._kill()

    def _start(self) -> None:
        self._jobs, self._messages = self._ctx.Queue(), self._ctx.Queue()
        self._process = self._ctx.Process(target=_worker_main, args=(self.setup, self._jobs, self._messages, os.getpid()),
                                          daemon=True)
        self._process.start()

    def run(self, job: Job, on_progress: Progress) -> JobRecord:
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
                    return JobRecord.failure(job, TIMEOUT, f"no result after {self.timeout:g} s (the worker was killed)")
                if not self._process.is_alive():
                    code = self._process.exitcode
                    self._process = None
                    return JobRecord.failure(job, ERROR, f"worker process died (exit code {code})")
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


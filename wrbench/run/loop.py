"""Runs a suite: plans jobs, skips finished ones on resume, executes, records, renders.

Records are appended as each job ends, so an interrupted run loses at most the
job in flight and `--resume` picks up where it stopped.
"""
from __future__ import annotations

import datetime as dt
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from wrbench import __version__
from wrbench.core.errors import warn
from wrbench.core.fsio import write_json
from wrbench.core.lock import folder_lock
from wrbench.core.machine import fingerprint, git_commit
from wrbench.core.plugins import Registry
from wrbench.core.provenance import component_provenance
from wrbench.run.executor import Executor, LocalExecutor, WorkerSetup
from wrbench.run.plan import CELL, EXPERT, Job, plan
from wrbench.run.progress import Display
from wrbench.run.record import ERROR, HARNESS_DEFINITIONS, OK, OPTIMALITY_GAP, JobRecord
from wrbench.run.store import ResultStore
from wrbench.run.suite import Suite


@dataclass
class RunSummary:
    records: list[JobRecord] = field(default_factory=list)
    reused: int = 0

    @property
    def failed(self) -> list[JobRecord]:
        return [r for r in self.records if r.failed]


def run_suite(
    suite: Suite,
    registry: Registry,
    outdir: Path,
    *,
    resume: bool = False,
    save_samples: bool = False,
    quiet: bool = False,
    cache_dir: Path | None = None,
    executor: Executor | None = None,
    threads: int | None = None,
) -> RunSummary:
    """Run every job not already finished; experts of all repetitions first, then the solver cells."""
    outdir.mkdir(parents=True, exist_ok=True)
    with folder_lock(outdir):  # one run at a time per output folder
        store = ResultStore(outdir)
        if not resume:
            store.start_fresh()
        finished = store.finished() if resume else {}
        write_json(outdir / "suite.json", suite.as_dict())
        write_json(outdir / "meta.json", run_meta(suite, registry))
        setup = WorkerSetup(
            suite=suite.as_dict(),
            plugin_modules=registry.modules,
            outdir=str(outdir),
            cache_dir=str(cache_dir or outdir / "cache"),
            save_samples=save_samples,
            threads=threads,
        )
        summary = RunSummary()
        jobs = plan(suite, registry)
        experts: dict[int, JobRecord] = {}
        executor = executor or LocalExecutor()
        with Display(len(jobs), quiet=quiet) as display, executor.session(setup, suite.timeout) as session:
            for phase in (EXPERT, CELL):
                todo = []
                for job in (j for j in jobs if j.kind == phase):
                    done = finished.get(job.id)
                    blocked = _blocked_by_expert(job, suite, registry, experts)
                    if done is not None and done.key == job.key:
                        summary.reused += 1
                        display.reused(job)
                        _keep(summary, experts, job, done)
                    elif blocked is not None:
                        display.start(job)
                        store.append(blocked)
                        display.finish(job, blocked)
                        _keep(summary, experts, job, blocked)
                    else:
                        todo.append(job)
                for job, record in session.run_many(todo, display):
                    store.append(record)
                    display.finish(job, record)
                    for text in record.warnings:  # an unreadable or uncacheable cache entry
                        warn(f"{job.id}: {text}")
                    _keep(summary, experts, job, record)
        return summary


def _keep(summary: RunSummary, experts: dict[int, JobRecord], job: Job, record: JobRecord) -> None:
    summary.records.append(record)
    if job.kind == EXPERT:
        experts[job.rep] = record


def _blocked_by_expert(job: Job, suite: Suite, registry: Registry, experts: dict[int, JobRecord]) -> JobRecord | None:
    """A solver that learns from the expert cannot run when the expert failed for its repetition."""
    expert = experts.get(job.rep)
    if job.kind != CELL or expert is None or expert.status == OK:
        return None
    cls = registry.solver_class(suite.solver(job.entry).name, suite.problem.name)
    if cls is None or not cls.needs_expert:
        return None
    return JobRecord.failure(job, ERROR, f"expert failed ({expert.status}): {expert.message}")


def ranking_meta(suite: Suite, problem_cls: type) -> dict[str, Any]:
    """The board's ranking rule: one metric where the suite sets `rank_by` or the problem has no objective, else
    the problem's objective and constraint metric under the suite's (or the problem's) tolerance."""
    if suite.rank_by or not problem_cls.objective:
        metric = suite.rank_by or problem_cls.primary_metric
        return {"objective": metric, "higher_is_better": metric not in problem_cls.lower_is_better}
    tolerance = problem_cls.constraint_tolerance if suite.qos_tolerance is None else suite.qos_tolerance
    return {"objective": problem_cls.objective, "higher_is_better": problem_cls.objective not in problem_cls.lower_is_better,
            "constraint": problem_cls.constraint_metric or None, "tolerance": float(tolerance)}


def component_sources(suite: Suite, registry: Registry) -> dict[str, dict[str, Any]]:
    """Per suite entry (the expert and each solver label), where its component's code comes from."""
    problem = suite.problem.name
    rows = {EXPERT: registry.get("expert", suite.expert.name, problem)}
    rows.update({spec.label: registry.policy_class(spec.name, problem) for spec in suite.solvers})
    return {label: component_provenance(registry, cls) for label, cls in rows.items()}


def run_meta(suite: Suite, registry: Registry) -> dict[str, Any]:
    """Provenance written next to the results: versions, hardware, commit, suite hash, command."""
    problem_cls = registry.get("problem", suite.problem.name)
    return {
        "suite": suite.name,
        "suite_file": suite.path,
        "suite_hash": suite.digest(),
        "rank_by": suite.rank_by,
        "ranking": ranking_meta(suite, problem_cls),
        "repetitions": suite.repetitions,
        "lower_is_better": sorted({*problem_cls.lower_is_better, OPTIMALITY_GAP}),
        "quantile_metrics": {m: list(v) for m, v in problem_cls.quantile_metrics.items()},
        "profile_metrics": list(problem_cls.profile_metrics),
        "profile_marker": list(problem_cls.profile_marker) if problem_cls.profile_marker else None,
        "note": problem_cls.leaderboard_note,
        "headline_metrics": list(problem_cls.headline_metrics),
        "metric_definitions": {**HARNESS_DEFINITIONS, **problem_cls.metric_definitions},
        "components": component_sources(suite, registry),
        "wrbench_version": __version__,
        "plugins": {r.name: {"distribution": r.distribution, "version": r.version, "status": r.status} for r in registry.records},
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        **fingerprint(suite.device),
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["wrbench", *sys.argv[1:]]),
    }

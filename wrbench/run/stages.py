"""The stages of one job: instances, expert samples, fit, sample, evaluate.

A `Workbench` runs inside an executor's worker process. It rebuilds components
from the validated suite, reads and fills the cache, and returns a JSON-able
record for the result store. Every random stream derives from the suite seed,
the repetition and the stage (`derive_seed`), never from run order.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from wrbench.core.api import Context, Evaluation, Instances, Problem, Solver
from wrbench.core.checks import CellInvalid, check_samples
from wrbench.core.clock import measure, timed
from wrbench.core.errors import one_line
from wrbench.core.fsio import artifact_name, safe_name
from wrbench.core.params import resolve
from wrbench.core.plugins import Registry
from wrbench.run.artifacts import Cache, cache_key, file_digest
from wrbench.run.suite import EXPERT_JOB_LABEL, ComponentSpec, SplitSpec, Suite

Report = Callable[..., None]
MAX_DIAGNOSTIC_VALUES = 1000  # a larger array in a solver's diagnostics does not belong in results.jsonl


@dataclass(frozen=True)
class Job:
    """One unit of work: the expert for a repetition, or one solver for a repetition."""

    kind: str
    rep: int
    label: str
    key: str

    @property
    def id(self) -> str:
        return f"{self.label}/rep{self.rep}"


def plan(suite: Suite, registry: Registry) -> list[Job]:
    """Jobs in run order: per repetition, the expert first, then each solver.

    A job's key hashes its own inputs only, so `--resume` keeps a finished job unless one of them
    changed: not for `rank_by`, `timeout`, the suite's name, nor for adding or changing another solver.
    """
    shared = job_inputs(suite, registry)
    jobs = []
    for rep in range(suite.repetitions):
        jobs.append(Job("expert", rep, EXPERT_JOB_LABEL, cache_key("expert", rep, shared)))
        for spec in suite.solvers:
            solver = _component_inputs(spec, _solver_class(registry, spec.name, suite.problem.name))
            jobs.append(Job("cell", rep, spec.label, cache_key("cell", rep, shared, solver)))
    return jobs


def job_inputs(suite: Suite, registry: Registry) -> dict[str, Any]:
    """What every job of `suite` depends on: seed, device, problem and splits (files by content), expert, evaluation."""
    problem_cls = registry.get("problem", suite.problem.name)
    expert_cls = registry.get("expert", suite.expert.name, suite.problem.name)
    return {
        "seed": suite.seed,
        "device": suite.device,
        "problem": {**_component_inputs(suite.problem, problem_cls), "splits": [_split_inputs(s) for s in suite.splits]},
        "expert": {**_component_inputs(suite.expert, expert_cls), "samples": suite.expert_samples},
        "evaluation": {"samples": suite.eval_samples, "params": suite.eval_params},
    }


def _component_inputs(spec: ComponentSpec, cls: type) -> dict[str, Any]:
    return {"name": spec.name, "version": str(cls.version), "params": spec.params}


def _solver_class(registry: Registry, name: str, problem: str) -> type:
    """The class behind a suite's solver entry: a solver, or an expert listed as a solver."""
    return registry.solver_class(name, problem) or registry.get("expert", name, problem)


def _split_inputs(split: SplitSpec) -> dict[str, Any]:
    inputs = asdict(split)
    inputs["instances"] = instances_source(split)
    return inputs


def instances_source(split: SplitSpec) -> int | dict[str, str]:
    """A split's instance count, or the content hash of its .npz file (an overwritten file gives new instances)."""
    return {"sha256": file_digest(split.instances)} if isinstance(split.instances, str) else split.instances


class Workbench:
    def __init__(self, suite: Suite, registry: Registry, outdir: Path, cache: Cache, save_samples: bool = False):
        self.suite, self.registry, self.outdir, self.cache = suite, registry, Path(outdir), cache
        self.save_samples = save_samples
        self._problems: dict[str, Problem] = {}

    # ------------------------------------------------------------ components

    def problem(self, split: SplitSpec) -> Problem:
        if split.name not in self._problems:
            self._problems[split.name] = self.registry.get("problem", self.suite.problem.name)(split.params)
        return self._problems[split.name]

    def expert(self):
        return self.expert_class()(self.suite.expert.params)

    def expert_class(self) -> type:
        """The suite's expert, the variant for the suite's problem where its name has several."""
        return self.registry.get("expert", self.suite.expert.name, self.suite.problem.name)

    def eval_context(self, rep: int, split: SplitSpec) -> Context:
        """Shared by every policy on a split: common random numbers."""
        return Context(self._seed("evaluate", rep, split.name), self.suite.device)

    def _seed(self, *parts: Any) -> int:
        return Context(self.suite.seed).child(*parts).seed

    # --------------------------------------------------------------- stages

    def instances(self, rep: int, split: SplitSpec) -> Instances:
        problem = self.problem(split)
        key = self._instances_key(rep, split)
        seed = self._seed("instances", rep, split.name)
        stored = self.cache.load("instances", key)
        if stored is None:
            if isinstance(split.instances, str):
                with np.load(split.instances, allow_pickle=False) as data:
                    instances = problem.load_instances({k: data[k] for k in data.files})
            else:
                instances = problem.make_instances(split.name, split.instances, seed)
            self.cache.save("instances", key, {"arrays": instances.arrays, "attrs": instances.attrs})
            return instances
        return Instances(stored["arrays"], stored["attrs"])

    def _instances_key(self, rep: int, split: SplitSpec) -> str:
        problem = self.problem(split)
        seed = self._seed("instances", rep, split.name)
        return cache_key("instances", problem.name, problem.version, split.params, instances_source(split), seed)

    def _expert_key(self, rep: int, split: SplitSpec, n_samples: int) -> str:
        e = self.suite.expert
        return cache_key("expert", e.name, self.expert_class().version, e.params, n_samples,
                         self._instances_key(rep, split), self._seed("expert", rep, split.name), self.suite.device)

    def _reference_key(self, rep: int, split: SplitSpec) -> str:
        return cache_key("reference", self._expert_key(rep, split, self.suite.eval_samples), self.suite.eval_params)

    def expert_samples(self, rep: int, split: SplitSpec, n_samples: int, report: Report) -> tuple[torch.Tensor, float]:
        """(samples (B, S, D), expert seconds per instance), computed once and cached."""
        key = self._expert_key(rep, split, n_samples)
        stored = self.cache.load("expert", key)
        if stored is not None:
            return stored["samples"], stored["seconds_per_instance"]
        problem, instances = self.problem(split), self.instances(rep, split)
        ctx = Context(self._seed("expert", rep, split.name), self.suite.device, report)
        report(f"expert {split.name}", 0, 1)
        samples, seconds = timed(lambda: self.expert().solve(problem, instances.to(ctx.device), n_samples, ctx), ctx.device)
        samples = samples.detach().cpu()
        check_samples(problem, instances, samples, n_samples, "expert")
        per_instance = seconds / max(len(instances), 1)
        self.cache.save("expert", key, {"samples": samples, "seconds_per_instance": per_instance})
        return samples, per_instance

    def reference(self, rep: int, split: SplitSpec, report: Report) -> Evaluation:
        """The expert's evaluation on a split, the reference for ratios; recomputed (same seeds) when not cached."""
        key = self._reference_key(rep, split)
        stored = self.cache.load("reference", key)
        if stored is not None:
            return _evaluation_from_storage(stored)
        samples, _ = self.expert_samples(rep, split, self.suite.eval_samples, report)
        problem, instances = self.problem(split), self.instances(rep, split)
        report(f"reference {split.name}", 0, 1)
        reference = problem.evaluate(instances, samples, self.eval_context(rep, split), self._eval_params(problem))
        self.cache.save("reference", key, _evaluation_to_storage(reference))
        return reference

    # ----------------------------------------------------------------- jobs

    def run(self, job: Job, report: Report) -> dict[str, Any]:
        record: dict[str, Any] = {"id": job.id, "key": job.key, "kind": job.kind, "label": job.label, "rep": job.rep,
                                  "started": time.time()}
        try:
            if job.kind == "expert":
                record.update(self._run_expert(job, report))
            else:
                record.update(self._run_cell(job, report))
        except CellInvalid as exc:
            record.update(status="invalid", message=str(exc))
        except BaseException as exc:  # noqa: BLE001 - any plugin failure becomes a status, sys.exit and
            # KeyboardInterrupt included: workers ignore SIGINT, so these come from plugin code, not from the user
            record.update(status="error", message=one_line(exc), log=self._log_traceback(job))
        record["finished"] = time.time()
        return record

    def _run_expert(self, job: Job, report: Report) -> dict[str, Any]:
        suite, rep = self.suite, job.rep
        self.cache.drain_warnings()
        record: dict[str, Any] = {"component": suite.expert.name, "display": suite.expert.label, "splits": {}}
        needs_training_samples = any(self._needs_expert(spec.name) for spec in suite.solvers)
        if needs_training_samples:
            _, train_seconds = self.expert_samples(rep, suite.train, suite.expert_samples, report)
            record["train_seconds_per_instance"] = train_seconds
        for split in suite.tests:
            samples, seconds = self.expert_samples(rep, split, suite.eval_samples, report)
            problem, instances = self.problem(split), self.instances(rep, split)
            reference = self.reference(rep, split, report)
            report(f"evaluate {split.name}", 0, 1)
            # scored once more against itself, so the expert's row carries its ratios (1 by definition)
            evaluation = problem.evaluate(instances, samples, self.eval_context(rep, split), self._eval_params(problem), reference)
            metrics = dict(evaluation.metrics, sample_seconds_per_network=seconds, expert_seconds_per_network=seconds)
            record["splits"][split.name] = {"metrics": metrics}
            self._write_artifacts(job, split, samples, evaluation, "expert")
        record["status"] = "ok"
        return self._with_cache_warnings(record)

    def _with_cache_warnings(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record, with what went wrong with cache entries during the job (recomputed, not cached)."""
        warnings = self.cache.drain_warnings()
        return {**record, "warnings": warnings} if warnings else record

    def _needs_expert(self, name: str) -> bool:
        cls = self.registry.solver_class(name, self.suite.problem.name)
        return bool(cls is not None and cls.needs_expert)

    def _eval_params(self, problem: Problem):
        return resolve(problem.eval_parameters, self.suite.eval_params)

    def _run_cell(self, job: Job, report: Report) -> dict[str, Any]:
        suite, rep = self.suite, job.rep
        self.cache.drain_warnings()
        spec = suite.solver(job.label)
        solver = self.registry.make_solver(spec.name, spec.params, suite.problem.name)
        record: dict[str, Any] = {"component": spec.name, "display": spec.label, "splits": {}}
        train_problem = self.problem(suite.train)
        reason = solver.supports(train_problem)
        if reason:
            return {**record, "status": "skipped", "message": reason}
        record.update(self._fit(solver, rep, report))
        for split in suite.tests:
            record["splits"][split.name] = {"metrics": self._sample_and_evaluate(job, solver, split, report)}
        record["status"] = "ok"
        return self._with_cache_warnings(record)

    def _fit(self, solver: Solver, rep: int, report: Report) -> dict[str, Any]:
        suite = self.suite
        expert_samples = None
        expert_key = None
        if solver.needs_expert:  # computed here when the expert job did not (no solver of its suite needed them)
            expert_key = self._expert_key(rep, suite.train, suite.expert_samples)
            expert_samples, _ = self.expert_samples(rep, suite.train, suite.expert_samples, report)
        seed = self._seed("fit", rep, solver.name)
        fit_params = {p.name: solver.params[p.name] for p in type(solver).parameters if not p.sampling_only}
        key = cache_key("model", solver.name, solver.version, fit_params, seed, expert_key,
                        self.instances(rep, suite.train).fingerprint(), suite.device)
        stored = self.cache.load("model", key)
        if stored is not None:
            solver.load_state_dict(stored["state"])
            return {"fit_seconds": stored["fit_seconds"], "fit_cached": True}
        ctx = Context(seed, suite.device, report)
        instances = self.instances(rep, suite.train).to(suite.device)
        samples = expert_samples.to(suite.device) if expert_samples is not None else None
        report("fit", 0, None)
        _, seconds = timed(lambda: solver.fit(self.problem(suite.train), instances, samples, ctx), suite.device)
        state = solver.state_dict()
        if state:
            self.cache.save("model", key, {"state": state, "fit_seconds": seconds})
        return {"fit_seconds": seconds, "fit_cached": False}

    def _sample_and_evaluate(self, job: Job, solver: Solver, split: SplitSpec, report: Report) -> dict[str, float]:
        suite, rep = self.suite, job.rep
        problem = self.problem(split)
        instances = self.instances(rep, split)
        before = instances.fingerprint()
        on_device = instances.to(suite.device)
        ctx = Context(self._seed("sample", rep, solver.name, split.name), suite.device, report)
        report(f"sample {split.name}", 0, 1)
        warm_ctx = ctx.child("warmup")
        samples, (seconds,) = measure(
            lambda: solver.sample(problem, on_device, suite.eval_samples, ctx),
            warmup=lambda: solver.sample(problem, on_device.select(slice(0, 1)), min(suite.eval_samples, 2), warm_ctx),
            device=suite.device,
        )
        diagnostics = json_diagnostics(solver.diagnostics)
        if not isinstance(samples, torch.Tensor):
            raise CellInvalid(f"sample() returned {type(samples).__name__}, expected a torch.Tensor")
        samples = samples.detach().cpu()
        check_samples(problem, instances, samples, suite.eval_samples, "solver")
        if instances.fingerprint() != before:
            raise CellInvalid("the solver modified its input instances in place")
        report(f"evaluate {split.name}", 0, 1)
        reference = self.reference(rep, split, report)
        evaluation = problem.evaluate(instances, samples, self.eval_context(rep, split), self._eval_params(problem), reference)
        per_network = seconds / max(len(instances), 1)
        # a solver's own diagnostics never overwrite the problem's metrics of the same name
        metrics = {**{(f"solver_{k}" if k in evaluation.metrics else k): v for k, v in diagnostics.items()},
                   **evaluation.metrics, "sample_seconds_per_network": per_network}
        _, expert_seconds = self.expert_samples(rep, split, suite.eval_samples, report)
        metrics["expert_seconds_per_network"] = float(expert_seconds)
        metrics["speedup"] = expert_seconds / per_network if per_network > 0 else float("inf")
        self._write_artifacts(job, split, samples, evaluation, job.label)
        return metrics

    # ------------------------------------------------------------ artifacts

    def _write_artifacts(self, job: Job, split: SplitSpec, samples: torch.Tensor, evaluation: Evaluation, name: str) -> None:
        dists = self.outdir / "dists" / f"{artifact_name(job.label, job.rep, split.name)}.npz"
        dists.parent.mkdir(parents=True, exist_ok=True)
        payload = {f"dist:{k}": np.asarray(v) for k, v in evaluation.distributions.items()}
        payload.update({f"marker:{d}:{m}": np.asarray(v) for d, ms in evaluation.markers.items() for m, v in ms.items()})
        np.savez(dists, **payload)
        if self.save_samples:
            path = self.outdir / "samples" / f"{artifact_name(name, job.rep)}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            arrays = dict(np.load(path)) if path.exists() else {}
            arrays["x" if split.name == "test" else f"x_{split.name}"] = samples.numpy()
            np.savez(path, **arrays)

    def _log_traceback(self, job: Job) -> str:
        path = self.outdir / "logs" / f"{safe_name(job.label)}.rep{job.rep}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc())
        return str(path.relative_to(self.outdir))


def json_diagnostics(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """A solver's diagnostics as JSON values (tensors and numpy values become numbers or lists), so the cell's
    record can always be written; CellInvalid naming the key of a value that cannot be."""
    out = {}
    for key, value in diagnostics.items():
        try:
            out[str(key)] = _jsonable(value)
        except (TypeError, ValueError) as exc:
            raise CellInvalid(f"diagnostics[{str(key)!r}] {exc}") from None
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.float().numpy() if value.dtype == torch.bfloat16 else value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"holds {value.dtype} values, not numbers")
        if value.size > MAX_DIAGNOSTIC_VALUES:
            raise ValueError(f"holds {value.size} values; at most {MAX_DIAGNOSTIC_VALUES} are recorded")
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    raise TypeError(f"is of type {type(value).__name__}, not a number, string, list or mapping")


def _evaluation_to_storage(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "metrics": {k: float(v) for k, v in evaluation.metrics.items()},
        "per_instance": {k: torch.as_tensor(np.asarray(v)) for k, v in evaluation.per_instance.items()},
    }


def _evaluation_from_storage(stored: dict[str, Any]) -> Evaluation:
    return Evaluation(metrics=stored["metrics"], per_instance={k: v.numpy() for k, v in stored["per_instance"].items()})

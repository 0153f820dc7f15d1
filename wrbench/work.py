"""The stages of one job: instances, expert samples, fit, sample, evaluate.

A `Workbench` runs inside an executor's worker process. It rebuilds components
from the validated suite, reads and fills the cache, and returns a JSON-able
record for the result store. Every random stream derives from the suite seed,
the repetition and the stage (`derive_seed`), never from run order.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .api import Context, Evaluation, Instances, Problem, Solver
from .cache import Cache, cache_key
from .params import resolve
from .plugins import Registry
from .results import artifact_name, safe_name
from .suite import SplitSpec, Suite
from .timing import measure, timed

Report = Callable[..., None]


class CellInvalid(Exception):
    """A solver's raw output broke the contract (shape, NaN/inf, outside the decision set)."""


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


def plan(suite: Suite) -> list[Job]:
    """Jobs in run order: per repetition, the expert first, then each solver."""
    base = suite.digest()
    jobs = []
    for rep in range(suite.repetitions):
        jobs.append(Job("expert", rep, "expert", cache_key(base, "expert", rep)))
        for spec in suite.solvers:
            jobs.append(Job("cell", rep, spec.label, cache_key(base, "cell", rep, spec.name, spec.params)))
    return jobs


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
        return cache_key("instances", problem.name, problem.version, split.params, split.instances, seed)

    def _expert_key(self, rep: int, split: SplitSpec, n_samples: int) -> str:
        e = self.suite.expert
        return cache_key("expert", e.name, self.expert_class().version, e.params, n_samples,
                         self._instances_key(rep, split), self._seed("expert", rep, split.name))

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

    def reference(self, rep: int, split: SplitSpec) -> Evaluation | None:
        stored = self.cache.load("reference", self._expert_key(rep, split, self.suite.eval_samples))
        return _evaluation_from_storage(stored) if stored is not None else None

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
        except Exception as exc:  # noqa: BLE001 - any plugin failure becomes a status
            record.update(status="error", message=_one_line(exc), log=self._log_traceback(job))
        record["finished"] = time.time()
        return record

    def _run_expert(self, job: Job, report: Report) -> dict[str, Any]:
        suite, rep = self.suite, job.rep
        record: dict[str, Any] = {"component": suite.expert.name, "display": suite.expert.label, "splits": {}}
        needs_training_samples = any(self._needs_expert(spec.name) for spec in suite.solvers)
        if needs_training_samples:
            _, train_seconds = self.expert_samples(rep, suite.train, suite.expert_samples, report)
            record["train_seconds_per_instance"] = train_seconds
        for split in suite.tests:
            samples, seconds = self.expert_samples(rep, split, suite.eval_samples, report)
            problem, instances = self.problem(split), self.instances(rep, split)
            report(f"evaluate {split.name}", 0, 1)
            params, ctx = self._eval_params(problem), self.eval_context(rep, split)
            reference = problem.evaluate(instances, samples, ctx, params)
            self.cache.save("reference", self._expert_key(rep, split, suite.eval_samples), _evaluation_to_storage(reference))
            # scored once more against itself, so the expert's row carries its ratios (1 by definition)
            evaluation = problem.evaluate(instances, samples, ctx, params, reference)
            metrics = dict(evaluation.metrics, sample_seconds_per_network=seconds, expert_seconds_per_network=seconds)
            record["splits"][split.name] = {"metrics": metrics}
            self._write_artifacts(job, split, samples, evaluation, "expert")
        record["status"] = "ok"
        return record

    def _needs_expert(self, name: str) -> bool:
        cls = self.registry.solver_class(name, self.suite.problem.name)
        return bool(cls is not None and cls.needs_expert)

    def _eval_params(self, problem: Problem):
        return resolve(problem.eval_parameters, self.suite.eval_params)

    def _run_cell(self, job: Job, report: Report) -> dict[str, Any]:
        suite, rep = self.suite, job.rep
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
        return record

    def _fit(self, solver: Solver, rep: int, report: Report) -> dict[str, Any]:
        suite = self.suite
        expert_samples = None
        expert_key = None
        if solver.needs_expert:
            expert_key = self._expert_key(rep, suite.train, suite.expert_samples)
            stored = self.cache.load("expert", expert_key)
            if stored is None:
                raise RuntimeError("the expert's training samples are missing (did the expert job fail?)")
            expert_samples = stored["samples"]
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
        diagnostics = dict(solver.diagnostics)
        if not isinstance(samples, torch.Tensor):
            raise CellInvalid(f"sample() returned {type(samples).__name__}, expected a torch.Tensor")
        samples = samples.detach().cpu()
        check_samples(problem, instances, samples, suite.eval_samples, "solver")
        if instances.fingerprint() != before:
            raise CellInvalid("the solver modified its input instances in place")
        report(f"evaluate {split.name}", 0, 1)
        reference = self.reference(rep, split)
        evaluation = problem.evaluate(instances, samples, self.eval_context(rep, split), self._eval_params(problem), reference)
        per_network = seconds / max(len(instances), 1)
        # a solver's own diagnostics never overwrite the problem's metrics of the same name
        metrics = {**{(f"solver_{k}" if k in evaluation.metrics else k): v for k, v in diagnostics.items()},
                   **evaluation.metrics, "sample_seconds_per_network": per_network}
        expert_seconds = self._expert_seconds(rep, split)
        if expert_seconds is not None:
            metrics["expert_seconds_per_network"] = expert_seconds
            metrics["speedup"] = expert_seconds / per_network if per_network > 0 else float("inf")
        self._write_artifacts(job, split, samples, evaluation, job.label)
        return metrics

    def _expert_seconds(self, rep: int, split: SplitSpec) -> float | None:
        stored = self.cache.load("expert", self._expert_key(rep, split, self.suite.eval_samples))
        return None if stored is None else float(stored["seconds_per_instance"])

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


def check_samples(problem: Problem, instances: Instances, samples: torch.Tensor, n_samples: int, who: str) -> None:
    """Raise CellInvalid unless raw samples have the right shape, are finite, and lie in the decision set."""
    expected = (len(instances), n_samples, problem.decision_dim(instances))
    if tuple(samples.shape) != expected:
        raise CellInvalid(f"{who} returned samples of shape {tuple(samples.shape)}, expected {expected} (instances, samples, dim)")
    if not samples.is_floating_point():
        raise CellInvalid(f"{who} returned {samples.dtype} samples, expected a floating-point tensor")
    bad = ~torch.isfinite(samples)
    if bad.any():
        raise CellInvalid(f"{who} returned {int(bad.sum())} NaN/inf values")
    decision_set = problem.decision_set(instances)
    if decision_set.enforce == "invalid":
        inside = decision_set.contains(samples)
        if not bool(inside.all()):
            outside = int((~inside).sum())
            raise CellInvalid(f"{outside} of {inside.numel()} samples lie outside the decision set ({decision_set.describe()})")


def _evaluation_to_storage(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "metrics": {k: float(v) for k, v in evaluation.metrics.items()},
        "per_instance": {k: torch.as_tensor(np.asarray(v)) for k, v in evaluation.per_instance.items()},
    }


def _evaluation_from_storage(stored: dict[str, Any]) -> Evaluation:
    return Evaluation(metrics=stored["metrics"], per_instance={k: v.numpy() for k, v in stored["per_instance"].items()})


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")

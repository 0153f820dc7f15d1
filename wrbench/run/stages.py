"""The stages of one job: instances, expert samples, fit, sample, evaluate.

A `Workbench` runs inside an executor's worker process. It rebuilds components
from the validated suite, hands artifacts between jobs through `Artifacts`
(keys computed once per repetition), and returns the job's `JobRecord`. Every
random stream derives from the suite seed, the repetition and the stage
(`derive_seed`), never from run order.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from wrbench.core.api import Context, Evaluation, Expert, Instances, Problem, Solver
from wrbench.core.checks import CellInvalid, checked_output
from wrbench.core.clock import measure, timed
from wrbench.core.errors import one_line
from wrbench.core.fsio import artifact_name, safe_name
from wrbench.core.params import resolve
from wrbench.core.plugins import Registry
from wrbench.core.selection import Selection, sample_selected
from wrbench.core.weights import plain_samples
from wrbench.run.artifacts import Artifacts, ExpertRun, FittedModel, RepetitionKeys
from wrbench.run.cache import Cache, cache_key
from wrbench.run.plan import EXPERT, Job, instances_source
from wrbench.run.record import ERROR, INVALID, OK, OPTIMALITY_GAP, SINGLE_SECONDS, SKIPPED, JobRecord
from wrbench.run.suite import SplitSpec, Suite

Report = Callable[..., None]
MAX_DIAGNOSTIC_VALUES = 1000  # a larger array in a solver's diagnostics does not belong in results.jsonl


class Workbench:
    def __init__(self, suite: Suite, registry: Registry, outdir: Path, cache: Cache, save_samples: bool = False):
        self.suite, self.registry, self.outdir = suite, registry, Path(outdir)
        self.artifacts = Artifacts(cache)
        self.save_samples = save_samples
        self._problems: dict[str, Problem] = {}
        self._keys: dict[int, RepetitionKeys] = {}

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

    def split_fingerprint(self, rep: int, split: SplitSpec) -> str:
        """Hash of what a policy is scored on: the split's networks, the evaluation's seed and its parameters."""
        problem = self.problem(split)
        return cache_key("evidence", self.instances(rep, split).fingerprint(), self.eval_context(rep, split).seed,
                         dict(self._eval_params(problem)))

    def _seed(self, *parts: Any) -> int:
        return Context(self.suite.seed).child(*parts).seed

    def keys(self, rep: int) -> RepetitionKeys:
        """The keys of what this repetition's jobs share, computed once."""
        if rep not in self._keys:
            suite, expert = self.suite, self.suite.expert
            instances = {split.name: cache_key("instances", self.problem(split).name, self.problem(split).version,
                                               split.params, instances_source(split), self._seed("instances", rep, split.name))
                         for split in suite.splits}
            wanted = [(suite.train, suite.expert_samples)] + [(split, suite.eval_samples) for split in suite.tests]
            experts = {(split.name, n): cache_key("expert", expert.name, self.expert_class().version, expert.params, n,
                                                  instances[split.name], self._seed("expert", rep, split.name), suite.device)
                       for split, n in wanted}
            references = {split.name: cache_key("reference", experts[(split.name, suite.eval_samples)], suite.eval_params)
                          for split in suite.tests}
            optimum = {}
            if suite.optimum is not None:
                cls = self.registry.get("expert", suite.optimum.name, suite.problem.name)
                optimum = {split.name: cache_key("optimum", suite.optimum.name, cls.version, suite.optimum.params,
                                                 suite.eval_samples, instances[split.name], suite.eval_params,
                                                 self._seed("optimum", rep, split.name), suite.device)
                           for split in suite.tests}
            self._keys[rep] = RepetitionKeys(instances, experts, references, optimum)
        return self._keys[rep]

    # --------------------------------------------------------------- stages

    def instances(self, rep: int, split: SplitSpec) -> Instances:
        key = self.keys(rep).instances[split.name]
        stored = self.artifacts.instances(key)
        if stored is not None:
            return stored
        problem = self.problem(split)
        if isinstance(split.instances, str):
            with np.load(split.instances, allow_pickle=False) as data:
                instances = problem.load_instances({k: data[k] for k in data.files})
        else:
            instances = problem.make_instances(split.name, split.instances, self._seed("instances", rep, split.name))
        self.artifacts.put_instances(key, instances)
        return instances

    def expert_samples(self, rep: int, split: SplitSpec, n_samples: int, report: Report) -> ExpertRun:
        """The expert's samples (B, S, D) and seconds per instance, computed once and cached."""
        key = self.keys(rep).expert[(split.name, n_samples)]
        stored = self.artifacts.expert(key)
        if stored is not None:
            return stored
        run = self._solve(self.expert(), rep, split, n_samples, "expert", "expert", report)
        self.artifacts.put_expert(key, run)
        return run

    def _solve(self, expert: Expert, rep: int, split: SplitSpec, n_samples: int, stage: str, who: str,
               report: Report) -> ExpertRun:
        """An expert's checked output on a split, seeded by `stage`, with its seconds per instance and diagnostics."""
        problem, instances = self.problem(split), self.instances(rep, split)
        ctx = Context(self._seed(stage, rep, split.name), self.suite.device, report)
        report(f"{stage} {split.name}", 0, 1)
        output, seconds = timed(lambda: expert.solve(problem, instances.to(ctx.device), n_samples, ctx), ctx.device)
        samples, weights = checked_output(problem, instances, output, n_samples, who)
        return ExpertRun(samples, seconds / max(len(instances), 1), weights, json_diagnostics(expert.diagnostics))

    def expert_seconds(self, rep: int, split: SplitSpec, report: Report) -> float:
        """The expert's seconds per instance on a test split (behind `speedup`)."""
        seconds = self.artifacts.expert_seconds(self.keys(rep).expert[(split.name, self.suite.eval_samples)])
        if seconds is None:
            seconds = self.expert_samples(rep, split, self.suite.eval_samples, report).seconds_per_instance
        return seconds

    def reference(self, rep: int, split: SplitSpec, report: Report) -> Evaluation:
        """The expert's evaluation on a split, the reference for ratios; recomputed (same seeds) when not cached."""
        key = self.keys(rep).reference[split.name]
        stored = self.artifacts.reference(key)
        if stored is not None:
            return stored
        run = self.expert_samples(rep, split, self.suite.eval_samples, report)
        report(f"reference {split.name}", 0, 1)
        reference = self._evaluate(rep, split, run.samples, run.weights)
        self.artifacts.put_reference(key, reference)
        return reference

    def optimum(self, rep: int, split: SplitSpec, report: Report) -> Evaluation | None:
        """The exact optimum's evaluation on a split (None: the suite names no `optimum`), behind `optimality_gap`.

        The suite's own expert when the optimum is the same component; else solved (seed "optimum") and cached.
        """
        suite = self.suite
        if suite.optimum is None:
            return None
        if (suite.optimum.name, suite.optimum.params) == (suite.expert.name, suite.expert.params):
            return self.reference(rep, split, report)
        key = self.keys(rep).optimum[split.name]
        stored = self.artifacts.reference(key)
        if stored is not None:
            return stored
        expert = self.registry.get("expert", suite.optimum.name, suite.problem.name)(suite.optimum.params)
        run = self._solve(expert, rep, split, suite.eval_samples, "optimum", f"optimum '{expert.name}'", report)
        optimum = self._evaluate(rep, split, run.samples, run.weights)
        self.artifacts.put_reference(key, optimum)
        return optimum

    def _evaluate(self, rep: int, split: SplitSpec, samples: torch.Tensor, weights: torch.Tensor | None,
                  reference: Evaluation | None = None) -> Evaluation:
        """The problem's evaluation under the split's common random numbers; weights passed only when given."""
        problem, instances = self.problem(split), self.instances(rep, split)
        extra = {} if weights is None else {"weights": weights}
        return problem.evaluate(instances, samples, self.eval_context(rep, split), self._eval_params(problem), reference, **extra)

    def _scored(self, rep: int, split: SplitSpec, samples: torch.Tensor, weights: torch.Tensor | None, report: Report,
                reference: Evaluation | None) -> tuple[Evaluation, dict[str, list[float]]]:
        """The evaluation of a policy's samples and its per-instance values, `optimality_gap` added where an optimum is known."""
        evaluation = self._evaluate(rep, split, samples, weights, reference)
        per_instance = {k: np.asarray(v, dtype=float).ravel() for k, v in evaluation.per_instance.items()}
        optimum = self.optimum(rep, split, report)
        objective = self.problem(split).objective
        if optimum is not None and objective in per_instance and objective in optimum.per_instance:
            best = np.asarray(optimum.per_instance[objective], dtype=float)
            value = per_instance[objective]
            gap = value / best - 1.0 if objective in self.problem(split).lower_is_better else 1.0 - value / best
            per_instance[OPTIMALITY_GAP] = gap
            evaluation.metrics[OPTIMALITY_GAP] = float(gap.mean())
        return evaluation, {k: [float(x) for x in v] for k, v in per_instance.items() if len(v) == len(samples)}

    # ----------------------------------------------------------------- jobs

    def run(self, job: Job, report: Report) -> JobRecord:
        record = JobRecord.start(job)
        self.artifacts.drain_warnings()
        try:
            (self._run_expert if job.kind == EXPERT else self._run_cell)(job, record, report)
        except CellInvalid as exc:
            record.status, record.message = INVALID, str(exc)
        except BaseException as exc:  # noqa: BLE001 - any plugin failure becomes a status, sys.exit and
            # KeyboardInterrupt included: workers ignore SIGINT, so these come from plugin code, not from the user
            record.status, record.message, record.log = ERROR, one_line(exc), self._log_traceback(job)
        if record.status == OK:
            record.fingerprints = {split.name: self.split_fingerprint(job.rep, split) for split in self.suite.tests}
        record.warnings = self.artifacts.drain_warnings()  # cache entries recomputed or not stored
        record.finished = time.time()
        return record

    def _run_expert(self, job: Job, record: JobRecord, report: Report) -> None:
        suite, rep = self.suite, job.rep
        record.component, record.label = suite.expert.name, suite.expert.label
        if any(self._needs_expert(spec.name) for spec in suite.solvers):
            record.train_seconds_per_instance = self.expert_samples(rep, suite.train, suite.expert_samples,
                                                                    report).seconds_per_instance
        for split in suite.tests:
            run = self.expert_samples(rep, split, suite.eval_samples, report)
            reference = self.reference(rep, split, report)
            report(f"evaluate {split.name}", 0, 1)
            # scored once more against itself, so the expert's row carries its ratios (1 by definition)
            evaluation, record.per_instance[split.name] = self._scored(rep, split, run.samples, run.weights, report, reference)
            seconds = run.seconds_per_instance
            record.metrics[split.name] = dict(own_diagnostics(run.diagnostics, evaluation.metrics, "expert"),
                                              sample_seconds_per_network=seconds, expert_seconds_per_network=seconds)
            self._write_artifacts(job, split, run.samples, evaluation, "expert")
        record.status = OK

    def _needs_expert(self, name: str) -> bool:
        cls = self.registry.solver_class(name, self.suite.problem.name)
        return bool(cls is not None and cls.needs_expert)

    def _eval_params(self, problem: Problem):
        return resolve(problem.eval_parameters, self.suite.eval_params)

    def _run_cell(self, job: Job, record: JobRecord, report: Report) -> None:
        suite = self.suite
        spec = suite.solver(job.entry)
        record.component, record.label = spec.name, spec.label
        solver = self.registry.make_solver(spec.name, spec.params, suite.problem.name)
        reason = solver.supports(self.problem(suite.train))
        if reason:
            record.status, record.message = SKIPPED, reason
            return
        record.fit_seconds, record.fit_cached = self._fit(solver, job.rep, report)
        for split in suite.tests:
            record.metrics[split.name], record.per_instance[split.name] = self._sample_and_evaluate(job, solver, split, report)
        record.status = OK

    def _fit(self, solver: Solver, rep: int, report: Report) -> tuple[float, bool]:
        """(fit seconds, whether the fitted state came from the cache)."""
        suite = self.suite
        expert_samples = expert_key = None
        if solver.needs_expert:  # computed here when the expert job did not (no solver of its suite needed them)
            expert_key = self.keys(rep).expert[(suite.train.name, suite.expert_samples)]
            run = self.expert_samples(rep, suite.train, suite.expert_samples, report)
            expert_samples = plain_samples(run.samples, run.weights, Context(self._seed("resample", rep)).generator("expert"))
        seed = self._seed("fit", rep, solver.name)
        fit_params = {p.name: solver.params[p.name] for p in type(solver).parameters if not p.sampling_only}
        key = cache_key("model", solver.name, solver.version, fit_params, seed, expert_key,
                        self.instances(rep, suite.train).fingerprint(), suite.device)
        stored = self.artifacts.model(key)
        if stored is not None:
            solver.load_state_dict(stored.state)
            return stored.fit_seconds, True
        ctx = Context(seed, suite.device, report)
        instances = self.instances(rep, suite.train).to(suite.device)
        samples = expert_samples.to(suite.device) if expert_samples is not None else None
        report("fit", 0, None)
        _, seconds = timed(lambda: solver.fit(self.problem(suite.train), instances, samples, ctx), suite.device)
        state = solver.state_dict()
        if state:
            self.artifacts.put_model(key, FittedModel(state, seconds))
        return seconds, False

    def _sample_and_evaluate(self, job: Job, solver: Solver, split: SplitSpec,
                             report: Report) -> tuple[dict[str, Any], dict[str, list[float]]]:
        suite, rep = self.suite, job.rep
        problem = self.problem(split)
        instances = self.instances(rep, split)
        before = instances.fingerprint()
        on_device = instances.to(suite.device)
        ctx = Context(self._seed("sample", rep, solver.name, split.name), suite.device, report)
        report(f"sample {split.name}", 0, 1)
        warm_ctx = ctx.child("warmup")
        sample = self._sampler(solver, problem, suite.solver(job.entry).select)
        output, (seconds,) = measure(
            lambda: sample(on_device, suite.eval_samples, ctx),
            warmup=lambda: sample(on_device.select(slice(0, 1)), min(suite.eval_samples, 2), warm_ctx),
            device=suite.device,
        )
        diagnostics = json_diagnostics(solver.diagnostics)
        samples, weights = checked_output(problem, instances, output, suite.eval_samples, "solver")
        if instances.fingerprint() != before:
            raise CellInvalid("the solver modified its input instances in place")
        report(f"evaluate {split.name}", 0, 1)
        reference = self.reference(rep, split, report)
        evaluation, per_instance = self._scored(rep, split, samples, weights, report, reference)
        per_network = seconds / max(len(instances), 1)
        metrics = dict(own_diagnostics(diagnostics, evaluation.metrics, "solver"), sample_seconds_per_network=per_network)
        if self._on_frontier(job.entry):
            one = on_device.select(slice(0, 1))
            # no warm-up call of its own: the batched call above was already preceded by one on this network
            _, (single,) = measure(lambda: sample(one, suite.eval_samples, ctx), warmup=0, device=suite.device)
            metrics[SINGLE_SECONDS] = single  # the latency of one request, beside the batched seconds per network
        expert_seconds = self.expert_seconds(rep, split, report)
        metrics["expert_seconds_per_network"] = float(expert_seconds)
        metrics["speedup"] = expert_seconds / per_network if per_network > 0 else float("inf")
        self._write_artifacts(job, split, samples, evaluation, job.entry)
        return metrics, per_instance

    def _sampler(self, solver: Solver, problem: Problem, select: Mapping[str, Any] | None
                 ) -> Callable[[Instances, int, Context], Any]:
        """The row's timed sampling call: the solver's own, or with the suite's `select:` step after it."""
        if not select:
            return lambda instances, n, ctx: solver.sample(problem, instances, n, ctx)
        selection, params = Selection(**select), self._eval_params(problem)
        return lambda instances, n, ctx: sample_selected(solver, problem, instances, n, ctx, selection, params)

    def _on_frontier(self, label: str) -> bool:
        """Whether the cell `label` is a point of a cost-quality frontier (a solver's own row, or a budget entry)."""
        suite = self.suite
        return any(f.policy == label for f in suite.frontier) or any(
            s.label == label and s.frontier_of for s in suite.solvers)

    # ------------------------------------------------------------ artifacts

    def _write_artifacts(self, job: Job, split: SplitSpec, samples: torch.Tensor, evaluation: Evaluation, name: str) -> None:
        dists = self.outdir / "dists" / f"{artifact_name(job.entry, job.rep, split.name)}.npz"
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
        path = self.outdir / "logs" / f"{safe_name(job.entry)}.rep{job.rep}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc())
        return str(path.relative_to(self.outdir))


def own_diagnostics(diagnostics: Mapping[str, Any], metrics: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The problem's metrics with a component's diagnostics added; a diagnostic never overwrites a metric of the
    same name (it becomes `<prefix>_<name>`)."""
    return {**{(f"{prefix}_{k}" if k in metrics else k): v for k, v in diagnostics.items()}, **metrics}


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

"""What a suite asks for, as jobs: one per (repetition, expert or solver), each keyed by its own inputs.

A job's key hashes only what its result depends on, so `--resume` keeps a finished job unless one of
them changed: not for `rank_by`, `timeout`, the suite's name, nor for adding or changing another solver.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wrbench.core.plugins import Registry
from wrbench.run.cache import cache_key, file_digest
from wrbench.run.suite import EXPERT_JOB_LABEL, ComponentSpec, SplitSpec, Suite

EXPERT, CELL = "expert", "cell"  # the two kinds of job


@dataclass(frozen=True)
class Job:
    """One unit of work: the expert of a repetition, or one solver entry (`entry`: its suite label) in it."""

    kind: str
    rep: int
    entry: str
    key: str

    @property
    def id(self) -> str:
        return f"{self.entry}/rep{self.rep}"


def plan(suite: Suite, registry: Registry) -> list[Job]:
    """Jobs in run order: per repetition, the expert first, then each solver."""
    shared = job_inputs(suite, registry)
    jobs = []
    for rep in range(suite.repetitions):
        jobs.append(Job(EXPERT, rep, EXPERT_JOB_LABEL, cache_key(EXPERT, rep, shared)))
        for spec in suite.solvers:
            solver = _component_inputs(spec, _solver_class(registry, spec.name, suite.problem.name))
            jobs.append(Job(CELL, rep, spec.label, cache_key(CELL, rep, shared, solver)))
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
        **({"optimum": _component_inputs(suite.optimum, registry.get("expert", suite.optimum.name, suite.problem.name))}
           if suite.optimum is not None else {}),
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

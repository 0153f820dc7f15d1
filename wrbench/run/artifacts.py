"""What jobs hand each other, under keys computed once per repetition.

The expert job of a repetition leaves instances, expert samples (with the
expert's seconds per instance), and the reference evaluation of each test split;
every solver job of the repetition reads them, and fitted models are kept for
reruns. All of it lives in the `Cache`, so a job in another process or on another
machine finds it; a missing or unreadable entry is recomputed by whoever needs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from wrbench.core.api import Evaluation, Instances
from wrbench.run.cache import Cache


@dataclass(frozen=True)
class RepetitionKeys:
    """The cache keys of one repetition's shared artifacts, per split name."""

    instances: dict[str, str]
    expert: dict[tuple[str, int], str]  # (split, samples per instance)
    reference: dict[str, str]
    optimum: dict[str, str]  # the exact optimum's evaluation per test split (suites with an `optimum`)


@dataclass
class ExpertRun:
    samples: torch.Tensor  # (B, S, D), on the CPU
    seconds_per_instance: float
    weights: torch.Tensor | None = None  # (B, S), rows summing to 1, for a mixture policy
    diagnostics: dict[str, Any] = field(default_factory=dict)  # the expert's own, as JSON values


@dataclass
class FittedModel:
    state: dict[str, Any]
    fit_seconds: float


class Artifacts:
    """Typed access to the cache: one method pair per artifact, so no call site builds a key or a payload."""

    INSTANCES, EXPERT, TIMING, REFERENCE, MODEL = "instances", "expert", "timing", "reference", "model"

    def __init__(self, cache: Cache):
        self.cache = cache

    def instances(self, key: str) -> Instances | None:
        stored = self.cache.load(self.INSTANCES, key)
        return None if stored is None else Instances(stored["arrays"], stored["attrs"])

    def put_instances(self, key: str, instances: Instances) -> None:
        self.cache.save(self.INSTANCES, key, {"arrays": instances.arrays, "attrs": instances.attrs})

    def expert(self, key: str) -> ExpertRun | None:
        stored = self.cache.load(self.EXPERT, key)
        if stored is None:
            return None
        return ExpertRun(stored["samples"], float(stored["seconds_per_instance"]), stored.get("weights"),
                         dict(stored.get("diagnostics", {})))

    def expert_seconds(self, key: str) -> float | None:
        """The expert's seconds per instance without loading its samples."""
        stored = self.cache.load(self.TIMING, key)
        return None if stored is None else float(stored["seconds_per_instance"])

    def put_expert(self, key: str, run: ExpertRun) -> None:
        payload = {"samples": run.samples, "seconds_per_instance": run.seconds_per_instance}
        if run.weights is not None:
            payload["weights"] = run.weights
        if run.diagnostics:
            payload["diagnostics"] = run.diagnostics
        self.cache.save(self.EXPERT, key, payload)
        self.cache.save(self.TIMING, key, {"seconds_per_instance": run.seconds_per_instance})

    def reference(self, key: str) -> Evaluation | None:
        stored = self.cache.load(self.REFERENCE, key)
        if stored is None:
            return None
        return Evaluation(metrics=stored["metrics"], per_instance={k: v.numpy() for k, v in stored["per_instance"].items()})

    def put_reference(self, key: str, evaluation: Evaluation) -> None:
        self.cache.save(self.REFERENCE, key, {
            "metrics": {k: float(v) for k, v in evaluation.metrics.items()},
            "per_instance": {k: torch.as_tensor(np.asarray(v)) for k, v in evaluation.per_instance.items()},
        })

    def model(self, key: str) -> FittedModel | None:
        stored = self.cache.load(self.MODEL, key)
        return None if stored is None else FittedModel(stored["state"], float(stored["fit_seconds"]))

    def put_model(self, key: str, model: FittedModel) -> None:
        self.cache.save(self.MODEL, key, {"state": model.state, "fit_seconds": model.fit_seconds})

    def drain_warnings(self) -> list[str]:
        return self.cache.drain_warnings()


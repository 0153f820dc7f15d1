"""The record of one job: written by the stages and executors, stored as one JSON line, read by the board.

One type, one name per concept, so nothing downstream guesses with `.get` fallbacks:
`entry` is the suite entry the job ran (the reserved expert label, or a solver's
label) and `label` the row's name on the board.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from wrbench.run.plan import Job

OK, SKIPPED, INVALID, ERROR, TIMEOUT = "ok", "skipped", "invalid", "error", "timeout"
STATUSES = (OK, SKIPPED, INVALID, ERROR, TIMEOUT)  # best first: a board row shows its worst
FAILED = (ERROR, TIMEOUT, INVALID)
# what the stages measure for every policy, beside the problem's own metrics
SINGLE_SECONDS = "single_seconds_per_network"  # timed for the points of a cost-quality frontier only
HARNESS_METRICS = ("sample_seconds_per_network", SINGLE_SECONDS, "expert_seconds_per_network", "speedup",
                   "fit_seconds")
HARNESS_LOWER_IS_BETTER = ("sample_seconds_per_network", SINGLE_SECONDS, "expert_seconds_per_network", "fit_seconds")
HARNESS_DEFINITIONS = {
    "sample_seconds_per_network": "wall seconds of the policy's sampling call per test network (all samples, batched)",
    SINGLE_SECONDS: "wall seconds of the same call on one network alone (frontier points only)",
    "expert_seconds_per_network": "the expert's seconds per test network, on the same networks",
    "speedup": "expert_seconds_per_network / sample_seconds_per_network",
    "fit_seconds": "seconds the solver's fit took (from the cache when reused)",
    "optimality_gap": "1 - objective / the exact optimum's objective, per network (lower is better)",
}
# quality the stages add to the problem's metrics: 1 - objective / the exact optimum's, per instance (suites with `optimum`)
OPTIMALITY_GAP = "optimality_gap"


@dataclass
class JobRecord:
    """What one job produced: its status and, per test split, the metrics of its policy."""

    id: str
    key: str  # hash of the job's inputs: a resumed run reuses the record while it matches
    kind: str  # "expert" or "cell"
    entry: str
    rep: int
    status: str = ERROR
    message: str = ""
    label: str = ""
    component: str = ""  # the registered name of the expert or solver
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> metric -> value
    # split -> metric -> one value per instance (the board's intervals and paired comparisons)
    per_instance: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    # split -> hash of its networks and of the evaluation's random draws: two records with equal fingerprints
    # were scored on the same instances (what merging and paired comparison across runs rely on)
    fingerprints: dict[str, str] = field(default_factory=dict)
    fit_seconds: float | None = None
    fit_cached: bool | None = None
    train_seconds_per_instance: float | None = None  # the expert's, on the training split
    warnings: list[str] = field(default_factory=list)  # cache entries recomputed or not stored
    log: str | None = None  # traceback file, relative to the output folder
    output: str | None = None  # what the job printed, relative to the output folder
    worker: str | None = None
    started: float | None = None
    finished: float | None = None

    @classmethod
    def start(cls, job: Job) -> "JobRecord":
        return cls(job.id, job.key, job.kind, job.entry, job.rep, started=time.time())

    @classmethod
    def failure(cls, job: Job, status: str, message: str) -> "JobRecord":
        """The record of a job that produced no result of its own (timeout, crashed worker, blocked)."""
        return cls(job.id, job.key, job.kind, job.entry, job.rep, status=status, message=message)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the results file: unset optional fields left out."""
        return {k: v for k, v in asdict(self).items()
                if v is not None and v != [] and not (k == "message" and v == "") and not (k in ("per_instance", "fingerprints") and v == {})}

    @classmethod
    def from_json(cls, value: Any) -> "JobRecord | None":
        """The record a results line holds, or None when it is not one (wrong types, missing fields)."""
        if not isinstance(value, dict):
            return None
        known = {f.name: f for f in fields(cls)}
        for name, kind in REQUIRED.items():
            if not isinstance(value.get(name), kind) or isinstance(value.get(name), bool):
                return None
        metrics = value.get("metrics", {})
        if not isinstance(metrics, dict) or not all(isinstance(m, dict) for m in metrics.values()):
            return None
        per_instance = value.get("per_instance", {})
        if not isinstance(per_instance, dict) or not all(
                isinstance(m, dict) and all(isinstance(v, list) for v in m.values()) for m in per_instance.values()):
            return None
        fingerprints = value.get("fingerprints", {})
        if not isinstance(fingerprints, dict) or not all(isinstance(v, str) for v in fingerprints.values()):
            return None
        return cls(**{k: v for k, v in value.items() if k in known})


REQUIRED: dict[str, type] = {"id": str, "key": str, "kind": str, "entry": str, "rep": int, "status": str}

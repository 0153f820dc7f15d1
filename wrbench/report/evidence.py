"""The evidence behind a board: per-network results, the suite, provenance per row, instance fingerprints.

A run's output folder holds it (results.jsonl, suite.json, meta.json, dists/);
a published board keeps the same files under `leaderboard/<suite>/evidence/`,
plus `provenance.json` (one entry per row, since a merged board's rows come
from several runs). Everything is JSON or `.npz` read with
`allow_pickle=False`: nothing in it executes.

Two folders can be merged or compared only when they scored their policies on
the same networks under the same evaluation draws: the same suite core (all
but its solvers and device) and equal instance fingerprints per repetition and
split (`JobRecord.fingerprints`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wrbench.run.plan import EXPERT
from wrbench.run.record import HARNESS_LOWER_IS_BETTER, OK, JobRecord
from wrbench.run.store import ResultStore

PROVENANCE_FILE = "provenance.json"
EVIDENCE_DIR = "evidence"  # a published board's evidence, beside its rendered files
# suite keys that do not change what a row is scored on: rows with other solvers, frontier points or hardware
# merge (published figures are only shown)
NOT_CORE = ("solvers", "frontier", "path", "description", "device", "published")
HARDWARE_KEYS = ("cpu", "cpu_count", "device", "torch_version", "python_version")


class BoardMismatch(Exception):
    """A run cannot join (or be paired with) a board; `problems` says each reason."""

    def __init__(self, board: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{board}: the run does not match this board ({len(problems)} problem"
                         f"{'s' if len(problems) > 1 else ''}):\n  " + "\n  ".join(problems))


@dataclass
class Evidence:
    """What one folder (a run's output, or a board's evidence/) holds."""

    root: Path
    suite: dict[str, Any]
    meta: dict[str, Any]
    records: list[JobRecord]
    provenance: dict[str, dict[str, Any]]  # entry -> where the row comes from

    @classmethod
    def read(cls, root: str | Path) -> "Evidence":
        root = Path(root)
        if not (root / "results.jsonl").exists():
            raise FileNotFoundError(f"no results in {root} (expected {root / 'results.jsonl'})")
        suite = _json(root / "suite.json")
        meta = _json(root / "meta.json")
        records = ResultStore(root).records()
        stored = _json(root / PROVENANCE_FILE)
        entries = dict.fromkeys(r.entry for r in records)
        provenance = {entry: stored.get(entry) or row_provenance(meta, entry) for entry in entries}
        return cls(root, suite, meta, records, provenance)

    @classmethod
    def of_board(cls, folder: str | Path) -> "Evidence":
        """A published board's evidence (`folder/evidence`), or `folder` itself when it is a run's output."""
        return cls.read(evidence_root(folder))

    @property
    def repetitions(self) -> int:
        return int(self.suite.get("repetitions", self.meta.get("repetitions", 1)))

    def entries(self, kind: str | None = None) -> list[str]:
        """The suite entries with records, in file order (the expert's is EXPERT)."""
        return list(dict.fromkeys(r.entry for r in self.records if kind is None or r.kind == kind))

    def fingerprints(self) -> dict[tuple[int, str], str]:
        """(repetition, split) -> the instance fingerprint its successful records agree on."""
        found: dict[tuple[int, str], str] = {}
        for record in self.records:
            for split, value in record.fingerprints.items():
                found.setdefault((record.rep, split), value)
        return found


def lower_is_better(meta: dict[str, Any]) -> set[str]:
    """The metrics where lower is better on a board: the run's recorded ones plus the harness's timings."""
    return set(meta.get("lower_is_better", [])) | set(HARNESS_LOWER_IS_BETTER)


def evidence_root(folder: str | Path) -> Path:
    """Where a folder's results live: a board's evidence/, or the folder itself (a run's output)."""
    folder = Path(folder)
    return folder / EVIDENCE_DIR if (folder / EVIDENCE_DIR).is_dir() else folder


def row_provenance(meta: dict[str, Any], entry: str) -> dict[str, Any]:
    """Where a row comes from, from the meta.json of the run that computed it."""
    component = (meta.get("components") or {}).get(entry, {})
    return {
        **{k: component.get(k) for k in ("name", "component_version", "plugin", "distribution", "version", "commit")},
        "wrbench_version": meta.get("wrbench_version"),
        "wrbench_commit": meta.get("git_commit"),
        "date": meta.get("date"),
        "hardware": {k: meta.get(k) for k in HARDWARE_KEYS if meta.get(k) is not None},
        "command": meta.get("command"),
    }


def suite_core(suite: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in suite.items() if k not in NOT_CORE}


def mismatches(board: Evidence, run: Evidence) -> list[str]:
    """Why `run`'s rows cannot sit on (or be paired with) `board`'s: empty when they can."""
    problems = [f"suite {key}: board {_short(a)}, run {_short(b)}"
                for key, a, b in _differences(suite_core(board.suite), suite_core(run.suite))]
    if board.repetitions != run.repetitions and not any(p.startswith("suite repetitions") for p in problems):
        problems.append(f"suite repetitions: board {board.repetitions}, run {run.repetitions}")
    theirs = board.fingerprints()
    for record in run.records:
        for split, value in record.fingerprints.items():
            known = theirs.get((record.rep, split))
            if known is None:
                problems.append(f"{record.id}: the board has no fingerprint of split {split} in repetition "
                                f"{record.rep} to check it against")
            elif known != value:
                problems.append(f"{record.id}: split {split} of repetition {record.rep} was scored on other "
                                f"networks or evaluation draws (fingerprint {value}, board {known})")
    return list(dict.fromkeys(problems))


def unfingerprinted(run: Evidence) -> list[str]:
    """Results that cannot be checked against a board: made by a wrbench before boards kept evidence."""
    return [f"{r.id}: no instance fingerprint (made by a wrbench before boards kept evidence; rerun it)"
            for r in run.records if r.status == OK and not r.fingerprints]


def incomplete(run: Evidence) -> list[str]:
    """Why `run` cannot be published at all: results without a fingerprint, rows missing repetitions."""
    problems = unfingerprinted(run)
    for entry in run.entries():
        reps = {r.rep for r in run.records if r.entry == entry}
        missing = sorted(set(range(run.repetitions)) - reps)
        if missing:
            problems.append(f"{entry}: no result for repetition(s) {', '.join(map(str, missing))} of {run.repetitions}")
    return problems


def solver_entries(run: Evidence) -> list[str]:
    """The rows a run contributes to a board: its solvers (the board keeps its own expert row)."""
    return [e for e in run.entries() if e != EXPERT]


def _differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, a's value, b's value) for every leaf where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in dict.fromkeys([*a, *b])
                for d in _differences(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}

"""Publish a run onto a board: merge its rows into the board's evidence, never overwrite the others, re-render.

The board folder (`leaderboard/<suite>/` by default) holds the rendered board
and `evidence/`. A run adds or replaces only its solvers' rows; every other row,
the board's expert row included, stays. A run scored on other networks, under
another evaluation or with other repetitions is refused (`BoardMismatch`), as is
a run missing repetitions. The new evidence is staged beside the old one and
swapped in under the board's lock, so two publishes never interleave; a crash
leaves the old evidence or the new one (in the instant between the two renames,
the old one under `.evidence-old-<pid>`), and `wrbench leaderboard BOARD`
re-renders from whichever is there.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from wrbench.core.fsio import artifact_name, write_json
from wrbench.core.lock import folder_lock
from wrbench.report import leaderboard, render
from wrbench.report.evidence import EVIDENCE_DIR, PROVENANCE_FILE, BoardMismatch, Evidence, incomplete, mismatches, solver_entries
from wrbench.run.record import JobRecord
from wrbench.run.store import RESULTS_FILE, ResultStore

@dataclass
class Published:
    board: Path
    added: list[str]
    replaced: list[str]
    kept: list[str]


def default_board(run_dir: str | Path) -> Path:
    """leaderboard/<suite name>, the suite's name read from the run's own records."""
    return Path("leaderboard") / (Evidence.read(run_dir).suite.get("name") or Path(run_dir).name)


def publish(run_dir: str | Path, board_dir: str | Path, replace: bool = False) -> Published:
    """Merge the rows of the run in `run_dir` into the board in `board_dir` and re-render it.

    `replace` starts the board afresh from the run (a maintainer republishing every row); without it, a board
    with rendered files but no evidence (published by an older wrbench) is refused rather than overwritten.
    """
    run, board_dir = Evidence.read(run_dir), Path(board_dir)
    problems = incomplete(run)
    if problems:
        raise BoardMismatch(board_dir, problems)
    board_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(board_dir):
        evidence_dir = board_dir / EVIDENCE_DIR
        if replace or not (evidence_dir / RESULTS_FILE).exists():
            if not replace and (board_dir / "leaderboard.json").exists():
                raise BoardMismatch(board_dir, ["the board has no evidence/ (published before boards kept their "
                                                "per-network results): republish it from a full run of its suite "
                                                "with --replace"])
            board, entries = None, run.entries()
        else:
            board = Evidence.read(evidence_dir)
            problems = mismatches(board, run)
            if problems:
                raise BoardMismatch(board_dir, problems)
            entries = solver_entries(run)
        result = _stage_and_swap(board, run, entries, evidence_dir)
        render.write_all(leaderboard.load(board_dir), board_dir)
    return result


def _stage_and_swap(board: Evidence | None, run: Evidence, entries: list[str], evidence_dir: Path) -> Published:
    """Write the merged evidence to a staging folder, then swap it for the old one."""
    staging = evidence_dir.with_name(f".{EVIDENCE_DIR}-new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "dists").mkdir(parents=True)
    incoming = set(entries)
    kept = [] if board is None else [e for e in board.entries() if e not in incoming]
    old = [] if board is None else board.entries()
    records = [r for r in (board.records if board else []) if r.entry in set(kept)]
    records += [_portable(r) for r in run.records if r.entry in incoming]
    for source, keep in ([(board.root, set(kept))] if board else []) + [(run.root, incoming)]:
        for record in records:
            if record.entry in keep:
                _copy_dists(source, staging, record)
    store = ResultStore(staging)
    for record in records:
        store.append(record)
    write_json(staging / "suite.json", _merged_suite(board, run, entries))
    write_json(staging / "meta.json", board.meta if board else run.meta)
    provenance = {e: board.provenance[e] for e in kept} if board else {}
    provenance.update({e: run.provenance[e] for e in entries})
    write_json(staging / PROVENANCE_FILE, provenance)
    retired = evidence_dir.with_name(f".{EVIDENCE_DIR}-old-{os.getpid()}")
    if evidence_dir.exists():
        os.replace(evidence_dir, retired)
    os.replace(staging, evidence_dir)
    shutil.rmtree(retired, ignore_errors=True)
    return Published(evidence_dir.parent, [e for e in entries if e not in old], [e for e in entries if e in old], kept)


def _merged_suite(board: Evidence | None, run: Evidence, entries: list[str]) -> dict:
    """The board's suite with the run's solver specs put in place of (or after) the board's (and its published
    figures, where the run's suite has some)."""
    if board is None:
        return run.suite
    specs = {spec["label"]: spec for spec in run.suite.get("solvers", [])}
    solvers = [specs.pop(spec["label"]) if spec["label"] in specs and spec["label"] in entries else spec
               for spec in board.suite.get("solvers", [])]
    solvers += [spec for label, spec in specs.items() if label in entries]
    # a submitted policy's frontier comes with its points; the board keeps its other curves
    curves = {c["policy"]: c for c in board.suite.get("frontier", [])}
    submitted = set(entries) | {spec.get("frontier_of") for spec in run.suite.get("solvers", []) if spec["label"] in entries}
    curves.update({c["policy"]: c for c in run.suite.get("frontier", []) if c["policy"] in submitted})
    return {**board.suite, "solvers": solvers, "published": run.suite.get("published") or board.suite.get("published"),
            **({"frontier": list(curves.values())} if curves else {})}


def _portable(record: JobRecord) -> JobRecord:
    """The record without paths into the run's own folder (logs, captured output) or its worker's name."""
    return dataclasses.replace(record, log=None, output=None, worker=None)


def _copy_dists(source: Path, target: Path, record: JobRecord) -> None:
    for split in record.fingerprints or record.metrics:
        path = source / "dists" / f"{artifact_name(record.entry, record.rep, split)}.npz"
        if path.exists():
            shutil.copy2(path, target / "dists" / path.name)

"""Paired comparison of a run against a board: per-network differences with 95 % intervals.

Both sides must have scored their policies on the same networks under the
same evaluation draws (`evidence.mismatches`); then a difference network by
network cancels the networks' own spread, which is what makes a small gain
visible (and a rerun's agreement checkable).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wrbench.report.evidence import (BoardMismatch, Evidence, lower_is_better, mismatches, solver_entries,
                                     unfingerprinted)
from wrbench.report.intervals import paired_difference
from wrbench.report.leaderboard import ranking_rule
from wrbench.run.plan import EXPERT
from wrbench.run.record import OK, JobRecord


@dataclass
class Difference:
    row: str  # the run's row (label)
    against: str  # the board's row (label)
    split: str
    metric: str
    better: str  # "higher" or "lower"
    networks: int  # paired networks
    diff: float  # mean of run - board over the paired networks
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not (self.low <= 0.0 <= self.high)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "significant": self.significant}


def compare(run_dir: str | Path, board_dir: str | Path, rows: tuple[str, ...] = (), against: tuple[str, ...] = (),
            metrics: tuple[str, ...] = ()) -> list[Difference]:
    """Each chosen run row minus each chosen board row, per split and metric with per-network values.

    Default rows: the run's solvers. Default board rows: the row with the same label, where the board has one,
    and the board's expert. Default metrics: the board's objective, constraint and headline metrics, or every
    per-network metric where none of those has per-network values.
    """
    run, board = Evidence.read(run_dir), Evidence.of_board(board_dir)
    problems = unfingerprinted(run) + mismatches(board, run)
    if problems:
        raise BoardMismatch(Path(board_dir), problems)
    run_labels, board_labels = _labels(run), _labels(board)
    chosen = _pick(rows, run_labels, solver_entries(run), "the run")
    lower = lower_is_better(board.meta)
    metrics = list(metrics) or _metrics(board)
    out = []
    for entry in chosen:
        label = run_labels[entry]
        opponents = _pick(against, board_labels, [e for e, name in board_labels.items() if name == label] + [EXPERT],
                          "the board")
        for other in opponents:
            for split in _splits(run, entry):
                for metric in metrics:
                    pair = _paired(run, entry, board, other, split, metric)
                    if pair is None:
                        continue
                    diff, low, high = paired_difference(*pair)
                    out.append(Difference(label, board_labels[other], split, metric,
                                          "lower" if metric in lower else "higher", len(pair[0]), diff, low, high))
    return out


def _labels(evidence: Evidence) -> dict[str, str]:
    return {r.entry: r.label or r.entry for r in evidence.records}


def _pick(wanted: tuple[str, ...], labels: dict[str, str], default: list[str], side: str) -> list[str]:
    """Entries by label (or entry name); unknown ones raise ValueError listing what exists."""
    if not wanted:
        return list(dict.fromkeys(e for e in default if e in labels))
    by_name = {**{e: e for e in labels}, **{name: e for e, name in labels.items()}}
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise ValueError(f"{side} has no row {', '.join(map(repr, unknown))} (rows: {', '.join(labels.values())})")
    return [by_name[w] for w in wanted]


def _metrics(board: Evidence) -> list[str]:
    rule = ranking_rule(board.meta, board.suite, frozenset(board.meta.get("lower_is_better", [])))
    per_network = list(dict.fromkeys(m for r in board.records for split in r.per_instance.values() for m in split))
    headline = [m for m in dict.fromkeys([rule.objective, rule.constraint, *board.meta.get("headline_metrics", [])])
                if m in per_network]
    return headline or per_network


def _splits(evidence: Evidence, entry: str) -> list[str]:
    return list(dict.fromkeys(s for r in evidence.records if r.entry == entry for s in r.per_instance))


def _paired(run: Evidence, entry: str, board: Evidence, other: str, split: str,
            metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The two rows' per-network values on the repetitions both have, aligned network by network."""
    mine, theirs = _by_rep(run.records, entry, split, metric), _by_rep(board.records, other, split, metric)
    reps = [rep for rep in sorted(mine) if rep in theirs and len(mine[rep]) == len(theirs[rep])]
    if not reps:
        return None
    return np.concatenate([mine[rep] for rep in reps]), np.concatenate([theirs[rep] for rep in reps])


def _by_rep(records: list[JobRecord], entry: str, split: str, metric: str) -> dict[int, np.ndarray]:
    return {r.rep: np.asarray(r.per_instance[split][metric], dtype=float) for r in records
            if r.entry == entry and r.status == OK and metric in r.per_instance.get(split, {})}

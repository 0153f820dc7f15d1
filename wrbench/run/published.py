"""The suite's optional `published:` key: figures a paper or its code reports, printed beside the measured rows.

    published:
      source: "where the figures come from (paper, table, repository file)"
      splits:
        test:                       # a test split of the suite
          - label: "their method"
            metrics: {sim_mean_rate: 2.805, p5_gap: 0.053}

Metric names are free (a source may report quantities no problem computes);
use the board's names where the quantity is the same. The figures are shown,
never measured or ranked, and do not enter the suite's hash or its core.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from wrbench.core.params import short_repr

KeyPath = tuple[Any, ...]
PUBLISHED_KEYS = {"source", "splits"}
ROW_KEYS = {"label", "metrics"}
MAX_TEXT = 500


def check_published(raw: Any, test_splits: Sequence[str]) -> tuple[dict[str, Any] | None, list[tuple[KeyPath, str]]]:
    """(the normalized value, or None; every problem as (key path, message)) for the raw `published:` value."""
    path: KeyPath = ("published",)
    if not isinstance(raw, dict):
        return None, [(path, f"expected a mapping with keys source and splits, got {_kind(raw)}")]
    problems = [(path + (key,), f"unknown key (allowed: {', '.join(sorted(PUBLISHED_KEYS))})")
                for key in raw if key not in PUBLISHED_KEYS]
    problems += [(path, f"missing required key '{key}'") for key in sorted(PUBLISHED_KEYS) if key not in raw]
    source = raw.get("source")
    if "source" in raw and not _text(source):
        problems.append((path + ("source",), f"expected a non-empty line of text (at most {MAX_TEXT} characters), "
                                             f"got {short_repr(source)}"))
    splits = raw.get("splits")
    if "splits" in raw and not (isinstance(splits, dict) and splits):
        problems.append((path + ("splits",), f"expected a mapping of test split -> rows, got {_kind(splits)}"))
        splits = {}
    for split, rows in (splits or {}).items():
        problems += _split_problems(split, rows, path + ("splits", split), test_splits)
    if problems:
        return None, problems
    return {"source": source, "splits": {str(s): [dict(row) for row in rows] for s, rows in splits.items()}}, []


def _split_problems(split: Any, rows: Any, path: KeyPath, test_splits: Sequence[str]) -> list[tuple[KeyPath, str]]:
    problems = []
    if split not in test_splits:
        problems.append((path, f"'{split}' is not a test split of this suite (test splits: {', '.join(test_splits)})"))
    if not (isinstance(rows, list) and rows):
        return problems + [(path, f"expected a non-empty list of rows {{label, metrics}}, got {_kind(rows)}")]
    labels: set[str] = set()
    for i, row in enumerate(rows):
        problems += _row_problems(row, path + (i,), labels)
    return problems


def _row_problems(row: Any, path: KeyPath, labels: set[str]) -> list[tuple[KeyPath, str]]:
    if not isinstance(row, dict):
        return [(path, f"expected a mapping with keys label and metrics, got {_kind(row)}")]
    problems = [(path + (key,), f"unknown key (allowed: {', '.join(sorted(ROW_KEYS))})") for key in row if key not in ROW_KEYS]
    problems += [(path, f"missing required key '{key}'") for key in sorted(ROW_KEYS) if key not in row]
    label = row.get("label")
    if "label" in row and not _text(label):
        problems.append((path + ("label",), f"expected a non-empty line of text, got {short_repr(label)}"))
    elif label in labels:
        problems.append((path + ("label",), f"label {short_repr(label)} is used twice in this split"))
    labels.add(label if isinstance(label, str) else "")
    metrics = row.get("metrics")
    if "metrics" in row and not (isinstance(metrics, dict) and metrics):
        problems.append((path + ("metrics",), f"expected a non-empty mapping of metric -> number, got {_kind(metrics)}"))
        metrics = {}
    for name, value in (metrics or {}).items():
        if not _text(name):
            problems.append((path + ("metrics", name), "a metric name must be a non-empty line of text"))
        elif not _number(value):
            problems.append((path + ("metrics", name), f"expected a finite number, got {short_repr(value)}"))
    return problems


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value.isprintable() and len(value) <= MAX_TEXT


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)

"""Append-only result store: one JSON line per finished cell, flushed to disk at once.

A crash or kill loses at most the cell in flight; a torn last line is ignored
on reading. `--resume` reuses records whose key still matches the suite.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

RESULTS_FILE = "results.jsonl"


class ResultStore:
    def __init__(self, outdir: str | Path):
        self.outdir = Path(outdir)
        self.path = self.outdir / RESULTS_FILE

    def start_fresh(self) -> None:
        """Keep an earlier run's results under history/ instead of mixing them with this run's."""
        if self.path.exists() and self.path.stat().st_size:
            history = self.outdir / "history"
            history.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, history / f"results-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")

    def append(self, record: dict[str, Any]) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, default=_json_default)  # key order kept: it is the problem's metric order
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def records(self) -> list[dict[str, Any]]:
        """Every intact record; for a cell recorded twice (a resumed run), the last one."""
        latest: dict[str, dict[str, Any]] = {}
        for record in self._lines():
            latest[record["id"]] = record
        return list(latest.values())

    def _lines(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash mid-write

    def finished(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.records()}


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default))
    os.replace(tmp, path)


def safe_name(label: str) -> str:
    """A label made safe to use as a file name."""
    return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in label)


def artifact_name(label: str, rep: int, split: str | None = None) -> str:
    """`<label>[.rep<r>][.<split>]`: the stem of a job's files under dists/ and samples/."""
    stem = safe_name(label) + ("" if rep == 0 else f".rep{rep}")
    return stem if split is None else f"{stem}.{split}"

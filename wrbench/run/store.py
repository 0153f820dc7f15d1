"""Append-only result store: one JSON line per finished cell, flushed to disk at once.

A crash or kill loses at most the cell in flight. A torn last line (a crash
mid-write) is moved to a quarantine file before the next append, so the next
record is intact; malformed lines are skipped on reading, with a warning.
`--resume` reuses records whose key still matches the suite.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from wrbench.core.errors import warn
from wrbench.core.fsio import json_default

RESULTS_FILE = "results.jsonl"
REQUIRED_FIELDS: dict[str, type] = {"id": str, "key": str, "label": str, "rep": int, "status": str}
RECORD_FIELDS = ("id", "key", "kind", "label", "rep", "started", "finished")


class ResultStore:
    def __init__(self, outdir: str | Path):
        self.outdir = Path(outdir)
        self.path = self.outdir / RESULTS_FILE
        self.skipped = 0  # malformed lines the last read skipped

    def start_fresh(self) -> None:
        """Keep an earlier run's results under history/ instead of mixing them with this run's."""
        if self.path.exists() and self.path.stat().st_size:
            history = self.outdir / "history"
            history.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, history / f"results-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")

    def append(self, record: dict[str, Any]) -> None:
        """Append one record; one that cannot be encoded is replaced by an error record saying why, never dropped."""
        self.outdir.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        line = _encode(record)
        with open(self.path, "ab") as handle:
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def _repair_tail(self) -> None:
        """End the file on a newline: keep a complete last record, quarantine a torn fragment."""
        if not self.path.exists() or not self.path.stat().st_size:
            return
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        fragment = data[cut:]
        if _parse(fragment) is not None:  # the crash fell between the record and its newline
            with open(self.path, "ab") as handle:
                handle.write(b"\n")
            return
        quarantine = self.path.with_name(f"{RESULTS_FILE}.torn-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        quarantine.write_bytes(fragment)
        with open(self.path, "r+b") as handle:
            handle.truncate(cut)
        warn(f"{self.path}: the last line was torn (a crash mid-write?); moved its {len(fragment)} bytes to {quarantine.name}")

    def records(self) -> list[dict[str, Any]]:
        """Every intact record; for a cell recorded twice (a resumed run), the last one."""
        latest: dict[str, dict[str, Any]] = {}
        for record in self._lines():
            latest[record["id"]] = record
        if self.skipped:
            warn(f"{self.path}: skipped {self.skipped} malformed line(s) (not a job record)")
        return list(latest.values())

    def _lines(self) -> Iterator[dict[str, Any]]:
        self.skipped = 0
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = _parse(line)
                if record is None:
                    self.skipped += 1
                    continue
                yield record

    def finished(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.records()}


def _parse(line: bytes) -> dict[str, Any] | None:
    """The job record on `line`, or None for anything else (invalid UTF-8 or JSON, a bare value, missing fields)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if _is_record(record) else None


def _is_record(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for name, kind in REQUIRED_FIELDS.items():
        if not isinstance(value.get(name), kind) or isinstance(value.get(name), bool):
            return False
    splits = value.get("splits", {})
    return isinstance(splits, dict) and all(isinstance(s, dict) and isinstance(s.get("metrics"), dict) for s in splits.values())


def _encode(record: dict[str, Any]) -> bytes:
    """The record as one JSON line; if it cannot be encoded, an error record that names the reason."""
    try:
        text = json.dumps(record, default=json_default)  # key order kept: it is the problem's metric order
    except (TypeError, ValueError) as exc:
        fallback = {k: record[k] for k in RECORD_FIELDS if k in record}
        fallback.update(status="error", message=f"the job's record could not be written as JSON ({exc})")
        warn(f"{record.get('id', '?')}: {fallback['message']}")
        text = json.dumps(fallback, default=str)
    return text.encode("utf-8")

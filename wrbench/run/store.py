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
from typing import Iterator

from wrbench.core.errors import warn
from wrbench.core.fsio import json_default
from wrbench.run.record import ERROR, JobRecord

RESULTS_FILE = "results.jsonl"
IDENTITY_FIELDS = ("id", "key", "kind", "entry", "rep", "label", "component", "started", "finished")


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

    def append(self, record: JobRecord) -> None:
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

    def records(self) -> list[JobRecord]:
        """Every intact record; for a job recorded twice (a resumed run), the last one."""
        latest: dict[str, JobRecord] = {}
        for record in self._lines():
            latest[record.id] = record
        if self.skipped:
            warn(f"{self.path}: skipped {self.skipped} malformed line(s) (not a job record)")
        return list(latest.values())

    def _lines(self) -> Iterator[JobRecord]:
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

    def finished(self) -> dict[str, JobRecord]:
        return {r.id: r for r in self.records()}


def _parse(line: bytes) -> JobRecord | None:
    """The job record on `line`, or None for anything else (invalid UTF-8 or JSON, a bare value, missing fields)."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return JobRecord.from_json(value)


def _encode(record: JobRecord) -> bytes:
    """The record as one JSON line; if it cannot be encoded, an error record that names the reason."""
    data = record.to_json()
    try:
        text = json.dumps(data, default=json_default)  # key order kept: it is the problem's metric order
    except (TypeError, ValueError) as exc:
        fallback = {k: data[k] for k in IDENTITY_FIELDS if k in data}
        fallback.update(status=ERROR, message=f"the job's record could not be written as JSON ({exc})")
        warn(f"{record.id}: {fallback['message']}")
        text = json.dumps(fallback, default=str)
    return text.encode("utf-8")

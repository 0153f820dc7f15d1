"""Saved latency runs, kept per machine so that a run is compared with one timed on the same hardware.

A run lives in `STORAGE/<fingerprint id>/<name>.json`, where the fingerprint
id hashes `wrbench.core.machine.fingerprint(device)`. pytest-benchmark's own
storage keys runs by platform and Python only and keeps statistics, while the
significance rule needs every raw round and its paired calibration, so a run
keeps, per case id, the raw seconds of every round next to its `extra_info`,
and, per timed component, where its code comes from (`solvers`: plugin,
distribution, version and the commit of the checkout holding its source).
STORAGE defaults to a folder per user (`wrbench.latency.options.default_storage`),
so that runs are found from any working directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from wrbench.core.fsio import safe_name, write_json
from wrbench.core.machine import fingerprint, git_commit


def fingerprint_id(fp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def make_run(benchmarks: dict[str, dict[str, Any]], device: str, settings: dict[str, Any] | None = None,
             name: str | None = None, fp: dict[str, Any] | None = None,
             load: dict[str, list[float] | None] | None = None,
             solvers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A run record: the fingerprint, settings, the machine load around the run, the provenance of each timed
    component (`solvers`, see `wrbench.latency.cases.provenance`) and, per case id, extra info and the raw
    `rounds` (seconds)."""
    fp = fp if fp is not None else fingerprint(device)
    return {"format": 1, "name": name, "saved": time.time(), "commit": git_commit(), "fingerprint": fp,
            "fingerprint_id": fingerprint_id(fp), "settings": settings or {}, "load_average": load or {},
            "solvers": solvers or {}, "benchmarks": benchmarks}


def save_run(run: dict[str, Any], storage: Path, name: str) -> Path:
    run = dict(run, name=name, saved=time.time())
    path = Path(storage) / run["fingerprint_id"] / f"{safe_name(name)}.json"
    write_json(path, run, indent=1, sort_keys=True)
    return path


def load_run(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def saved_runs(storage: Path, fp_id: str | None = None) -> list[Path]:
    """Saved run files, oldest first (by their save time), on one fingerprint or all."""
    root = Path(storage)
    folders = [root / fp_id] if fp_id else [p for p in root.glob("*") if p.is_dir()]
    paths = [p for folder in folders if folder.is_dir() for p in folder.glob("*.json")]

    def saved(p: Path) -> float:
        try:
            return float(load_run(p).get("saved", p.stat().st_mtime))
        except (OSError, ValueError):
            return p.stat().st_mtime

    return sorted(paths, key=saved)


def find_baseline(storage: Path, fp_id: str, run: str | None) -> tuple[Path | None, str | None]:
    """(path, warning): the named run (a file path, or a name on this fingerprint, else on another one),
    or the last run saved on this fingerprint."""
    if run:
        direct = Path(run)
        if direct.suffix == ".json" and direct.is_file():
            return direct, None
        same = Path(storage) / fp_id / f"{safe_name(run)}.json"
        if same.is_file():
            return same, None
        others = [p for p in saved_runs(storage) if p.stem == safe_name(run)]
        if others:
            return others[-1], None
        return None, missing_run_message(storage, fp_id, run)
    mine = saved_runs(storage, fp_id)
    if mine:
        return mine[-1], None
    anywhere = saved_runs(storage)
    if anywhere:
        return anywhere[-1], "no saved run on this machine fingerprint; comparing with the last run saved on another one"
    return None, f"no saved run in {Path(storage).resolve()} to compare with"


def run_names(storage: Path, fp_id: str) -> tuple[list[str], dict[str, list[str]]]:
    """The names of the saved runs (oldest first): on this fingerprint, and per other fingerprint id."""
    mine = [p.stem for p in saved_runs(storage, fp_id)]
    others: dict[str, list[str]] = {}
    for p in saved_runs(storage):
        if p.parent.name != fp_id:
            others.setdefault(p.parent.name, []).append(p.stem)
    return mine, others


def missing_run_message(storage: Path, fp_id: str, run: str) -> str:
    """Why `--compare RUN` found nothing: the folder searched and the runs it does hold."""
    root = Path(storage).resolve()
    mine, others = run_names(storage, fp_id)
    text = f"no saved run named '{run}' in {root}"
    text += (f"; saved runs on this machine fingerprint ({fp_id}): {', '.join(mine)}" if mine
             else f"; no saved run on this machine fingerprint ({fp_id})")
    if others:
        names = sorted({n for group in others.values() for n in group})
        text += f"; runs on {len(others)} other machine fingerprint(s): {', '.join(names)}"
    return text

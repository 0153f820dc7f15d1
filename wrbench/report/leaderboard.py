"""Leaderboard: aggregate stored results over repetitions and rank by the suite's primary metric.

Reads only the output folder (results.jsonl, suite.json, meta.json), so a
leaderboard can be re-rendered without the plugins that produced it.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wrbench.run.plan import EXPERT
from wrbench.run.record import HARNESS_METRICS, OK, STATUSES, JobRecord
from wrbench.run.store import ResultStore


@dataclass
class Leaderboard:
    """One table per test split; rows are policies with `<metric>` means and `<metric>_std`."""

    title: str
    rank_by: str
    lower_is_better: frozenset[str]
    tables: dict[str, pd.DataFrame]
    metrics: list[str]
    meta: dict[str, Any]
    sweeps: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    sweep_plot: tuple[str, ...] = ()

    def json_rows(self) -> list[dict[str, Any]]:
        rows = []
        for split, table in self.tables.items():
            for record in table.to_dict(orient="records"):
                rows.append({"split": split, **{k: _clean(v) for k, v in record.items()}})
        return rows


def load(outdir: str | Path) -> Leaderboard:
    outdir = Path(outdir)
    meta = json.loads((outdir / "meta.json").read_text()) if (outdir / "meta.json").exists() else {}
    suite = json.loads((outdir / "suite.json").read_text()) if (outdir / "suite.json").exists() else {}
    records = ResultStore(outdir).records()
    if not records:
        raise FileNotFoundError(f"no results in {outdir} (expected {outdir / 'results.jsonl'})")
    order = {s["label"]: i for i, s in enumerate(suite.get("solvers", []))}
    records.sort(key=lambda r: (-1 if r.kind == EXPERT else order.get(r.entry, 1e9), r.rep))
    splits = [s["name"] for s in suite.get("splits", []) if s.get("role") == "test"] or ["test"]
    rank_by = meta.get("rank_by") or suite.get("rank_by", "")
    lower = frozenset(meta.get("lower_is_better", []))
    long = _long_rows(records, splits)
    metrics = _metric_order([m for r in records for split in r.metrics.values() for m in split], rank_by)
    tables = {split: _aggregate(long[long["split"] == split], metrics, rank_by, lower) for split in splits}
    sweeps = sweep_points(suite.get("splits", []))
    plot = tuple(suite.get("sweep_plot") or ([rank_by] if rank_by else []))
    return Leaderboard(suite.get("name", outdir.name), rank_by, lower, tables, metrics, meta, sweeps, plot)


def sweep_points(splits: list[dict[str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    """Each swept parameter's (split, value) points, in value order. A test split that differs from the sweep's
    splits in the swept parameter alone (the suite's own `test` split, typically) is a point of the sweep too."""
    sweeps: dict[str, list[tuple[str, Any]]] = {}
    for split in splits:
        if split.get("sweep"):
            sweeps.setdefault(split["sweep"], []).append((split["name"], split["params"][split["sweep"]]))
    for param, points in sweeps.items():
        swept = {name for name, _ in points}
        context = [{k: v for k, v in s["params"].items() if k != param} for s in splits if s["name"] in swept]
        for split in splits:
            same_context = {k: v for k, v in split["params"].items() if k != param} in context
            if split.get("role") == "test" and split["name"] not in swept and param in split["params"] and same_context:
                points.append((split["name"], split["params"][param]))
        points.sort(key=lambda point: point[1])
    return sweeps


def _long_rows(records: list[JobRecord], splits: list[str]) -> pd.DataFrame:
    """One row per (record, split); a record without metrics (failed, skipped) appears in every split."""
    rows = []
    for r in records:
        base = {"label": r.label or r.entry, "entry": r.entry, "solver": r.component or r.entry, "kind": r.kind,
                "rep": r.rep, "status": r.status, "message": r.message, "fit_seconds": r.fit_seconds}
        for split in splits:
            rows.append({**base, "split": split, **r.metrics.get(split, {})})
    return pd.DataFrame(rows)


def _metric_order(seen: list[str], rank_by: str) -> list[str]:
    ordered = list(dict.fromkeys(m for m in seen if not m.endswith("_std") and m not in HARNESS_METRICS))
    if rank_by in ordered:
        ordered.remove(rank_by)
        ordered.insert(0, rank_by)
    return ordered + [m for m in HARNESS_METRICS if m in seen or m == "fit_seconds"]


def _aggregate(df: pd.DataFrame, metrics: list[str], rank_by: str, lower: frozenset[str]) -> pd.DataFrame:
    out = []
    for entry, group in df.groupby("entry", sort=False):
        row: dict[str, Any] = {"entry": entry, "label": group["label"].iloc[0], "solver": group["solver"].iloc[0],
                               "kind": group["kind"].iloc[0]}
        statuses = list(group["status"])
        worst = max(statuses, key=lambda s: STATUSES.index(s) if s in STATUSES else len(STATUSES))
        row["status"] = worst if statuses.count(worst) == len(statuses) else f"{worst} ({statuses.count(worst)}/{len(statuses)})"
        failed = group[group["status"] != OK]
        row["message"] = failed["message"].iloc[0] if len(failed) else ""
        row["repetitions"] = int((group["status"] == OK).sum())
        ok = group[group["status"] == OK]
        for metric in metrics:
            values = pd.to_numeric(ok[metric], errors="coerce").dropna() if metric in ok else pd.Series(dtype=float)
            row[metric] = float(values.mean()) if len(values) else math.nan
            row[f"{metric}_std"] = float(values.std(ddof=0)) if len(values) else math.nan
        out.append(row)
    table = pd.DataFrame(out)
    if table.empty or rank_by not in table:
        return table
    ascending = rank_by in lower
    table["_failed"] = table[rank_by].isna()
    table = table.sort_values(["_failed", rank_by], ascending=[True, ascending], kind="stable").drop(columns="_failed")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value

"""Leaderboard: aggregate stored results over networks x repetitions, with intervals, and rank by the board's rule.

Reads only the output folder (results.jsonl, suite.json, meta.json, dists/) or a
published board's evidence/ (`wrbench.report.evidence`), so a leaderboard can be
re-rendered without the plugins that produced it. A metric
with per-network values gets its mean over all networks of all repetitions and
a 95 % t-interval (`<metric>_ci`); a pooled quantile gets a cluster-bootstrap
interval over networks; the objective also gets its paired difference against
the expert's row on the same networks (`<objective>_diff`, `_diff_ci`).
`<metric>_std` is the sample std (ddof = 1) of the per-repetition values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wrbench.core.fsio import artifact_name
from wrbench.report.evidence import Evidence
from wrbench.report.frontier import (SPEEDUP_DEFINITION, apply_matched_speedup, budget_entries, curve_records,
                                     frontier_points, matched_expert)
from wrbench.report.intervals import mean_interval, paired_difference, quantile_interval
from wrbench.report.ranking import RankingRule, RankRow, order, ranks
from wrbench.run.plan import EXPERT
from wrbench.run.record import HARNESS_METRICS, OK, STATUSES, JobRecord


@dataclass
class Leaderboard:
    """One table per test split; rows are policies with `<metric>` means, `<metric>_std` and `<metric>_ci`."""

    title: str
    rank_by: str
    lower_is_better: frozenset[str]
    tables: dict[str, pd.DataFrame]
    metrics: list[str]
    meta: dict[str, Any]
    sweeps: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    sweep_plot: tuple[str, ...] = ()
    ranking: RankingRule | None = None
    source: Path = Path(".")  # the folder the results (and the plots' distributions) are read from
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)  # entry -> where the row comes from
    fingerprints: dict[str, dict[str, str]] = field(default_factory=dict)  # split -> repetition -> instance hash
    problem: str = ""
    frontier: list[dict[str, Any]] = field(default_factory=list)  # cost-quality points (`wrbench.report.frontier`)
    published: dict[str, Any] = field(default_factory=dict)  # the suite's published figures (report/published.py)

    def json_rows(self) -> list[dict[str, Any]]:
        rows = []
        for split, table in self.tables.items():
            for record in table.to_dict(orient="records"):
                rows.append({"split": split, **{k: _clean(v) for k, v in record.items()}})
        return rows

    def json_frontier(self) -> list[dict[str, Any]]:
        return [{k: _clean(v) for k, v in point.items()} for point in self.frontier]


def load(outdir: str | Path) -> Leaderboard:
    outdir = Path(outdir)
    evidence = Evidence.of_board(outdir)
    meta, suite, records = evidence.meta, evidence.suite, evidence.records
    if not records:
        raise FileNotFoundError(f"no results in {outdir} (expected {outdir / 'results.jsonl'})")
    order_of = {s["label"]: i for i, s in enumerate(suite.get("solvers", []))}
    records.sort(key=lambda r: (-1 if r.kind == EXPERT else order_of.get(r.entry, 1e9), r.rep))
    splits = [s["name"] for s in suite.get("splits", []) if s.get("role") == "test"] or ["test"]
    lower = frozenset(meta.get("lower_is_better", []))
    rule = ranking_rule(meta, suite, lower)
    metrics = _metric_order([m for r in records for split in r.metrics.values() for m in split], rule.objective)
    quantiles = {m: (d, float(q)) for m, (d, q) in meta.get("quantile_metrics", {}).items()}
    points_only = budget_entries(suite)
    rows = [r for r in records if r.entry not in points_only]
    tables = {split: _table(rows, split, metrics, rule, quantiles, evidence.root) for split in splits}
    frontier = []
    if suite.get("frontier"):
        on_curves = curve_records(suite, records)
        for split in splits:
            points = frontier_points(suite, split, _table(on_curves, split, metrics, rule, quantiles, evidence.root),
                                     rule, metrics)
            matched = matched_expert(points, (suite.get("expert") or {}).get("label", ""))
            if matched is not None:
                tables[split] = apply_matched_speedup(tables[split], matched)
                meta.setdefault("matched_expert", {})[split] = {"budget": matched.budget, "seconds": matched.seconds}
            frontier += points
        if meta.get("matched_expert"):
            meta["metric_definitions"] = {**meta.get("metric_definitions", {}), "speedup": SPEEDUP_DEFINITION}
    paired = f"{rule.objective}_diff"
    if any(paired in t for t in tables.values()):
        metrics.insert(metrics.index(rule.objective) + 1 if rule.objective in metrics else 0, paired)
    sweeps = sweep_points(suite.get("splits", []))
    plot = tuple(suite.get("sweep_plot") or [rule.objective])
    fingerprints: dict[str, dict[str, str]] = {}
    for (rep, split), value in sorted(evidence.fingerprints().items()):
        fingerprints.setdefault(split, {})[str(rep)] = value
    return Leaderboard(suite.get("name", outdir.name), rule.objective, lower, tables, metrics, meta, sweeps, plot, rule,
                       evidence.root, evidence.provenance, fingerprints, (suite.get("problem") or {}).get("name", ""),
                       frontier, suite.get("published") or {})


def ranking_rule(meta: dict[str, Any], suite: dict[str, Any], lower: frozenset[str]) -> RankingRule:
    """The rule the run recorded; for an output folder of an older wrbench, its single `rank_by` metric."""
    recorded = meta.get("ranking")
    if recorded:
        return RankingRule(recorded["objective"], bool(recorded.get("higher_is_better", True)), recorded.get("constraint"),
                           float(recorded.get("tolerance", 0.0)))
    metric = meta.get("rank_by") or suite.get("rank_by", "")
    return RankingRule(metric, metric not in lower)


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


def _metric_order(seen: list[str], rank_by: str) -> list[str]:
    ordered = list(dict.fromkeys(m for m in seen if not m.endswith("_std") and m not in HARNESS_METRICS))
    if rank_by in ordered:
        ordered.remove(rank_by)
        ordered.insert(0, rank_by)
    return ordered + [m for m in HARNESS_METRICS if m in seen or m == "fit_seconds"]


class _Units:
    """Per-network values of one split, aligned across rows: repetition by repetition, NaN where a row has none."""

    def __init__(self, records: list[JobRecord], split: str):
        self.sizes: dict[int, int] = {}
        for r in records:
            for values in r.per_instance.get(split, {}).values():
                self.sizes.setdefault(r.rep, len(values))

    def aligned(self, group: list[JobRecord], split: str, metric: str) -> np.ndarray | None:
        """The row's values over all units, or None when no repetition of it has per-network values for `metric`."""
        by_rep = {r.rep: r.per_instance.get(split, {}).get(metric) for r in group if r.status == OK}
        if not any(v is not None for v in by_rep.values()):
            return None
        parts = [np.asarray(by_rep[rep], dtype=float) if by_rep.get(rep) is not None and len(by_rep[rep]) == size
                 else np.full(size, math.nan) for rep, size in sorted(self.sizes.items())]
        return np.concatenate(parts) if parts else None


def _table(records: list[JobRecord], split: str, metrics: list[str], rule: RankingRule,
           quantiles: dict[str, tuple[str, float]], outdir: Path) -> pd.DataFrame:
    units = _Units(records, split)
    groups: dict[str, list[JobRecord]] = {}
    for r in records:
        groups.setdefault(r.entry, []).append(r)
    rows, aligned = [], []
    for entry, group in groups.items():
        row = _row_head(entry, group)
        values = {m: units.aligned(group, split, m) for m in metrics}
        # each distribution read once per row, however many quantile metrics it serves
        clusters = {d: _clusters(outdir, entry, group, split, d) for d in {d for d, _ in quantiles.values()}}
        for metric in metrics:
            per_rep = pd.Series([_value(r, split, metric) for r in group if r.status == OK], dtype=object)
            per_rep = pd.to_numeric(per_rep, errors="coerce").dropna()
            row[metric] = float(per_rep.mean()) if len(per_rep) else math.nan
            row[f"{metric}_std"] = float(per_rep.std(ddof=1)) if len(per_rep) > 1 else math.nan
            row[f"{metric}_ci"] = None
            if values[metric] is not None and not np.isnan(values[metric]).all():
                row[metric] = float(np.nanmean(values[metric]))
                row[f"{metric}_ci"] = _interval(mean_interval(values[metric]))
            if metric in quantiles and row["repetitions"] and values[metric] is None:  # pooled, not per network
                distribution, q = quantiles[metric]
                estimate, low, high = quantile_interval(clusters[distribution], q)
                if not math.isnan(estimate):
                    row[metric], row[f"{metric}_ci"] = estimate, _interval((low, high))
        rows.append(row)
        aligned.append(values)
    _paired_with_expert(rows, aligned, rule.objective)
    return _ranked(pd.DataFrame(rows), aligned, rule)


def _row_head(entry: str, group: list[JobRecord]) -> dict[str, Any]:
    first = group[0]
    row: dict[str, Any] = {"entry": entry, "label": first.label or entry, "solver": first.component or entry, "kind": first.kind}
    statuses = [r.status for r in group]
    worst = max(statuses, key=lambda s: STATUSES.index(s) if s in STATUSES else len(STATUSES))
    row["status"] = worst if statuses.count(worst) == len(statuses) else f"{worst} ({statuses.count(worst)}/{len(statuses)})"
    failed = [r for r in group if r.status != OK]
    row["message"] = failed[0].message if failed else ""
    row["repetitions"] = sum(r.status == OK for r in group)
    return row


def _value(record: JobRecord, split: str, metric: str) -> Any:
    """One repetition's value of a metric; the fit time is the record's own, shared by its splits."""
    return record.fit_seconds if metric == "fit_seconds" else record.metrics.get(split, {}).get(metric)


def _clusters(outdir: Path, entry: str, group: list[JobRecord], split: str, distribution: str) -> list[np.ndarray]:
    """The rows (one per network) of a distribution the cells saved, over the row's repetitions."""
    clusters: list[np.ndarray] = []
    for r in group:
        path = outdir / "dists" / f"{artifact_name(entry, r.rep, split)}.npz"
        if r.status != OK or not path.exists():
            continue
        with np.load(path, allow_pickle=False) as data:
            key = f"dist:{distribution}"
            if key in data.files:
                array = data[key]
                clusters += list(array) if array.ndim == 2 else [array]
    return clusters


def _paired_with_expert(rows: list[dict[str, Any]], aligned: list[dict[str, np.ndarray | None]], objective: str) -> None:
    """`<objective>_diff` and its interval: each row minus the expert's row, network by network."""
    expert = next((values for row, values in zip(rows, aligned) if row["kind"] == EXPERT), None)
    if expert is None or expert.get(objective) is None:
        return
    for row, values in zip(rows, aligned):
        if values.get(objective) is None:
            continue
        mean, low, high = paired_difference(values[objective], expert[objective])
        row[f"{objective}_diff"], row[f"{objective}_diff_ci"] = mean, _interval((low, high))


def _ranked(table: pd.DataFrame, aligned: list[dict[str, np.ndarray | None]], rule: RankingRule) -> pd.DataFrame:
    if table.empty or rule.objective not in table:
        return table
    constraint = rule.constraint if rule.constraint in table else None
    rule = RankingRule(rule.objective, rule.higher_is_better, constraint, rule.tolerance)
    rank_rows = [RankRow(float(row[rule.objective]), float(row[constraint]) if constraint else math.nan,
                         values.get(rule.objective), values.get(constraint) if constraint else None)
                 for row, values in zip(table.to_dict(orient="records"), aligned)]
    best_first = order(rank_rows, rule)
    table = table.iloc[best_first].reset_index(drop=True)
    table.insert(0, "rank", ranks(rank_rows, rule))
    return table


def _interval(bounds: tuple[float, float]) -> list[float] | None:
    low, high = bounds
    return None if math.isnan(low) or math.isnan(high) else [low, high]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value

"""Cost-quality frontiers: each swept policy's quality against its seconds per network, and the matched speedup.

A suite's `frontier` runs a policy at several values of its budget parameter (denoiser calls, expert rounds) on
the same networks under the same evaluation draws; a solver's own row is one more point (the expert's row is timed
without a warm-up call, so the expert's own budget gets an entry of its own). Each point carries the
policy's metrics with their intervals, the paired difference of the objective against the reference, and
whether it reaches the expert's quality: the objective not significantly worse than the reference's (the 95 %
interval of the paired difference reaches 0) and the constraint metric within the ranking rule's tolerance. The
reference is the expert re-solved at its own budget as a frontier entry, so that it shares the sampling seed of
every other expert point (two solves with different random starts differ by a fraction of a percent, which the
paired interval over a few hundred links can resolve); without an expert frontier, the expert's row.

The speedup of a row is then taken against the cheapest point of the expert's own curve that reaches its
quality, not against whatever budget the suite gave the expert (`matched_speedup`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from wrbench.report.ranking import RankingRule
from wrbench.run.plan import EXPERT
from wrbench.run.record import SINGLE_SECONDS, JobRecord

SECONDS = "sample_seconds_per_network"
# a point's record holds the expert's time on the suite's own budget: not what the board's speedup is taken against
UNMATCHED = ("speedup", "expert_seconds_per_network")
SPEEDUP_DEFINITION = ("expert_seconds_per_network / sample_seconds_per_network, where expert_seconds_per_network is "
                      "the cheapest budget on the expert's frontier whose objective is not significantly below the "
                      "expert's at its own budget (95 % paired interval, same networks and seeds) and whose "
                      "constraint metric is within tolerance")


@dataclass(frozen=True)
class MatchedExpert:
    """The expert's cheapest budget that reaches its own quality, on one split."""

    budget: Any
    seconds: float


def curve_records(suite: dict[str, Any], records: list[JobRecord]) -> list[JobRecord]:
    """The records of every curve's points plus the reference their quality is paired against: the expert re-solved
    at its own budget as a frontier entry (same sampling seed and timing as every other point, so two runs of one
    policy differ only by their budgets), or the expert's row where the expert has no frontier."""
    curves = suite.get("frontier", [])
    entries = budget_entries(suite)
    own = own_budget_entry(suite)
    policies = {c["policy"] for c in curves}
    chosen = [r for r in records if r.entry in entries or (r.kind == EXPERT and own is None)
              or (r.kind != EXPERT and r.label in policies)]
    return [replace(r, kind=EXPERT) if r.entry == own else r for r in chosen]


def budget_entries(suite: dict[str, Any]) -> set[str]:
    """The labels of the solver entries a frontier added (points, not rows of the ranked table)."""
    return {s["label"] for s in suite.get("solvers", []) if s.get("frontier_of")}


def own_budget_entry(suite: dict[str, Any]) -> str | None:
    """The label of the expert's frontier entry at the expert's own budget (None: the expert has no frontier)."""
    expert = (suite.get("expert") or {}).get("label")
    for curve in suite.get("frontier", []):
        if curve["policy"] == expert:
            return next((s["label"] for s in suite.get("solvers", []) if s.get("frontier_of") == expert
                         and s.get("params", {}).get(curve["param"]) == curve["base"]), None)
    return None


def frontier_points(suite: dict[str, Any], split: str, table: pd.DataFrame, rule: RankingRule,
                    metrics: list[str]) -> list[dict[str, Any]]:
    """The points of every curve of `suite["frontier"]` on one split, from a table holding the curves' own rows,
    their budget entries and the expert's row (with `<objective>_diff` against it), cheapest first per curve."""
    rows = {row["label"]: row for row in table.to_dict(orient="records")}
    budget_of = {s["label"]: (s.get("frontier_of"), s.get("params", {})) for s in suite.get("solvers", [])}
    points = []
    for curve in suite.get("frontier", []):
        own = rows.get(curve["policy"])
        members = [] if own is None or own.get("kind") == EXPERT else [(curve["base"], own)]
        members += [(params.get(curve["param"]), rows.get(label)) for label, (of, params) in budget_of.items()
                    if of == curve["policy"]]
        curve_points = [_point(curve, split, budget, row, rule, metrics) for budget, row in members
                        if row is not None and row.get("repetitions")]
        points += sorted(curve_points, key=lambda p: (_finite(p.get(SECONDS)), str(p["budget"])))
    return points


def _point(curve: dict[str, Any], split: str, budget: Any, row: dict[str, Any], rule: RankingRule,
           metrics: list[str]) -> dict[str, Any]:
    point = {"split": split, "solver": curve["policy"], "component": row.get("solver"), "param": curve["param"],
             "budget": budget}
    for metric in (SECONDS, SINGLE_SECONDS, *metrics, f"{rule.objective}_diff"):
        if metric in row and metric not in UNMATCHED:
            point[metric] = row[metric]
            if row.get(f"{metric}_ci") is not None:
                point[f"{metric}_ci"] = row[f"{metric}_ci"]
    point["reaches_expert"] = reaches_expert(row, rule)
    return point


def reaches_expert(row: dict[str, Any], rule: RankingRule) -> bool:
    """Objective not significantly worse than the expert's row (paired 95 % interval), constraint within tolerance.
    A row without the paired difference (an objective with no per-network values) cannot be judged and never does."""
    diff, ci = row.get(f"{rule.objective}_diff"), row.get(f"{rule.objective}_diff_ci")
    if diff is None or (isinstance(diff, float) and math.isnan(diff)):
        return False
    if ci is not None:
        good_end = ci[1] if rule.higher_is_better else ci[0]
        quality = good_end >= 0 if rule.higher_is_better else good_end <= 0
    else:
        quality = diff >= 0 if rule.higher_is_better else diff <= 0
    if rule.constraint and rule.constraint in row:
        constraint = row[rule.constraint]
        return bool(quality and constraint is not None and not math.isnan(float(constraint))
                    and float(constraint) <= rule.tolerance)
    return bool(quality)


def matched_expert(points: list[dict[str, Any]], expert_label: str) -> MatchedExpert | None:
    """The cheapest point of the expert's curve that reaches its quality (None: the expert has no frontier)."""
    reaching = [p for p in points if p["solver"] == expert_label and p["reaches_expert"]
                and math.isfinite(_finite(p.get(SECONDS)))]
    if not reaching:
        return None
    best = min(reaching, key=lambda p: p[SECONDS])
    return MatchedExpert(best["budget"], float(best[SECONDS]))


def apply_matched_speedup(table: pd.DataFrame, matched: MatchedExpert) -> pd.DataFrame:
    """Every row's `speedup` against the matched expert budget (its `expert_seconds_per_network` becomes that)."""
    table = table.copy()
    seconds = pd.to_numeric(table[SECONDS], errors="coerce")
    table["expert_seconds_per_network"] = matched.seconds
    table["speedup"] = matched.seconds / seconds.where(seconds > 0)
    for metric in ("expert_seconds_per_network", "speedup"):
        for suffix in ("_std", "_ci"):
            if f"{metric}{suffix}" in table:
                table[f"{metric}{suffix}"] = None if suffix == "_ci" else math.nan
    return table


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf


def point_columns(points: list[dict[str, Any]], objective: str, headline: list[str]) -> list[str]:
    """The columns of a frontier table: cost first, then the objective, its paired difference and the headline."""
    wanted = [SECONDS, SINGLE_SECONDS, objective, f"{objective}_diff", *headline]
    return [m for m in dict.fromkeys(wanted) if m and any(m in p for p in points)]


def point_rows(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Frontier points as table rows: `label` names policy and budget, `status` whether it reaches the expert."""
    return [{**p, "rank": "", "label": f"{p['solver']} @ {p['param']}={p['budget']}",
             "status": "reaches expert" if p.get("reaches_expert") else "below expert"} for p in points]

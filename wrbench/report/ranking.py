"""The board's ranking rule: policies that meet the constraints rank by the objective, the others after them.

Ranking by the objective alone crowns a policy that ignores the constraints;
ranking by the constraint alone crowns one that switches links off in turn
(TDMA). The rule here cannot be gamed either way: no row ranks above one that
is at least as feasible and has a better objective. Rows whose paired
difference in the ranking metric is not significant share a rank.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wrbench.report.intervals import paired_difference


@dataclass(frozen=True)
class RankingRule:
    objective: str  # metric name ranked on
    higher_is_better: bool  # direction of the objective
    constraint: str | None = None  # lower is better, 0 = every constraint met; None: rank by the objective alone
    tolerance: float = 0.0  # a row meets the constraint when its constraint mean is at most this

    def describe(self) -> str:
        """One plain sentence for the board, so readers know why a row sits where it does."""
        direction = "higher" if self.higher_is_better else "lower"
        ties = ("Adjacent rows whose paired difference in the ranking metric is not significant "
                "(95 % interval contains 0) share a rank, marked '='.")
        if self.constraint is None:
            return f"Ranked by {self.objective} ({direction} is better); {ties[0].lower()}{ties[1:]}"
        return (f"Rows with {self.constraint} <= {self.tolerance:g} meet the QoS and rank first, by "
                f"{self.objective} ({direction} is better); the others follow by {self.constraint} "
                f"(lower is better). {ties}")


@dataclass
class RankRow:
    objective: float  # mean over units; NaN: the row has no result
    constraint: float = math.nan  # mean over units; ignored when the rule has no constraint
    objective_units: np.ndarray | None = None  # per-network values, aligned across rows (NaN where missing)
    constraint_units: np.ndarray | None = None

    def meets(self, rule: RankingRule) -> bool:
        """Whether the row is in the group ranked by the objective (every row, under a single-metric rule)."""
        return rule.constraint is None or self.constraint <= rule.tolerance

    def failed(self, rule: RankingRule) -> bool:
        """Whether the row lacks a value the rule ranks on, so it can only go last."""
        return math.isnan(self.objective) or (rule.constraint is not None and math.isnan(self.constraint))


def order(rows: list[RankRow], rule: RankingRule) -> list[int]:
    """Row indices best first: meeting rows by objective (then constraint), the others by constraint (then
    objective), failed rows last in their input order; sorting is stable, so full ties keep input order."""
    sign = -1.0 if rule.higher_is_better else 1.0

    def key(i: int) -> tuple[int, float, float]:
        row = rows[i]
        if row.failed(rule):
            return (2, 0.0, 0.0)
        if row.meets(rule):
            return (0, sign * row.objective, 0.0 if rule.constraint is None else row.constraint)
        return (1, row.constraint, sign * row.objective)

    return sorted(range(len(rows)), key=key)


def ranks(rows: list[RankRow], rule: RankingRule, level: float = 0.95) -> list[str]:
    """Competition-rank labels aligned with `order(rows, rule)`, e.g. "1", "2=", "2=", "4"; failed rows "-".

    A row shares the rank of the row just above it when both are in the same group and their paired
    difference is not significant, so the board claims no order the data cannot support.
    """
    ordered = [rows[i] for i in order(rows, rule)]
    labels: list[str] = []
    shared = [False] * len(ordered)
    for position, row in enumerate(ordered):
        if row.failed(rule):
            labels.append("-")
        elif position and _tied(ordered[position - 1], row, rule, level):
            labels.append(labels[-1])
            shared[position] = shared[position - 1] = True
        else:
            labels.append(str(position + 1))
    return [f"{label}=" if is_shared else label for label, is_shared in zip(labels, shared)]


def _tied(above: RankRow, below: RankRow, rule: RankingRule, level: float) -> bool:
    """Whether two adjacent rows of one group differ insignificantly in the group's ranking metric."""
    if above.meets(rule) != below.meets(rule):
        return False
    by_objective = above.meets(rule)
    a = above.objective_units if by_objective else above.constraint_units
    b = below.objective_units if by_objective else below.constraint_units
    if a is None or b is None:
        return False
    _, low, high = paired_difference(a, b, level)
    return low <= 0.0 <= high  # False when the interval is NaN

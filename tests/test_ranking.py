"""The leaderboard's ranking rule: feasible rows first by objective, ties only where the data allow."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, strategies as st

from wrbench.report.ranking import RankingRule, RankRow, order, ranks

QOS = RankingRule("mean_rate", higher_is_better=True, constraint="violation", tolerance=0.01)
UNITS = 24


def _row(objective: float, constraint: float, spread: float = 0.0, seed: int = 0) -> RankRow:
    """A row whose per-network values scatter around the given means (spread 0: no units recorded)."""
    if not spread:
        return RankRow(objective, constraint)
    noise = np.random.default_rng(seed).normal(0.0, spread, UNITS)
    return RankRow(objective, constraint, objective + noise, constraint + noise)


def _sorted(rows: list[RankRow], rule: RankingRule) -> list[tuple[int, str]]:
    return list(zip(order(rows, rule), ranks(rows, rule)))


def test_feasible_rows_rank_first_by_objective_and_failed_rows_last():
    optimum, tdma, mixture, failed = _row(1.0, 0.0), _row(0.46, 0.0), _row(0.84, 0.03), _row(math.nan, math.nan)
    rows = [failed, mixture, tdma, optimum]
    assert _sorted(rows, QOS) == [(3, "1"), (2, "2"), (1, "3"), (0, "-")]


def test_failed_rows_keep_their_input_order():
    rows = [_row(math.nan, 0.0), _row(0.5, 0.0), _row(0.7, math.nan)]
    assert order(rows, QOS) == [1, 0, 2]
    assert ranks(rows, QOS) == ["1", "-", "-"]


def test_infeasible_rows_rank_by_constraint_then_objective():
    rows = [_row(0.9, 0.2), _row(0.3, 0.05), _row(0.5, 0.05), _row(0.1, 0.0)]
    assert order(rows, QOS) == [3, 2, 1, 0]


def test_full_ties_keep_input_order():
    rows = [_row(0.5, 0.0), _row(0.5, 0.0), _row(0.5, 0.0)]
    assert order(rows, QOS) == [0, 1, 2]


def test_rows_differing_by_noise_share_a_rank():
    base = np.random.default_rng(1).uniform(0.5, 1.0, UNITS)
    wiggle = 0.001 * (-1.0) ** np.arange(UNITS)  # paired differences of mean 0: certainly not significant
    rows = [RankRow(float(x.mean()), 0.0, x, np.zeros(UNITS)) for x in (base, base + wiggle, base - 0.2)]
    assert [label for _, label in _sorted(rows, QOS)] == ["1=", "1=", "3"]


def test_a_chain_of_insignificant_differences_shares_one_rank():
    base = np.random.default_rng(2).uniform(0.5, 1.0, UNITS)
    wiggle = 0.001 * (-1.0) ** np.arange(UNITS)
    units = [base + 0.5, base, base + wiggle, base - wiggle]
    rows = [RankRow(float(x.mean()), 0.0, x, np.zeros(UNITS)) for x in units]
    assert ranks(rows, QOS) == ["1", "2=", "2=", "2="]


def test_clearly_different_rows_do_not_share_a_rank():
    rows = [_row(0.9, 0.0, spread=0.01, seed=3), _row(0.6, 0.0, spread=0.01, seed=4)]
    assert ranks(rows, QOS) == ["1", "2"]


def test_infeasible_rows_tie_on_the_constraint_not_the_objective():
    shared = np.random.default_rng(5).uniform(0.0, 1.0, UNITS)
    wiggle = 0.001 * (-1.0) ** np.arange(UNITS)
    violation = 0.05 + 0.01 * shared
    far_apart = RankRow(0.9, float(violation.mean()), np.full(UNITS, 0.9), violation)
    close_in_violation = RankRow(0.2, float((violation + wiggle).mean()), np.full(UNITS, 0.2), violation + wiggle)
    assert ranks([far_apart, close_in_violation], QOS) == ["1=", "1="]


def test_rows_in_different_groups_never_share_a_rank():
    units = np.random.default_rng(6).uniform(0.5, 1.0, UNITS)
    meets = RankRow(float(units.mean()), 0.010, units, np.full(UNITS, 0.010))
    misses = RankRow(float(units.mean()), 0.011, units.copy(), np.full(UNITS, 0.011))
    assert _sorted([misses, meets], QOS) == [(1, "1"), (0, "2")]


def test_rows_without_units_keep_the_point_order():
    rows = [_row(0.5, 0.0), _row(0.5 - 1e-9, 0.0)]
    assert ranks(rows, QOS) == ["1", "2"]


def test_single_metric_rule_lower_is_better_ignores_the_constraint():
    rule = RankingRule("latency", higher_is_better=False)
    rows = [RankRow(3.0), RankRow(1.0, constraint=5.0), RankRow(math.nan), RankRow(2.0)]
    assert _sorted(rows, rule) == [(1, "1"), (3, "2"), (0, "3"), (2, "-")]
    assert all(row.meets(rule) for row in rows)


def test_single_metric_rule_ties_on_the_objective():
    rule = RankingRule("exceed_ratio", higher_is_better=True)
    base = np.random.default_rng(7).uniform(0.0, 1.0, UNITS)
    wiggle = 0.001 * (-1.0) ** np.arange(UNITS)
    rows = [RankRow(float(x.mean()), objective_units=x) for x in (base - 0.3, base, base + wiggle)]
    assert _sorted(rows, rule) == [(1, "1="), (2, "1="), (0, "3")]


def test_meets_uses_the_tolerance():
    assert RankRow(0.5, 0.01).meets(QOS)
    assert not RankRow(0.5, 0.0101).meets(QOS)
    assert not RankRow(0.5, math.nan).meets(QOS)


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(st.lists(st.tuples(finite, st.floats(0.0, 1.0)), min_size=1, max_size=12),
       st.floats(0.0, 1.0), st.booleans())
def test_no_row_ranks_above_one_at_least_as_feasible_with_a_better_objective(points, tolerance, higher):
    rule = RankingRule("objective", higher, "constraint", tolerance)
    rows = [RankRow(objective, constraint) for objective, constraint in points]
    best_first = order(rows, rule)
    assert sorted(best_first) == list(range(len(rows)))
    for position, i in enumerate(best_first):
        for j in best_first[position + 1:]:
            better = rows[j].objective > rows[i].objective if higher else rows[j].objective < rows[i].objective
            assert not (rows[j].constraint <= rows[i].constraint and better)


def test_describe_names_the_metrics_and_the_tolerance():
    text = QOS.describe()
    assert "mean_rate" in text and "violation <= 0.01" in text and "higher is better" in text
    assert "'='" in text
    single = RankingRule("exceed_ratio", higher_is_better=False).describe()
    assert single.startswith("Ranked by exceed_ratio (lower is better); adjacent rows")
    assert "violation" not in single

"""The significance rule of `wrbench bench --compare`: raw rounds against raw rounds, never mean against mean.

A latency counts as *regressed* only when both hold:
- the median of the current rounds exceeds the baseline median by more than the
  threshold (`--fail-over PCT`), and
- a one-sided Mann-Whitney U test on the raw rounds says the current rounds are
  stochastically larger, p < alpha (0.01 by default).

Runs measured on different machine fingerprints are compared for information
only: the verdict is reported, but never fails the command.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import mannwhitneyu

ALPHA = 0.01


@dataclass
class Comparison:
    """One benchmark, baseline against current."""

    name: str
    baseline_median: float | None
    current_median: float | None
    p_slower: float | None = None
    p_faster: float | None = None
    verdict: str = "unchanged"
    fails: bool = False

    @property
    def ratio(self) -> float | None:
        if not self.baseline_median or self.current_median is None:
            return None
        return self.current_median / self.baseline_median

    @property
    def change_pct(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else 100.0 * (ratio - 1.0)

    @property
    def p_value(self) -> float | None:
        """The one-sided p-value in the direction the medians moved."""
        ratio = self.ratio
        if ratio is None:
            return None
        return self.p_slower if ratio >= 1 else self.p_faster


def min_p_value(n_baseline: int, n_current: int) -> float:
    """The smallest one-sided p-value an exact Mann-Whitney U test can give with these round counts."""
    return 1.0 / math.comb(n_baseline + n_current, n_baseline)


def compare_rounds(
    name: str,
    baseline: Sequence[float] | None,
    current: Sequence[float] | None,
    *,
    fail_over_pct: float | None = None,
    alpha: float = ALPHA,
    same_machine: bool = True,
) -> Comparison:
    """Verdict for one benchmark from the raw rounds (seconds) of the baseline and current runs.

    Verdicts: `regressed` (slower by more than fail_over_pct and significant),
    `slower` / `faster` (significant, under the threshold or without one),
    `unchanged` (not significant), `too few rounds` (no test could reach alpha),
    `new` / `missing` (only in one run). `fails` is True only for `regressed`
    on the same machine fingerprint.
    """
    base = np.asarray(baseline if baseline is not None else [], dtype=float)
    cur = np.asarray(current if current is not None else [], dtype=float)
    result = Comparison(name, float(np.median(base)) if base.size else None, float(np.median(cur)) if cur.size else None)
    if not base.size:
        result.verdict = "new"
        return result
    if not cur.size:
        result.verdict = "missing"
        return result
    if min_p_value(base.size, cur.size) >= alpha:
        result.verdict = "too few rounds"
        return result
    result.p_slower = float(mannwhitneyu(cur, base, alternative="greater").pvalue)
    result.p_faster = float(mannwhitneyu(cur, base, alternative="less").pvalue)
    change = result.change_pct or 0.0
    if result.p_slower < alpha and change > 0:
        over = fail_over_pct is not None and change > fail_over_pct
        result.verdict = "regressed" if over else "slower"
        result.fails = over and same_machine
    elif result.p_faster < alpha and change < 0:
        result.verdict = "faster"
    else:
        result.verdict = "unchanged"
    return result

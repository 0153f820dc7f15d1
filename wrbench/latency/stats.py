"""The significance rule of `wrbench bench --compare`: raw rounds against raw rounds, never mean against mean.

A latency counts as *regressed* only when both hold:
- the median of the current rounds exceeds the baseline median by more than the
  threshold (`--fail-over PCT`), and
- a one-sided Mann-Whitney U test on the rounds says the current rounds are
  stochastically larger, p < alpha (0.01 by default).

On a shared machine the speed of the machine itself drifts between two runs
(another process starts), which makes every round of the later run slower at
once; the test cannot tell that from slower code. So each round is paired with
a timing of a fixed calibration kernel (`wrbench.latency.calibration.CalibrationKernel`), and
when both runs carry these the rule is applied to *calibrated* rounds (round
seconds / its calibration seconds); the raw rule remains for runs without them.

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
class RuleResult:
    """The rule applied to one pair of samples (raw or calibrated rounds): medians, p-values, verdict."""

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


@dataclass
class Comparison:
    """One benchmark, baseline against current: the raw test and, when both runs were calibrated, the
    calibrated one, which then gives the verdict. Medians, ratio and change are the raw ones."""

    name: str
    raw: RuleResult
    calibrated: RuleResult | None = None
    speed_factor: float | None = None  # current / baseline median calibration seconds: > 1, the machine got slower

    @property
    def decisive(self) -> RuleResult:
        return self.calibrated or self.raw

    @property
    def verdict(self) -> str:
        return self.decisive.verdict

    @property
    def fails(self) -> bool:
        return self.decisive.fails

    @property
    def p_value(self) -> float | None:
        return self.decisive.p_value

    @property
    def baseline_median(self) -> float | None:
        return self.raw.baseline_median

    @property
    def current_median(self) -> float | None:
        return self.raw.current_median

    @property
    def ratio(self) -> float | None:
        return self.raw.ratio

    @property
    def change_pct(self) -> float | None:
        return self.raw.change_pct


def min_p_value(n_baseline: int, n_current: int) -> float:
    """The smallest one-sided p-value an exact Mann-Whitney U test can give with these round counts."""
    return 1.0 / math.comb(n_baseline + n_current, n_baseline)


def _array(values: Sequence[float] | None) -> np.ndarray:
    return np.asarray(values if values is not None else [], dtype=float)


def calibrated_rounds(rounds: Sequence[float], calibration: Sequence[float]) -> np.ndarray:
    """Each round divided by the calibration timed next to it; by the median calibration when they do not pair up."""
    rounds_, cal = _array(rounds), _array(calibration)
    return rounds_ / (cal if cal.size == rounds_.size else np.median(cal))


def apply_rule(baseline: np.ndarray, current: np.ndarray, *, fail_over_pct: float | None, alpha: float,
               same_machine: bool) -> RuleResult:
    """The rule on two samples: see `compare_rounds` for the verdicts."""
    result = RuleResult(float(np.median(baseline)) if baseline.size else None,
                        float(np.median(current)) if current.size else None)
    if not baseline.size:
        result.verdict = "new"
    elif not current.size:
        result.verdict = "missing"
    elif min_p_value(baseline.size, current.size) >= alpha:
        result.verdict = "too few rounds"
    else:
        result.p_slower = float(mannwhitneyu(current, baseline, alternative="greater").pvalue)
        result.p_faster = float(mannwhitneyu(current, baseline, alternative="less").pvalue)
        change = result.change_pct or 0.0
        if result.p_slower < alpha and change > 0:
            over = fail_over_pct is not None and change > fail_over_pct
            result.verdict = "regressed" if over else "slower"
            result.fails = over and same_machine
        elif result.p_faster < alpha and change < 0:
            result.verdict = "faster"
    return result


def compare_rounds(
    name: str,
    baseline: Sequence[float] | None,
    current: Sequence[float] | None,
    *,
    baseline_calibration: Sequence[float] | None = None,
    current_calibration: Sequence[float] | None = None,
    fail_over_pct: float | None = None,
    alpha: float = ALPHA,
    same_machine: bool = True,
) -> Comparison:
    """Verdict for one benchmark from the raw rounds (seconds) of the baseline and current runs.

    Verdicts: `regressed` (slower by more than fail_over_pct and significant),
    `slower` / `faster` (significant, under the threshold or without one),
    `unchanged` (not significant), `too few rounds` (no test could reach alpha),
    `new` / `missing` (only in one run). `fails` is True only for `regressed`
    on the same machine fingerprint. With calibration seconds for both runs,
    the verdict comes from the calibrated rounds, so a machine that got slower
    as a whole is not taken for slower code.
    """
    base, cur = _array(baseline), _array(current)
    rule = {"fail_over_pct": fail_over_pct, "alpha": alpha, "same_machine": same_machine}
    result = Comparison(name, apply_rule(base, cur, **rule))
    base_cal, cur_cal = _array(baseline_calibration), _array(current_calibration)
    if base.size and cur.size and base_cal.size and cur_cal.size:
        result.calibrated = apply_rule(calibrated_rounds(base, base_cal), calibrated_rounds(cur, cur_cal), **rule)
        result.speed_factor = float(np.median(cur_cal) / np.median(base_cal))
    return result

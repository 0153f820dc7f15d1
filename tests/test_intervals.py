"""The board's 95 % intervals: exact on small cases, near-nominal coverage on synthetic boards."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from wrbench.report.intervals import mean_interval, paired_difference, quantile_interval

# Coverage checks: each of N datasets covers the truth independently with probability p, so the cover
# rate is Binomial(N, p) / N with standard deviation sqrt(p (1 - p) / N); for p = 0.95 and N = 2000 that
# is 0.0049, so 0.93 .. 0.97 is a band of +-4 standard deviations around nominal. Seeds are fixed, so
# each check is deterministic; the band says how far from nominal a correct interval can plausibly land.
DATASETS = 2000
UNITS = 24


def _covers(interval: tuple[float, float], truth: float) -> bool:
    low, high = interval
    return low <= truth <= high


def test_mean_interval_matches_the_t_formula():
    values = np.array([0.2, 0.5, 0.9, 1.4, 0.7])
    n = len(values)
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    assert mean_interval(values) == pytest.approx((values.mean() - half, values.mean() + half), rel=1e-12)


def test_mean_interval_level_widens_the_interval():
    values = np.array([0.2, 0.5, 0.9, 1.4, 0.7])
    low95, high95 = mean_interval(values)
    low99, high99 = mean_interval(values, level=0.99)
    assert low99 < low95 and high95 < high99


def test_mean_interval_drops_nans_and_needs_two_values():
    values = np.array([0.2, np.nan, 0.5, 0.9])
    assert mean_interval(values) == mean_interval(np.array([0.2, 0.5, 0.9]))
    assert all(math.isnan(x) for x in mean_interval(np.array([0.3, np.nan])))
    assert all(math.isnan(x) for x in mean_interval(np.array([])))


def test_mean_interval_of_a_constant_sample_is_a_point():
    assert mean_interval(np.full(7, 0.3)) == (pytest.approx(0.3), pytest.approx(0.3))
    low, high = mean_interval(np.full(7, 0.3))
    assert low == high


def test_mean_interval_covers_at_nominal_rate_on_normal_data():
    # Under normality the t-interval is exact: the cover rate is Binomial(2000, 0.95) / 2000.
    rng = np.random.default_rng(1)
    data = rng.normal(1.0, 2.0, size=(DATASETS, UNITS))
    rate = np.mean([_covers(mean_interval(x), 1.0) for x in data])
    assert 0.93 <= rate <= 0.97


def test_mean_interval_covers_skewed_data_nearly_at_nominal_rate():
    # Exponential(1), mean 1: skew makes the t-interval slightly liberal at 24 units (true cover ~0.924),
    # so the band is shifted down by that amount; sampling noise is the same +-0.02 as above.
    rng = np.random.default_rng(2)
    data = rng.exponential(1.0, size=(DATASETS, UNITS))
    rate = np.mean([_covers(mean_interval(x), 1.0) for x in data])
    assert 0.90 <= rate <= 0.97


def _correlated_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """a = z + e1, b = z + 0.1 + e2: the networks' own spread z is shared, so a - b has mean -0.1."""
    z = rng.normal(0.0, 1.0, UNITS)
    return z + rng.normal(0.0, 0.2, UNITS), z + 0.1 + rng.normal(0.0, 0.2, UNITS)


def test_paired_difference_covers_at_nominal_rate():
    rng = np.random.default_rng(3)
    rate = np.mean([_covers(paired_difference(*_correlated_pairs(rng))[1:], -0.1) for _ in range(DATASETS)])
    assert 0.93 <= rate <= 0.97


def test_paired_interval_is_narrower_than_the_unpaired_one_for_correlated_pairs():
    a, b = _correlated_pairs(np.random.default_rng(4))
    mean, low, high = paired_difference(a, b)
    assert mean == pytest.approx(a.mean() - b.mean())
    unpaired_half = stats.t.ppf(0.975, UNITS - 1) * math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / UNITS)
    assert (high - low) < 0.5 * (2 * unpaired_half)


def test_paired_difference_drops_pairs_with_a_nan():
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([0.5, np.nan, 3.0, 3.0, 4.5])
    assert paired_difference(a, b) == paired_difference(np.array([1.0, 4.0, 5.0]), np.array([0.5, 3.0, 4.5]))


def test_paired_difference_needs_two_pairs_for_an_interval():
    mean, low, high = paired_difference(np.array([2.0, np.nan]), np.array([0.5, 1.0]))
    assert mean == 1.5 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(x) for x in paired_difference(np.array([np.nan]), np.array([1.0])))


def test_paired_difference_rejects_misaligned_units():
    with pytest.raises(ValueError):
        paired_difference(np.zeros(3), np.zeros(4))


def _board(rng: np.random.Generator, networks: int) -> list[np.ndarray]:
    """Per-link values of networks of 5 .. 15 links; a network effect makes links within one correlated."""
    return [rng.normal() + rng.normal(size=rng.integers(5, 16)) for _ in range(networks)]


def test_quantile_estimate_is_the_pooled_quantile_and_inside_its_interval():
    clusters = _board(np.random.default_rng(5), 30)
    estimate, low, high = quantile_interval(clusters, 0.1)
    assert estimate == np.quantile(np.concatenate(clusters), 0.1)
    assert low <= estimate <= high


def test_quantile_bootstrap_matches_resampling_clusters_directly():
    clusters = _board(np.random.default_rng(6), 12)
    _, low, high = quantile_interval(clusters, 0.9, draws=200, seed=7)
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(clusters), size=(200, len(clusters)))
    direct = [np.quantile(np.concatenate([clusters[i] for i in pick]), 0.9) for pick in picks]
    assert (low, high) == pytest.approx(tuple(np.quantile(direct, [0.025, 0.975])), rel=1e-12)


def test_quantile_bootstrap_is_the_same_in_small_chunks(monkeypatch):
    clusters = _board(np.random.default_rng(8), 10)
    whole = quantile_interval(clusters, 0.5, draws=100)
    monkeypatch.setattr("wrbench.report.intervals._BOOTSTRAP_FLOATS", 1)  # one draw per chunk
    assert quantile_interval(clusters, 0.5, draws=100) == pytest.approx(whole, rel=1e-12)


def test_quantile_interval_covers_roughly_at_nominal_rate():
    # Population: network effect N(0, 1) plus link noise N(0, 1), so a link is N(0, 2) and its 0.9-quantile
    # is sqrt(2) z_0.9. Percentile cluster bootstraps are a bit liberal (true cover ~0.91 at 40 networks);
    # the binomial sd over 300 datasets is ~0.017, hence the lower bound 0.88.
    truth = math.sqrt(2) * NormalDist().inv_cdf(0.9)
    rng = np.random.default_rng(9)
    rate = np.mean([_covers(quantile_interval(_board(rng, 40), 0.9, draws=400, seed=d)[1:], truth)
                    for d in range(300)])
    assert rate >= 0.88


def test_quantile_interval_needs_two_clusters():
    estimate, low, high = quantile_interval([np.array([1.0, 2.0, 3.0])], 0.5)
    assert estimate == 2.0 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(x) for x in quantile_interval([], 0.5))

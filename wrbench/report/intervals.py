"""95 % intervals over networks x repetitions: the units of a board are i.i.d. networks, so t-intervals apply.

Every policy is scored on the same networks under the same fading (common
random numbers), so differences between two rows are taken network by network
(paired), which removes the networks' own spread from the comparison.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

_BOOTSTRAP_FLOATS = 2_000_000  # at most this many resampled weights are held at once


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """t-interval of the mean of `values` (NaNs dropped; sample std, ddof = 1); (nan, nan) below 2 values."""
    values = np.asarray(values, dtype=float).ravel()
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return math.nan, math.nan
    mean = float(values.mean())
    if np.ptp(values) == 0:  # the rounding in std would otherwise give a spurious nonzero width
        return mean, mean
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean - half, mean + half


def paired_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of a - b over aligned units (the same networks in the same order); NaN pairs dropped."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same units, got shapes {a.shape} and {b.shape}")
    diff = (a - b).ravel()
    diff = diff[~np.isnan(diff)]
    if not len(diff):
        return math.nan, math.nan, math.nan
    return (float(diff.mean()), *mean_interval(diff, level))


def quantile_interval(clusters: list[np.ndarray], q: float, level: float = 0.95, draws: int = 1000,
                      seed: int = 0) -> tuple[float, float, float]:
    """(estimate, low, high) of the q-quantile of all clusters' pooled values (a cluster: one network's links).

    A percentile pooled over links is no mean over networks, so its interval comes from resampling whole
    networks with replacement (cluster bootstrap, percentile interval), not from a t-interval. Empty clusters
    are dropped; with fewer than 2 left the interval is (nan, nan). Draws run in chunks of at most
    ~2e6 weights, so memory stays bounded for large boards.
    """
    clusters = [np.asarray(c, dtype=float).ravel() for c in clusters if np.size(c)]
    if not clusters:
        return math.nan, math.nan, math.nan
    pooled = np.concatenate(clusters)
    estimate = float(np.quantile(pooled, q))
    if len(clusters) < 2:
        return estimate, math.nan, math.nan
    by_value = np.argsort(pooled, kind="stable")
    sorted_values = pooled[by_value]
    cluster_of = np.repeat(np.arange(len(clusters)), [len(c) for c in clusters])[by_value]
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_FLOATS // len(pooled))
    estimates = np.concatenate([_resampled_quantiles(sorted_values, cluster_of, q, min(chunk, draws - start), rng)
                                for start in range(0, draws, chunk)])
    low, high = np.quantile(estimates, [0.5 - level / 2, 0.5 + level / 2])
    return estimate, float(low), float(high)


def _resampled_quantiles(sorted_values: np.ndarray, cluster_of: np.ndarray, q: float, draws: int,
                         rng: np.random.Generator) -> np.ndarray:
    """np.quantile (linear) of `draws` cluster resamples at once, without building the resamples.

    `sorted_values` are the pooled values sorted, `cluster_of` their clusters (0 .. k-1, each present). A
    resample repeats each cluster as often as it was drawn, so its sorted values are `sorted_values`, each
    repeated by its cluster's draw count; the quantile's two order statistics are read off the cumulative
    counts.
    """
    k = int(cluster_of.max()) + 1
    picks = rng.integers(0, k, size=(draws, k)) + k * np.arange(draws)[:, None]
    counts = np.bincount(picks.ravel(), minlength=draws * k).reshape(draws, k)
    cumulative = np.cumsum(counts[:, cluster_of], axis=1)
    size = cumulative[:, -1]
    position = q * (size - 1)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, size - 1)
    low = sorted_values[(cumulative <= below[:, None]).sum(axis=1)]
    high = sorted_values[(cumulative <= above[:, None]).sum(axis=1)]
    return low + (position - below) * (high - low)

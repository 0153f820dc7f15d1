"""The grid sum_rate's `exhaustive` expert searches: L levels per coordinate inside the budget simplex."""
from __future__ import annotations

import math

import numpy as np


def grid_size(dim: int, levels: int) -> int:
    """Number of points j in {0..L-1}^dim with sum j <= L-1 (stars and bars: C(L-1+dim, dim))."""
    return math.comb(levels - 1 + dim, dim)


def simplex_grid(dim: int, levels: int) -> np.ndarray:
    """All grid points (K, dim) as level indices j in {0..L-1}^dim with sum j <= L-1 (fractions j / (L-1)).

    Built one coordinate at a time: each partial point is repeated once per
    value its remaining budget allows, so no point outside the simplex is made.
    """
    steps = levels - 1
    points = np.zeros((1, 0), dtype=np.int64)
    left = np.array([steps])
    for _ in range(dim):
        counts = left + 1
        rows = np.repeat(np.arange(len(points)), counts)
        values = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        points = np.hstack([points[rows], values[:, None]])
        left = left[rows] - values
    return points

"""The best time-sharing mixture of given allocations: an LP over their weights, with the dual prices of its constraints.

Both experts solve it: `exhaustive` over a whole power grid, `primal_dual` over
the columns it generates (the prices tell it which allocation to add next).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Mean-rate units given up per bps/Hz of total shortfall when f_min is out of reach of the columns: large,
# so the weights first minimize the shortfall, then maximize the mean rate.
SHORTFALL_PRICE = 1000.0


@dataclass
class Mixture:
    """LP solution for one network: weights (K,) of the columns, prices (N,) >= 0 of the rate constraints,
    `offset` (the price of the weights summing to 1), its mean rate and each link's shortfall below its target."""

    weights: np.ndarray
    prices: np.ndarray
    offset: float
    mean_rate: float
    shortfall: np.ndarray

    def reduced_gain(self, rates: np.ndarray) -> np.ndarray:
        """How much each allocation with link rates (C, N) would raise the LP's Lagrangian: positive = worth adding."""
        return rates.mean(axis=-1) + rates @ self.prices - self.offset


def best_mixture(rates: np.ndarray, target: float) -> Mixture:
    """max_p sum_k p_k mean_i R_ki  s.t.  sum_k p_k R_ki >= target for every link i, sum p = 1, p >= 0.

    `rates` (K, N) are the columns' expected link rates. Where no mixture reaches the target, the total
    shortfall is minimized first (its constraints priced at most SHORTFALL_PRICE).
    """
    from scipy.optimize import linprog  # imported here: scipy.optimize costs a quarter second at start-up

    n_columns, n = rates.shape
    objective = -rates.mean(axis=1)
    result = linprog(objective, A_ub=-rates.T, b_ub=np.full(n, -target), A_eq=np.ones((1, n_columns)), b_eq=[1.0],
                     bounds=(0, None), method="highs")
    if result.status == 2:  # infeasible: slack s_i >= 0 on every constraint, priced in the objective
        result = linprog(np.r_[objective, np.full(n, SHORTFALL_PRICE)], A_ub=np.hstack([-rates.T, -np.eye(n)]),
                         b_ub=np.full(n, -target), A_eq=np.r_[np.ones(n_columns), np.zeros(n)][None], b_eq=[1.0],
                         bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"HiGHS failed on the mixture LP: {result.message}")
    weights = np.clip(result.x[:n_columns], 0.0, None)
    weights /= weights.sum()
    achieved = weights @ rates
    return Mixture(weights, np.clip(-result.ineqlin.marginals, 0.0, None), float(-result.eqlin.marginals[0]),
                   float(achieved.mean()), np.clip(target - achieved, 0.0, None))


def warn_if_short(mixture: Mixture, target: float, who: str) -> None:
    """Warn when the mixture leaves a link below its target (f_min out of reach of the columns)."""
    worst = float(mixture.shortfall.max()) if mixture.shortfall.size else 0.0
    if worst > 1e-9 * max(target, 1.0):
        warnings.warn(f"{who}: f_min={target:g} is out of reach of its allocations (a link falls {worst:.3g} bps/Hz "
                      "short); the weights minimize the total shortfall instead")

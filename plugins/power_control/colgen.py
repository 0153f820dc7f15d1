"""Column generation for the optimal time-sharing policy: the primal-dual method behind the `primal_dual` expert.

The ergodic problem max E[mean_i r_i] s.t. E[r_i] >= f_min over mixtures of
allocations is an LP over the mixture's weights with one column per
allocation. A master LP over the columns found so far gives the dual prices
lam of the rate constraints; the primal step (pricing) looks for the allocation
maximizing sum_i (1/N + lam_i) E[r_i(x)] by WMMSE from several starts (full
power, the last round's best, random on/off patterns: links started at zero
stay off, so these reach the allocations a single WMMSE run never visits) and
adds the candidates. Prices come exactly from the LP, so there is no step size
to tune and the mixture holds the constraints on the columns' expected rates.

A candidate's gain over the master value bounds how far the master is from the
optimum (were the pricing exact): `pricing_gap`, the convergence diagnostic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .mixture import Mixture, best_mixture
from .rates import COARSE_NODES, expected_sample_rates
from .wmmse import wmmse

# Relative accuracy of COARSE_NODES (measured <= 1e-4 at N = 200): the master aims this much above the target so
# the final mixture, re-solved on exact rates, still holds every constraint.
COARSE_RTOL = 2e-4
# Random on/off starts switch each link off with a probability drawn per start from [0, MAX_OFF_SHARE].
MAX_OFF_SHARE = 0.7


@dataclass
class ColumnSearch:
    """The state of one network's search: its columns (K, N) in units of P_max, their coarse expected rates (K, N),
    the last master solution and pricing gap, and whether the gap fell below the tolerance."""

    columns: torch.Tensor
    rates: torch.Tensor
    master: Mixture | None = None
    gap: float = float("inf")
    converged: bool = False
    last_best: torch.Tensor | None = field(default=None, repr=False)


def search_columns(
    gains: torch.Tensor,
    targets: torch.Tensor,
    rounds: int,
    starts: int,
    wmmse_iters: int,
    tolerance: float,
    generator: torch.Generator,
    progress: Callable[[int, int], None],
) -> tuple[list[ColumnSearch], int]:
    """Columns and master solutions for networks `gains` (B, N, N) (SNR units) with rate targets (B,), and the
    number of rounds run.

    Networks stop once no candidate raises the master's Lagrangian by more than `tolerance` times its value;
    the rest run up to `rounds` pricing rounds, all active networks batched in one WMMSE call.
    """
    n_networks, n = gains.shape[:2]
    full = torch.ones(n_networks, 1, n, dtype=gains.dtype, device=gains.device)
    full_rates = expected_sample_rates(full, gains, COARSE_NODES)
    searches = [ColumnSearch(full[b], full_rates[b]) for b in range(n_networks)]
    aims = (targets * (1.0 + COARSE_RTOL)).tolist()
    done = 0
    while done < rounds:
        active = [b for b, s in enumerate(searches) if not s.converged]
        if not active:
            break
        for b in active:
            searches[b].master = best_mixture(searches[b].rates.cpu().numpy(), aims[b])
        index = torch.tensor(active, device=gains.device)
        prices = torch.stack([torch.as_tensor(searches[b].master.prices) for b in active]).to(gains)
        candidates = _candidates(gains[index], 1.0 / n + prices, [searches[b].last_best for b in active], starts,
                                 wmmse_iters, generator)
        rates = expected_sample_rates(candidates, gains[index], COARSE_NODES)
        for row, b in enumerate(active):
            search = searches[b]
            gain = search.master.reduced_gain(rates[row].cpu().numpy())
            search.gap = max(float(gain.max()), 0.0) / max(abs(search.master.mean_rate), 1e-12)
            search.last_best = candidates[row, int(gain.argmax())]
            search.columns = torch.cat([search.columns, candidates[row]])
            search.rates = torch.cat([search.rates, rates[row]])
            search.converged = search.gap <= tolerance
        done += 1
        progress(done, rounds)
    for b, search in enumerate(searches):  # the master over every column, the last round's candidates included
        search.master = best_mixture(search.rates.cpu().numpy(), aims[b])
    return searches, done


def _candidates(gains: torch.Tensor, weights: torch.Tensor, last_best: list[torch.Tensor | None], starts: int,
                iterations: int, generator: torch.Generator) -> torch.Tensor:
    """Pricing candidates (A, C, N): WMMSE on weights (A, N) from full power, the last best and random on/off starts."""
    n_active, n = weights.shape
    ones = torch.ones(n_active, n, dtype=gains.dtype, device=gains.device)
    previous = torch.stack([ones[0] if best is None else best.sqrt() for best in last_best])
    off_share = torch.rand(n_active, starts, 1, generator=generator, device=generator.device) * MAX_OFF_SHARE
    on_off = (torch.rand(n_active, starts, n, generator=generator, device=generator.device) >= off_share).to(gains)
    start = torch.cat([ones.unsqueeze(1), previous.unsqueeze(1), on_off], dim=1)  # (A, C, N) amplitudes
    return wmmse(gains.unsqueeze(1), weights.unsqueeze(1), iterations, start)


def search_diagnostics(searches: list[ColumnSearch], rounds_run: int) -> dict[str, float]:
    """Convergence diagnostics over the networks: the pricing gap (mean and worst), the converged share, rounds run."""
    gaps = np.array([s.gap for s in searches])
    return {
        "pricing_gap": float(gaps.mean()),
        "pricing_gap_max": float(gaps.max()),
        "converged_frac": float(np.mean([s.converged for s in searches])),
        "rounds": float(rounds_run),
    }

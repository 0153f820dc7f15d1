"""The reference placement: exact powers per position (`power.optimal_split`), a grid and a pattern search over q.

The sum rate at the optimal split, R(q), is maximized over the square by scoring
a grid of spacing <= `grid_step` and refining the best `starts` grid points by a
compass search (8 directions, step halved when none improves, from half the
grid spacing down to `tol` metres). Positions where r_min is unattainable score
-inf; an instance where no grid point attains it is flagged and placed as
without r_min, so nothing is NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .physics import Link, sic_order, sorted_rates
from .power import optimal_split

# Positions x instances scored at once on the grid (memory: a few tensors of this many x K float64).
_CHUNK_POSITIONS = 1 << 20
_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


@dataclass
class Placement:
    """The search's answer per instance: position q (B, 2), powers p (B, K) in user order, sum rate (B,), and
    whether r_min was attainable anywhere on the grid (B,)."""

    q: torch.Tensor
    p: torch.Tensor
    rate: torch.Tensor
    attainable: torch.Tensor

    def decisions(self) -> torch.Tensor:
        """(B, 2 + K): the layout of the problem's decisions."""
        return torch.cat([self.q, self.p], -1)


def best_split(q: torch.Tensor, users: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor, link: Link
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For positions q (B, M, 2): sum rate at the optimal split (B, M) (-inf where r_min is unattainable),
    that split (B, M, K) in user order, and where r_min is attainable (B, M)."""
    gamma = link.snr_per_mw(q, users.unsqueeze(1))
    order = sic_order(gamma)
    ranked = gamma.gather(-1, order)
    p, ok = optimal_split(ranked, P.unsqueeze(-1), r_min.unsqueeze(-1))
    rate = torch.where(ok, sorted_rates(ranked, p).sum(-1), -torch.inf)
    return rate, torch.empty_like(p).scatter_(-1, order, p), ok


def grid(side: float, grid_step: float, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, float]:
    """(G, 2): the square's grid with the fewest points per axis whose spacing is <= grid_step; and that spacing."""
    intervals = max(1, math.ceil(side / grid_step))
    axis = torch.linspace(0.0, side, intervals + 1, dtype=dtype, device=device)
    return torch.cartesian_prod(axis, axis), side / intervals


def search(users: torch.Tensor, P: torch.Tensor, side: float, link: Link, r_min: float, grid_step: float = 5.0,
           starts: int = 4, tol: float = 1e-3, max_iterations: int = 500) -> Placement:
    """The best placement found for users (B, K, 2) and budgets P (B,); see the module docstring."""
    points, spacing = grid(side, grid_step, users.dtype, users.device)
    chunk = max(1, _CHUNK_POSITIONS // len(points))
    found = [_search_chunk(u, b, points, spacing, side, link, r_min, starts, tol, max_iterations)
             for u, b in zip(users.split(chunk), P.split(chunk))]
    return Placement(*(torch.cat(parts) for parts in zip(*((f.q, f.p, f.rate, f.attainable) for f in found))))


def _search_chunk(users: torch.Tensor, P: torch.Tensor, points: torch.Tensor, spacing: float, side: float, link: Link, r_min: float,
                  starts: int, tol: float, max_iterations: int) -> Placement:
    B = len(users)
    r = torch.full((B,), r_min, dtype=users.dtype, device=users.device)
    rate, _, ok = best_split(points.expand(B, -1, -1), users, P, r, link)
    attainable = ok.any(-1)
    if not bool(attainable.all()):  # place those instances as without r_min
        r = torch.where(attainable, r, 0.0)
        rate = torch.where(attainable.unsqueeze(-1), rate, best_split(points.expand(B, -1, -1), users, P, r, link)[0])
    value, index = rate.topk(min(starts, len(points)), dim=-1)
    q = points[index]
    q, value = _compass(q, value, users, P, r, link, side, spacing / 2, tol, max_iterations)
    best = value.argmax(-1)
    q = q[torch.arange(B), best]
    rate, p, _ = best_split(q.unsqueeze(1), users, P, r, link)
    return Placement(q, p[:, 0], rate[:, 0], attainable)


def _compass(q: torch.Tensor, value: torch.Tensor, users: torch.Tensor, P: torch.Tensor, r: torch.Tensor, link: Link,
             side: float, step: float, tol: float, max_iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Compass search from q (B, M, 2) with values (B, M): move to the best improving neighbour, else halve the step."""
    directions = torch.tensor(_DIRECTIONS, dtype=q.dtype, device=q.device)
    steps = torch.full_like(value, step)
    for _ in range(max_iterations):
        active = steps >= tol
        if not bool(active.any()):
            break
        candidates = (q.unsqueeze(-2) + steps[..., None, None] * directions).clamp(0.0, side)  # (B, M, 8, 2)
        B, M = value.shape
        scores = best_split(candidates.reshape(B, -1, 2), users, P, r, link)[0].view(B, M, -1)
        best, which = scores.max(-1)
        move = active & (best > value)
        chosen = candidates.gather(2, which[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)
        q = torch.where(move.unsqueeze(-1), chosen, q)
        value = torch.where(move, best, value)
        steps = torch.where(active & ~move, steps / 2, steps)
    return q, value

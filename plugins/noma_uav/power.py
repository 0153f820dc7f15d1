"""The exact sum-rate optimal power split for a fixed UAV position, under SIC order, the budget and r_min; and the
QoS coordinates, in which every point of the unit cube is a split meeting all three (end of the module).

Users in SIC order (gamma_1 >= ... >= gamma_K, noise-normalized gains), with
cumulative powers S_k = p_1 + ... + p_k (S_0 = 0), the sum rate telescopes to

    sum_k log2(1 + gamma_k S_k) - log2(1 + gamma_k S_{k-1})
      = log2(1 + gamma_K S_K) + sum_{k<K} log2((1 + gamma_k S_k) / (1 + gamma_{k+1} S_k)),

and every term increases in its own S_k (gamma_k >= gamma_{k+1}). The constraints are

    SIC order    p_1 <= p_2 <= ... <= p_K        (2 S_k <= S_{k-1} + S_{k+1})
    r_min        p_k >= a S_{k-1} + c_k          (S_{k-1} <= (S_k - c_k) / (1 + a)),
                 a = 2^r_min - 1, c_k = a / gamma_k
    budget       p_1 >= 0, S_K <= P.

Each bounds one S_j above by a nonnegative combination of the others (or below
by a constant), so the feasible set is closed under the componentwise maximum
and, being compact, has a greatest element. That element maximizes every S_k at
once, hence the sum rate, whatever the gains: it is the optimum. It is found
coordinate by coordinate: S_1 = p_1 as large as the rest still allows, then
each weaker user gets the least power that SIC order and its r_min allow given
the stronger ones (`min_completion`), and the total T(p_1) of that completion
must fit the budget. T is continuous and strictly increasing, with
T(P / K) >= P, so p_1 solves T(p_1) = P, found by bisection on
[c_1, P / K] (the budget is unattainable, r_min infeasible at this position,
iff T(c_1) > P). The bisection keeps its lower end feasible and stops after
`ITERATIONS` halvings, below float64 resolution; the unspent remainder goes to
the weakest user, which breaks no constraint. Without r_min (a = 0) this is the
equal split P / K at every position.
"""
from __future__ import annotations

import math

import torch

ITERATIONS = 64  # halvings of [c_1, P / K]: the bracket ends 2^-64 of P / K wide, below float64 resolution


def min_completion(first: torch.Tensor, gamma: torch.Tensor, a: torch.Tensor,
                   before: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Powers (..., K') in SIC order for the users gamma (..., K'), the strongest taking `first` (...), after
    stronger users holding `before` (...) in total: each weaker user the least that SIC order and r_min allow."""
    powers, total = [first], before + first
    for k in range(1, gamma.shape[-1]):
        powers.append(torch.maximum(powers[-1], a * total + a / gamma[..., k]))
        total = total + powers[-1]
    return torch.stack(powers, -1)


def largest_power(floor: torch.Tensor, before: torch.Tensor, gamma: torch.Tensor, a: torch.Tensor,
                  P: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The most power (...) the strongest of the users gamma (..., K') can take, at least `floor`, with the weaker
    ones' least completion still within P - before; and whether `floor` itself fits (else `floor` is returned).

    The completion's total is continuous and strictly increasing in that power and reaches the room at
    room / K' or before (SIC order gives every weaker user at least as much), so bisection on
    [floor, room / K'] keeps a feasible lower end; the weakest user alone (K' = 1) takes the room exactly.
    """
    room = P - before
    fits = min_completion(floor, gamma, a, before).sum(-1) <= room
    if gamma.shape[-1] == 1:
        return torch.where(fits, room, floor), fits
    lo, hi = floor, torch.where(fits, room / gamma.shape[-1], floor)
    for _ in range(ITERATIONS):
        mid = 0.5 * (lo + hi)
        ok = min_completion(mid, gamma, a, before).sum(-1) <= room
        lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid)
    return lo, fits


def rmin_factor(r_min: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    """a = 2^r_min - 1 (the SINR r_min needs) as a tensor of like's dtype and device."""
    return torch.expm1(torch.as_tensor(r_min, dtype=like.dtype, device=like.device) * math.log(2.0))


def optimal_split(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum-rate optimal powers (..., K) in SIC order, and whether r_min is attainable (...).

    `gamma` (..., K): noise-normalized gains sorted from strongest to weakest;
    `P` and `r_min` broadcast against gamma[..., 0]. Where r_min is unattainable
    the equal split P / K (the optimum without r_min) is returned instead.
    """
    P = torch.as_tensor(P, dtype=gamma.dtype, device=gamma.device).expand(gamma.shape[:-1])
    a = rmin_factor(r_min, gamma).expand(gamma.shape[:-1])
    K = gamma.shape[-1]
    first, attainable = largest_power(a / gamma[..., 0], torch.zeros_like(P), gamma, a, P)
    p = min_completion(first, gamma, a)
    remainder = torch.clamp(P - p.sum(-1), min=0.0)
    p = torch.cat([p[..., :-1], p[..., -1:] + remainder.unsqueeze(-1)], -1)
    equal = (P / K).unsqueeze(-1).expand_as(p)
    return torch.where(attainable.unsqueeze(-1), p, equal), attainable


# ---- coordinates in which every split meets SIC order, r_min and the budget ----------------------------------
#
# User k (SIC order) may take any power between its floor, the least that SIC order and r_min allow after the
# stronger users' powers, and its top, the most that still leaves the weaker users' least completion within the
# budget (`largest_power`). A coordinate u_k in [0, 1] places p_k between the two, strongest user first, so every
# u in the cube is a split meeting all three constraints, and every such split has coordinates. The optimal
# split is u = (1, ..., 1): taking each user's top in turn builds the greatest element of the module docstring.
# Where an interval is empty to float resolution (below DEGENERATE * P wide) its coordinate is read as 1.

DEGENERATE = 1e-9


def _walk(gamma: torch.Tensor, P: torch.Tensor, a: torch.Tensor, choose) -> torch.Tensor:
    """Powers (..., K) in SIC order, user by user: choose(k, floor, top) -> p_k given the stronger users' powers."""
    before = torch.zeros_like(P)
    previous, powers = before, []
    for k in range(gamma.shape[-1]):
        floor = torch.maximum(previous, a * before + a / gamma[..., k])
        top, _ = largest_power(floor, before, gamma[..., k:], a, P)
        previous = choose(k, floor, top)
        powers.append(previous)
        before = before + previous
    return torch.stack(powers, -1)


def rmin_attainable(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float) -> torch.Tensor:
    """Whether some split of P (...) meets SIC order and r_min: the least completion from the floor fits."""
    a = rmin_factor(r_min, gamma)
    return min_completion(a / gamma[..., 0], gamma, a).sum(-1) <= P


def _rmin_where_attainable(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(P and a broadcast to gamma[..., 0], with a = 0, r_min waived, where no split attains r_min; attainable)."""
    P = torch.as_tensor(P, dtype=gamma.dtype, device=gamma.device).expand(gamma.shape[:-1])
    a = rmin_factor(r_min, gamma).expand(gamma.shape[:-1])
    attainable = rmin_attainable(gamma, P, r_min)
    return P, torch.where(attainable, a, torch.zeros_like(a)), attainable


def qos_powers(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float, u: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Powers (..., K) in SIC order at coordinates u (..., K), and whether r_min is attainable (...).

    For u in [0, 1]^K the split meets SIC order, the budget and r_min (where attainable; elsewhere the same
    map with r_min waived, so only SIC order and the budget hold). u outside the cube extrapolates each
    interval linearly and may break them.
    """
    P, a, attainable = _rmin_where_attainable(gamma, P, r_min)
    return _walk(gamma, P, a, lambda k, floor, top: floor + u[..., k] * (top - floor)), attainable


def qos_coordinates(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float, p: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The coordinates (..., K) of powers p (..., K) in SIC order (the inverse of `qos_powers`), and attainability.

    In [0, 1] for a split meeting the constraints; outside [0, 1] where p breaks them.
    """
    P, a, attainable = _rmin_where_attainable(gamma, P, r_min)
    coords = []

    def record(k: int, floor: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        width = top - floor
        wide = width > DEGENERATE * P
        coords.append(torch.where(wide, (p[..., k] - floor) / torch.where(wide, width, torch.ones_like(width)),
                                  torch.ones_like(width)))
        return p[..., k]

    _walk(gamma, P, a, record)
    return torch.stack(coords, -1), attainable

"""The exact sum-rate optimal power split for a fixed UAV position, under SIC order, the budget and r_min.

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


def min_completion(p1: torch.Tensor, gamma: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Powers (..., K) in SIC order starting from p1 (...): each weaker user the least that SIC order and r_min allow."""
    powers, total = [p1], p1
    for k in range(1, gamma.shape[-1]):
        powers.append(torch.maximum(powers[-1], a * total + a / gamma[..., k]))
        total = total + powers[-1]
    return torch.stack(powers, -1)


def optimal_split(gamma: torch.Tensor, P: torch.Tensor, r_min: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum-rate optimal powers (..., K) in SIC order, and whether r_min is attainable (...).

    `gamma` (..., K): noise-normalized gains sorted from strongest to weakest;
    `P` and `r_min` broadcast against gamma[..., 0]. Where r_min is unattainable
    the equal split P / K (the optimum without r_min) is returned instead.
    """
    P = torch.as_tensor(P, dtype=gamma.dtype, device=gamma.device).expand(gamma.shape[:-1])
    a = torch.expm1(torch.as_tensor(r_min, dtype=gamma.dtype, device=gamma.device) * math.log(2.0))
    a = a.expand(gamma.shape[:-1])
    K = gamma.shape[-1]
    lo = a / gamma[..., 0]
    attainable = min_completion(lo, gamma, a).sum(-1) <= P
    hi = torch.where(attainable, P / K, lo)
    for _ in range(ITERATIONS):
        mid = 0.5 * (lo + hi)
        fits = min_completion(mid, gamma, a).sum(-1) <= P
        lo, hi = torch.where(fits, mid, lo), torch.where(fits, hi, mid)
    p = min_completion(lo, gamma, a)
    remainder = torch.clamp(P - p.sum(-1), min=0.0)
    p = torch.cat([p[..., :-1], p[..., -1:] + remainder.unsqueeze(-1)], -1)
    equal = (P / K).unsqueeze(-1).expand_as(p)
    return torch.where(attainable.unsqueeze(-1), p, equal), attainable

"""The exact optimum of an offloading instance: every decision D enumerated, the shares solved by KKT.

For each of the 2^n decisions the delay bounds give each offloaded device a least
share lb_i = c_i / (F_t (theta - s_i / r_i)); D is delay-feasible when every local
device meets theta on its own CPU, every offloaded one uploads within theta and the
least shares fit on the server (sum lb < 1). The reference is the cheapest feasible
decision where one exists; otherwise the cheapest decision with unbounded shares
(F proportional to sqrt(a)), and the instance is flagged as admitting no feasible one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch

from .model import Constants, cost_and_delay, share_weights, upload_time, uplink_rate
from .shares import bounded_shares, proportional_shares

# Elements of one (instances, decisions, devices) tensor built at once.
_CHUNK_ELEMENTS = 1 << 21


@dataclass
class Optimum:
    offload: torch.Tensor  # (B, n) in {0, 1}
    shares: torch.Tensor  # (B, n)
    cost: torch.Tensor  # (B,)
    feasible_possible: torch.Tensor  # (B,) bool: some decision meets every delay bound


def all_decisions(n: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> torch.Tensor:
    """(2^n, n): every D, row j the binary digits of j with device 1 the most significant (DiffSG's label code)."""
    codes = torch.arange(2**n, device=device).unsqueeze(-1)
    bits = 2 ** torch.arange(n - 1, -1, -1, device=device)
    return ((codes & bits) > 0).to(dtype)


def least_shares(arrays: Mapping[str, torch.Tensor], offload: torch.Tensor, k: Constants) -> torch.Tensor:
    """(..., n): the least server share meeting each offloading device's delay bound, c_i / (F_t (theta - s_i / r_i));
    inf where its upload alone takes theta or more; 0 for devices computing locally."""
    d = offload.to(arrays["s"].dtype)
    chosen = d > 0
    slack = k.delay_bound_s - upload_time(arrays, uplink_rate(arrays["h"], d, k))
    lower = torch.where(slack > 0, arrays["c"] / (k.server_hz * torch.clamp(slack, min=1e-300)), torch.inf)
    return torch.where(chosen, lower, torch.zeros_like(lower))


def share_floors(arrays: Mapping[str, torch.Tensor], offload: torch.Tensor, k: Constants) -> torch.Tensor:
    """(..., n): the least shares where D can meet every delay bound (local ones too), inf everywhere where it cannot."""
    d = offload.to(arrays["s"].dtype)
    lower = least_shares(arrays, d, k)
    local_ok = (d > 0) | (arrays["c"] / arrays["f_local"] <= k.delay_bound_s)
    ok = local_ok.all(-1) & torch.isfinite(lower).all(-1) & (lower.sum(-1) < 1.0)
    return torch.where(ok.unsqueeze(-1), lower, torch.inf)


def feasible_shares(arrays: Mapping[str, torch.Tensor], offload: torch.Tensor,
                    k: Constants) -> tuple[torch.Tensor, torch.Tensor]:
    """(whether D meets every delay bound (...), the cheapest shares meeting them (..., n), zero where infeasible)."""
    d = offload.to(arrays["s"].dtype)
    floors = share_floors(arrays, d, k)
    ok = torch.isfinite(floors).all(-1)
    lower = torch.where(ok.unsqueeze(-1), floors, torch.zeros_like(floors))
    shares = bounded_shares(share_weights(arrays, k).expand_as(lower), lower, d.expand_as(lower))
    return ok, torch.where(ok.unsqueeze(-1), shares, torch.zeros_like(shares))


def solve(arrays: Mapping[str, torch.Tensor], k: Constants) -> Optimum:
    """The exact optimum of every instance (arrays (B, n)), in chunks of instances."""
    n_instances, n = arrays["s"].shape
    decisions = all_decisions(n, arrays["s"].dtype, arrays["s"].device)
    step = max(1, _CHUNK_ELEMENTS // (len(decisions) * n))
    parts = [_solve_chunk({key: v[i:i + step] for key, v in arrays.items()}, decisions, k)
             for i in range(0, n_instances, step)]
    return Optimum(*(torch.cat([getattr(p, field) for p in parts]) for field in Optimum.__dataclass_fields__))


def decision_costs(arrays: Mapping[str, torch.Tensor], offload: torch.Tensor,
                   k: Constants) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For candidate decisions D (b, K, n) on instances (arrays (b, 1, n)): (delay-feasible (b, K), cost (b, K),
    shares (b, K, n)), with the cheapest shares meeting the bounds where D is feasible, sqrt(a)-proportional ones
    where it is not."""
    ok, bounded = feasible_shares(arrays, offload, k)
    free = proportional_shares(share_weights(arrays, k).expand_as(offload), offload)
    shares = torch.where(ok.unsqueeze(-1), bounded, free)
    return ok, cost_and_delay(arrays, offload, shares, k)[0], shares


def _solve_chunk(arrays: Mapping[str, torch.Tensor], decisions: torch.Tensor, k: Constants) -> Optimum:
    each = {key: v.unsqueeze(1) for key, v in arrays.items()}  # (b, 1, n) against decisions (K, n)
    d = decisions.unsqueeze(0).expand(arrays["s"].shape[0], -1, -1)
    ok, cost, shares = decision_costs(each, d, k)
    possible = ok.any(-1)
    # where some decision is feasible, only those count; elsewhere every decision with unbounded shares
    cost = torch.where(possible.unsqueeze(-1), cost.masked_fill(~ok, torch.inf), cost)
    best = cost.argmin(-1)
    rows = torch.arange(len(best), device=best.device)
    return Optimum(decisions[best], shares[rows, best], cost[rows, best], possible)

"""Optimal server shares for a fixed offloading decision: min sum a_i / F_i, sum F = 1, F_i >= lb_i.

The problem is convex; its KKT conditions give F_i = max(lb_i, sqrt(a_i) / nu) with
one multiplier nu making the shares sum to 1. Rather than bisect on nu, the exact nu
is found by sorting: device i sits on its bound exactly when nu > t_i = sqrt(a_i) / lb_i,
so for the k devices of smallest t on their bounds nu_k = (sum of the others' sqrt(a)) /
(1 - sum of the k bounds), and the right k is the one whose nu_k falls between t_(k)
and t_(k+1). Vectorized over any leading dimensions; devices not offloading get 0.
"""
from __future__ import annotations

import torch


def proportional_shares(a: torch.Tensor, offload: torch.Tensor) -> torch.Tensor:
    """Shares F_i proportional to sqrt(a_i) over the offloading devices: the optimum without delay bounds."""
    root = torch.sqrt(a) * offload
    total = root.sum(-1, keepdim=True)
    return torch.where(total > 0, root / torch.clamp(total, min=1e-300), torch.zeros_like(root))


def bounded_shares(a: torch.Tensor, lower: torch.Tensor, offload: torch.Tensor) -> torch.Tensor:
    """The exact minimizer of sum a_i / F_i over sum F = 1, F_i >= lower_i on the offloading devices.

    Needs a > 0, lower >= 0 and sum of the offloading devices' bounds < 1 (the caller
    flags decisions that break it); returns zeros where no device offloads.
    """
    chosen = offload > 0
    root = torch.where(chosen, torch.sqrt(a), torch.zeros_like(a))
    bound = torch.where(chosen, lower, torch.zeros_like(lower))
    # threshold of nu above which a device is held at its bound; -inf: not offloading (always "held" at 0)
    threshold = torch.where(chosen, root / torch.clamp(bound, min=1e-300), torch.full_like(a, -torch.inf))
    threshold, order = threshold.sort(-1)
    root_sorted, bound_sorted = root.gather(-1, order), bound.gather(-1, order)
    zero = torch.zeros_like(root[..., :1])
    held = torch.cat([zero, bound_sorted.cumsum(-1)], -1)  # bounds of the first k devices, k = 0..n
    free = root.sum(-1, keepdim=True) - torch.cat([zero, root_sorted.cumsum(-1)], -1)
    nu = free / torch.clamp(1.0 - held, min=1e-300)
    below = torch.cat([torch.full_like(zero, -torch.inf), threshold], -1)  # t_(k), -inf for k = 0
    above = torch.cat([threshold, torch.full_like(zero, torch.inf)], -1)  # t_(k+1), inf for k = n
    valid = (below < nu) & (nu <= above) & (free > 0)
    k = valid.to(torch.int8).argmax(-1, keepdim=True)
    nu = nu.gather(-1, k)
    shares = torch.maximum(bound, root / torch.clamp(nu, min=1e-300))
    return torch.where(chosen, shares, torch.zeros_like(shares))

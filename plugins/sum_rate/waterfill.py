"""Parallel Gaussian channels: the sum-rate objective and its exact optimum (water-filling).

Kept apart from the problem class so that experts, tests and solvers share one
implementation of the physics.
"""
from __future__ import annotations

import torch


def sum_rate(g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """sum_i log2(1 + g_i p_i) over the last axis; g broadcasts against p (noise power is 1)."""
    return torch.log2(1.0 + g * p).sum(-1)


def water_level(g: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """The water level mu (B,) with sum_i max(0, mu - 1/g_i) = P, for gains g (B, M) > 0 and P (B,) >= 0.

    Sorting the floors 1/g ascending, the k best channels are active iff their
    common level mu_k = (P + sum_{j<=k} 1/g_(j)) / k lies above the k-th floor;
    that holds for a prefix of k, and the longest prefix gives the optimum.
    """
    floors, _ = torch.sort(1.0 / g, dim=-1)
    k = torch.arange(1, g.shape[-1] + 1, device=g.device, dtype=g.dtype)
    levels = (P.unsqueeze(-1) + floors.cumsum(-1)) / k
    active = (levels > floors).sum(-1, keepdim=True).clamp(min=1)
    return levels.gather(-1, active - 1).squeeze(-1)


def water_fill(g: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """The sum-rate maximizing powers p (B, M): p_i = max(0, mu - 1/g_i), sum p = P."""
    return torch.clamp(water_level(g, P).unsqueeze(-1) - 1.0 / g, min=0.0)

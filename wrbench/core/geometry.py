"""Geometry shared by decision sets: the probability simplex, the unit domain of budget-type sets."""
from __future__ import annotations

import torch


def project_simplex(u: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of the last axis onto the probability simplex (sort-based; reaches exact zeros)."""
    srt, _ = torch.sort(u, dim=-1, descending=True)
    csum = srt.cumsum(-1) - 1.0
    k = torch.arange(1, u.shape[-1] + 1, device=u.device, dtype=u.dtype)
    support = (srt - csum / k) > 0
    rho = support.to(u.dtype).cumsum(-1).argmax(-1, keepdim=True)
    theta = csum.gather(-1, rho) / (rho + 1).to(u.dtype)
    return torch.clamp(u - theta, min=0.0)


def uniform_simplex(shape: tuple[int, ...], dim: int, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """Points drawn uniformly from the probability simplex of `dim` coordinates: normalized Exp(1) draws."""
    draws = torch.empty(*shape, dim, dtype=torch.float64, device=device).exponential_(generator=generator)
    return draws / draws.sum(-1, keepdim=True)

"""The CFG denoiser: an MLP on (noisy solution, timestep, flattened instance) with a droppable condition."""
from __future__ import annotations

import torch
from torch import nn

from .layers import TimeEmbedding


class ResidualBlock(nn.Module):
    """h + Linear(act(Linear(norm(h)) + time)): pre-norm residual MLP block with the timestep re-injected."""

    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.time = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.act = nn.SiLU()

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(self.act(self.fc1(self.norm(h)) + self.time(temb)))


class CFGDenoiser(nn.Module):
    """Conditional / unconditional denoiser in one network (classifier-free guidance, Ho & Salimans).

    The condition is dropped by zeroing it and raising a `null` flag input, so "no condition"
    is distinguishable from an all-zero instance.
    """

    def __init__(self, dim: int, cond_dim: int, hidden: int = 256, depth: int = 3):
        super().__init__()
        self.inp = nn.Linear(dim + cond_dim + 1, hidden)
        self.time = TimeEmbedding(hidden)
        self.blocks = nn.ModuleList([ResidualBlock(hidden) for _ in range(depth)])
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x_t (M, D), t () or (M, 1), cond (M, F), keep (M, 1) in {0, 1} -> (M, D)."""
        h = self.inp(torch.cat([x_t, cond * keep, 1.0 - keep], dim=-1))
        temb = self.time(t if t.dim() == 0 else t.squeeze(-1))
        if temb.dim() == 2:
            temb = temb.expand(h.shape[0], -1)
        h = h + temb
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h)

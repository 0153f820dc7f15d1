"""Network building blocks shared by the GNN and MLP denoisers."""
from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """Transformer-style sin/cos features of a (float) timestep, so the denoiser can tell noise levels apart."""

    def __init__(self, dim: int, max_period: float = 10_000.0):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        args = t.float().unsqueeze(-1) * self.freqs
        emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
        return nn.functional.pad(emb, (0, self.dim - emb.shape[-1]))


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """Linear layers with `act` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class TimeEmbedding(nn.Module):
    """Sinusoidal features followed by an MLP (the paper's Phi_t)."""

    def __init__(self, dim: int):
        super().__init__()
        self.sin = SinusoidalEmbedding(dim)
        self.net = mlp([dim, dim, dim])

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.net(self.sin(t))

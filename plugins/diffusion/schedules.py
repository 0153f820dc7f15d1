"""Noise schedules for discrete-time diffusion (DDPM convention, timestep indices 0..T-1).

Index t holds `alphas_cumprod[t]` = prod_{s<=t} (1 - betas[s]); the forward process is
`x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`. Samplers and the training loss read
only this object, so a new schedule is one more constructor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SCHEDULES = ("cosine", "linear")


@dataclass(frozen=True)
class Schedule:
    """Betas and cumulative alphas of a T-step schedule (float64 for accurate coefficients)."""

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor

    @property
    def T(self) -> int:
        return int(self.betas.shape[0])

    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """sqrt(abar_t) and sqrt(1 - abar_t) at integer timesteps t (any shape), as float32."""
        abar = self.alphas_cumprod.to(t.device)[t]
        return abar.sqrt().float(), (1.0 - abar).sqrt().float()

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio abar_t / (1 - abar_t) at timesteps t."""
        abar = self.alphas_cumprod.to(t.device)[t]
        return (abar / (1.0 - abar)).float()


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """Ho et al.'s linear betas, rescaled by 1000/T so that a short chain still ends near pure noise."""
    scale = 1000.0 / T
    return torch.linspace(beta_start * scale, min(beta_end * scale, 0.999), T, dtype=torch.float64)


def cosine_alphas_cumprod(T: int, s: float = 0.008) -> torch.Tensor:
    """Nichol & Dhariwal's closed form abar(t) = f(t) / f(0), f(t) = cos^2(pi/2 (t/T + s) / (1 + s)), t = 1..T."""
    steps = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((steps / T + s) / (1 + s) * math.pi / 2) ** 2
    return f[1:] / f[0]


def make_schedule(kind: str, T: int, max_beta: float = 0.999) -> Schedule:
    """A `kind` schedule with T steps; cosine betas are capped at `max_beta` as in improved DDPM."""
    if kind == "linear":
        betas = linear_betas(T)
    elif kind == "cosine":
        abar = cosine_alphas_cumprod(T)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        betas = torch.clamp(1.0 - abar / prev, max=max_beta)
    else:
        raise ValueError(f"unknown schedule '{kind}' (known: {', '.join(SCHEDULES)})")
    return Schedule(betas, torch.cumprod(1.0 - betas, dim=0))

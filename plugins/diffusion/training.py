"""The denoising objective and the learning-rate schedule of the diffusion fits (the loop is `wrbench.fitting.train`).

The network may predict eps, x0 or v (`PREDICTIONS`); the loss is always the eps-space DDPM
loss of eq. (8) in 2504.20277, optionally reweighted per timestep, so the parametrization
and the weighting are independent choices.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .schedules import Schedule

PREDICTIONS = ("eps", "x0", "v")
WEIGHTINGS = ("none", "min_snr", "log_snr")


def to_eps(out: torch.Tensor, x_t: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor, prediction: str) -> torch.Tensor:
    """The noise estimate implied by a network output under `prediction`."""
    if prediction == "eps":
        return out
    if prediction == "x0":
        return (x_t - alpha * out) / sigma
    if prediction == "v":
        return sigma * x_t + alpha * out
    raise ValueError(f"unknown prediction '{prediction}' (known: {', '.join(PREDICTIONS)})")


def loss_weight(snr: torch.Tensor, weighting: str, gamma: float) -> torch.Tensor:
    """Per-timestep weight on the eps loss.

    min_snr (Hang et al. 2023) caps the implied x0-loss weight at gamma: w = min(SNR, gamma) / SNR.
    log_snr weights by sigmoid(gamma - log SNR) (Kingma & Gao 2023), which fades out the
    nearly noise-free steps that contribute little to sample quality.
    """
    if weighting == "none":
        return torch.ones_like(snr)
    if weighting == "min_snr":
        return torch.clamp(snr, max=gamma) / snr
    if weighting == "log_snr":
        return torch.sigmoid(gamma - snr.log())
    raise ValueError(f"unknown weighting '{weighting}' (known: {', '.join(WEIGHTINGS)})")


def diffusion_loss(model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x0: torch.Tensor, t: torch.Tensor,
                   noise: torch.Tensor, schedule: Schedule, prediction: str = "eps", weighting: str = "none",
                   gamma: float = 5.0) -> torch.Tensor:
    """Weighted eps-prediction loss; t (integer timesteps) has x0's shape or broadcasts to it."""
    alpha, sigma = schedule.alpha_sigma(t)
    x_t = alpha * x0 + sigma * noise
    eps = to_eps(model(x_t, t), x_t, alpha, sigma, prediction)
    weight = loss_weight(schedule.snr(t), weighting, gamma)
    return (weight * (eps - noise) ** 2).mean()


def eps_function(model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: Schedule,
                 prediction: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap a network into the eps_fn(x_t, t) the samplers expect."""

    def eps_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, sigma = schedule.alpha_sigma(t)
        return to_eps(model(x_t, t), x_t, alpha, sigma, prediction)

    return eps_fn


def warmup_cosine(steps: int, warmup: int = 20) -> Callable[[int], float]:
    """Learning-rate factor of step k: linear warmup over `warmup` steps times a cosine decay from 1 to a tenth."""
    return lambda k: min(1.0, (k + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * k / max(steps, 1))))

"""The denoising objective and a batched training loop with progress, EMA and a cosine learning rate.

The network may predict eps, x0 or v (`PREDICTIONS`); the loss is always the eps-space DDPM
loss of eq. (8) in 2504.20277, optionally reweighted per timestep, so the parametrization
and the weighting are independent choices.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable

import torch
from torch import nn

from wrbench.api import Context

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


def train(net: nn.Module, batch_loss: Callable[[torch.Generator], torch.Tensor], steps: int, lr: float, ctx: Context,
          stage: str = "train", ema_decay: float = 0.99, warmup: int = 20, grad_clip: float = 1.0) -> list[float]:
    """Adam with warmup and cosine decay to lr/10, gradient clipping, EMA weights copied into `net` at the end.

    `batch_loss(generator)` draws a minibatch and returns its loss; the generator comes from
    `ctx`, so a fit is reproducible. Reports `ctx.progress(stage, step, steps, loss=, eta_s=)`.
    Returns the loss per step.
    """
    gen = ctx.generator(stage, "batches")
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * k / max(steps, 1)))))
    ema = copy.deepcopy(net).requires_grad_(False)
    losses: list[float] = []
    smooth, start = None, time.perf_counter()
    net.train()
    for step in range(steps):
        loss = batch_loss(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        opt.step()
        sched.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters()):
                p_ema.lerp_(p, 1 - ema_decay)
        value = float(loss.detach())
        losses.append(value)
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        if (step + 1) % 10 == 0 or step + 1 == steps:
            elapsed = time.perf_counter() - start
            ctx.progress(stage, step + 1, steps, loss=smooth, eta_s=elapsed / (step + 1) * (steps - step - 1))
    net.load_state_dict(ema.state_dict())
    net.eval()
    return losses

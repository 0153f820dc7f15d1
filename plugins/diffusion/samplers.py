"""Reverse-process samplers driven by a noise-prediction function.

Every sampler takes `eps_fn(x_t, t) -> eps_hat` (t a 0-dim long tensor, the same for the
whole batch), a `Schedule`, the sample shape and a noise source (a `torch.Generator`, or a
function shape -> standard normal tensor such as `noise.NetworkNoise`), so the same trained
denoiser can be run with DDPM, DDIM or DPM-Solver++ and results are reproducible.

`clip=(low, high)` clamps each step's predicted clean sample x0 to the data range (the
decision box in diffusion coordinates) and re-derives eps from it: bounded, near-binary
targets are otherwise overshot at high noise, which is where a pure eps model is weakest.
"""
from __future__ import annotations

from typing import Callable

import torch

from .schedules import Schedule

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
NoiseSource = torch.Generator | Callable[[tuple[int, ...]], torch.Tensor]
Clip = tuple[float, float] | None
SAMPLERS = ("ddpm", "ddim", "dpm_solver")


def _predict(eps_fn: EpsFn, schedule: Schedule, x: torch.Tensor, t: int, clip: Clip) -> tuple[torch.Tensor, torch.Tensor]:
    """(eps_hat, x0_hat) at timestep t, with x0 clamped to `clip` and eps made consistent with it."""
    tt = torch.tensor(t, device=x.device)
    a, s = schedule.alpha_sigma(tt)
    eps = eps_fn(x, tt)
    x0 = (x - s * eps) / a
    if clip is not None:
        x0 = x0.clamp(clip[0], clip[1])
        eps = (x - a * x0) / s
    return eps, x0


def _noise(shape: tuple[int, ...], generator: NoiseSource, device: str | torch.device) -> torch.Tensor:
    if isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=device)
    return generator(shape)


def timesteps(T: int, steps: int) -> list[int]:
    """`steps` decreasing timestep indices from T-1 to 0, evenly spaced (duplicates removed)."""
    steps = max(1, min(steps, T))
    grid = torch.linspace(T - 1, 0, steps).round().long().tolist()
    return list(dict.fromkeys(grid))


def log_snr_timesteps(schedule: Schedule, steps: int) -> list[int]:
    """`steps` decreasing timesteps whose half log-SNR lambda_t = log(alpha_t / sigma_t) is closest to an even grid.

    DPM-Solver's error is controlled by the lambda step; uniform-t grids on the cosine schedule
    spend a huge first lambda step and lose accuracy at 10 steps.
    """
    abar = schedule.alphas_cumprod
    lam = 0.5 * (abar.log() - (1 - abar).log())
    target = torch.linspace(float(lam[-1]), float(lam[0]), max(1, steps), dtype=torch.float64)
    return list(dict.fromkeys((lam[None, :] - target[:, None]).abs().argmin(1).tolist()))


def posterior_variance(schedule: Schedule) -> torch.Tensor:
    """beta_tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, the true q(x_{t-1} | x_t, x_0) variance."""
    abar = schedule.alphas_cumprod
    prev = torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])
    return (1.0 - prev) / (1.0 - abar) * schedule.betas


@torch.inference_mode()
def ddpm(eps_fn: EpsFn, schedule: Schedule, shape: tuple[int, ...], generator: NoiseSource,
         device: str | torch.device = "cpu", x_T: torch.Tensor | None = None, clip: Clip = None) -> torch.Tensor:
    """Ancestral sampling through all T steps with the posterior mean and variance beta_tilde."""
    x = _noise(shape, generator, device) if x_T is None else x_T.clone()
    abar = schedule.alphas_cumprod
    var = posterior_variance(schedule)
    for t in range(schedule.T - 1, -1, -1):
        _, x0 = _predict(eps_fn, schedule, x, t, clip)
        prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
        c0 = (prev.sqrt() * schedule.betas[t] / (1 - abar[t])).item()
        ct = ((1 - schedule.betas[t]).sqrt() * (1 - prev) / (1 - abar[t])).item()
        x = c0 * x0 + ct * x
        if t > 0:
            x = x + var[t].sqrt().item() * _noise(shape, generator, device)
    return x


@torch.inference_mode()
def ddim(eps_fn: EpsFn, schedule: Schedule, shape: tuple[int, ...], generator: NoiseSource, steps: int = 50,
         eta: float = 0.0, device: str | torch.device = "cpu", x_T: torch.Tensor | None = None,
         clip: Clip = None) -> torch.Tensor:
    """DDIM (Song et al.) on `steps` timesteps; eta = 0 is deterministic given x_T, eta = 1 is DDPM-like."""
    x = _noise(shape, generator, device) if x_T is None else x_T.clone()
    abar = schedule.alphas_cumprod
    grid = timesteps(schedule.T, steps)
    for i, t in enumerate(grid):
        eps, x0 = _predict(eps_fn, schedule, x, t, clip)
        prev = abar[grid[i + 1]] if i + 1 < len(grid) else torch.tensor(1.0, dtype=abar.dtype)
        sigma = eta * ((1 - prev) / (1 - abar[t]) * (1 - abar[t] / prev)).clamp(min=0).sqrt()
        direction = (1 - prev - sigma**2).clamp(min=0).sqrt()
        x = prev.sqrt().item() * x0 + direction.item() * eps
        if sigma > 0:
            x = x + sigma.item() * _noise(shape, generator, device)
    return x


@torch.inference_mode()
def dpm_solver(eps_fn: EpsFn, schedule: Schedule, shape: tuple[int, ...], generator: NoiseSource, steps: int = 10,
               device: str | torch.device = "cpu", x_T: torch.Tensor | None = None, clip: Clip = None) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022): second-order multistep in data prediction, `steps` denoiser calls.

    It walks timesteps from T-1 to 0 and ends on the last x0 prediction
    (the noise-free limit, where the update reduces to first order). Timesteps are evenly spaced
    in log-SNR, as the paper recommends.
    """
    x = _noise(shape, generator, device) if x_T is None else x_T.clone()
    abar = schedule.alphas_cumprod
    lam = 0.5 * (abar.log() - (1 - abar).log())
    grid = log_snr_timesteps(schedule, steps)
    x0_prev, h_prev = None, None
    for i, t in enumerate(grid):
        _, x0 = _predict(eps_fn, schedule, x, t, clip)
        if i + 1 == len(grid):
            return x0
        s_next = grid[i + 1]
        h = (lam[s_next] - lam[t]).item()
        d = x0 if x0_prev is None else (1 + h / (2 * h_prev)) * x0 - h / (2 * h_prev) * x0_prev
        ratio = ((1 - abar[s_next]) / (1 - abar[t])).sqrt().item()
        x = ratio * x - abar[s_next].sqrt().item() * torch.expm1(torch.tensor(-h)).item() * d
        x0_prev, h_prev = x0, h
    return x


def run_sampler(name: str, eps_fn: EpsFn, schedule: Schedule, shape: tuple[int, ...], generator: NoiseSource,
                steps: int, eta: float = 0.0, device: str | torch.device = "cpu", clip: Clip = None) -> torch.Tensor:
    """Dispatch on a sampler name from `SAMPLERS` (DDPM ignores `steps` and uses all T)."""
    if name == "ddpm":
        return ddpm(eps_fn, schedule, shape, generator, device=device, clip=clip)
    if name == "ddim":
        return ddim(eps_fn, schedule, shape, generator, steps=steps, eta=eta, device=device, clip=clip)
    if name == "dpm_solver":
        return dpm_solver(eps_fn, schedule, shape, generator, steps=steps, device=device, clip=clip)
    raise ValueError(f"unknown sampler '{name}' (known: {', '.join(SAMPLERS)})")

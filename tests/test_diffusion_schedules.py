"""Schedules and samplers against closed forms and exact denoisers."""
from __future__ import annotations

import math

import pytest
import torch
from wrbench_plugins.diffusion.samplers import (
    ddim,
    ddpm,
    dpm_solver,
    log_snr_timesteps,
    posterior_variance,
    run_sampler,
    timesteps,
)
from wrbench_plugins.diffusion.schedules import linear_betas, make_schedule


def test_cosine_matches_closed_form() -> None:
    T, s = 100, 0.008
    sched = make_schedule("cosine", T)
    t = torch.arange(1, T + 1, dtype=torch.float64)
    closed = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2
    uncapped = sched.betas < 0.999  # improved-DDPM caps the last betas; the cumulative product departs only there
    first_capped = int(uncapped.logical_not().nonzero()[0]) if (~uncapped).any() else T
    assert torch.allclose(sched.alphas_cumprod[:first_capped], closed[:first_capped], rtol=1e-10)
    assert sched.alphas_cumprod[-1] < 1e-3


def test_linear_betas_and_cumprod() -> None:
    sched = make_schedule("linear", 1000)
    assert torch.allclose(sched.betas, torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64))
    assert torch.allclose(sched.alphas_cumprod, torch.cumprod(1 - sched.betas, 0))
    short = linear_betas(100)
    assert short[0] == pytest.approx(1e-3) and short[-1] == pytest.approx(0.2)


def test_posterior_variance_closed_form() -> None:
    sched = make_schedule("cosine", 50)
    abar, beta = sched.alphas_cumprod, sched.betas
    # Bayes: precision of q(x_{t-1} | x_t, x_0) = 1 / (1 - abar_{t-1}) + alpha_t / beta_t
    bayes = 1.0 / (1.0 / (1 - abar[:-1]) + (1 - beta[1:]) / beta[1:])
    assert torch.allclose(posterior_variance(sched)[1:], bayes, rtol=1e-9)
    assert posterior_variance(sched)[0] == 0


def _gaussian_eps(sched, std0: float):
    """The exact eps predictor for data N(0, std0^2)."""

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = sched.alpha_sigma(t)
        return s * x / (a**2 * std0**2 + s**2)

    return eps_fn


@pytest.mark.parametrize("name,steps", [("ddpm", 0), ("ddim", 50), ("dpm_solver", 10)])
def test_samplers_recover_gaussian_data(name: str, steps: int) -> None:
    sched = make_schedule("cosine", 100)
    out = run_sampler(name, _gaussian_eps(sched, 0.3), sched, (20000, 1), torch.Generator().manual_seed(0), steps=steps)
    assert abs(float(out.std()) - 0.3) < 0.015 and abs(float(out.mean())) < 0.01


def test_ddpm_returns_point_mass_exactly() -> None:
    sched = make_schedule("linear", 40)
    c = torch.tensor([0.25, -0.4])
    eps_fn = lambda x, t: (x - sched.alpha_sigma(t)[0] * c) / sched.alpha_sigma(t)[1]  # noqa: E731
    out = ddpm(eps_fn, sched, (5, 2), torch.Generator().manual_seed(1))
    assert torch.allclose(out, c.expand(5, 2), atol=1e-5)


def test_ddim_eta0_deterministic_given_noise() -> None:
    sched = make_schedule("cosine", 100)
    eps_fn = _gaussian_eps(sched, 0.5)
    x_T = torch.randn(64, 3, generator=torch.Generator().manual_seed(3))
    a = ddim(eps_fn, sched, x_T.shape, torch.Generator().manual_seed(4), steps=20, x_T=x_T)
    b = ddim(eps_fn, sched, x_T.shape, torch.Generator().manual_seed(5), steps=20, x_T=x_T)
    assert torch.equal(a, b)
    c = ddim(eps_fn, sched, x_T.shape, torch.Generator().manual_seed(5), steps=20, x_T=x_T, eta=1.0)
    assert not torch.equal(a, c)


def test_few_step_solver_matches_many_step_ddim() -> None:
    sched = make_schedule("cosine", 100)
    eps_fn = _gaussian_eps(sched, 0.5)
    x_T = torch.randn(256, 4, generator=torch.Generator().manual_seed(6))
    ref = ddim(eps_fn, sched, x_T.shape, torch.Generator(), steps=100, x_T=x_T)
    fast = dpm_solver(eps_fn, sched, x_T.shape, torch.Generator(), steps=10, x_T=x_T)
    assert (fast - ref).abs().max() < 0.03 and (fast - ref).abs().mean() < 0.01
    assert len(timesteps(100, 10)) == 10 and timesteps(100, 10)[0] == 99 and timesteps(100, 10)[-1] == 0
    grid = log_snr_timesteps(sched, 10)
    assert len(grid) <= 10 and grid[0] == 99 and grid[-1] == 0

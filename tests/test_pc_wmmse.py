"""WMMSE: monotone weighted sum rate and near-optimal on 2-link problems."""
from __future__ import annotations

import torch
from wrbench_plugins.power_control.rates import link_rates
from wrbench_plugins.power_control.wmmse import wmmse, wmmse_step


def _random_gains(gen: torch.Generator, batch: int, n: int) -> torch.Tensor:
    """SNR-normalized gains: strong direct links, interference from weak to comparable."""
    cross = 10 ** (torch.rand(batch, n, n, generator=gen, dtype=torch.float64) * 3.5 - 1)
    direct = 10 ** (torch.rand(batch, n, generator=gen, dtype=torch.float64) * 3)
    return cross * (1 - torch.eye(n, dtype=torch.float64)) + torch.diag_embed(direct)


def test_weighted_sum_rate_never_decreases() -> None:
    gen = torch.Generator().manual_seed(0)
    gains = _random_gains(gen, 50, 6)
    weights = torch.rand(50, 6, generator=gen, dtype=torch.float64) + 0.05
    v = torch.ones(50, 6, dtype=torch.float64)
    previous = (weights * link_rates(v.square(), gains)).sum(-1)
    for _ in range(60):
        v = wmmse_step(gains, weights, v)
        current = (weights * link_rates(v.square(), gains)).sum(-1)
        assert (current >= previous - 1e-10 * previous.abs().clamp(min=1)).all()
        previous = current
    assert ((v >= 0) & (v <= 1)).all()


def test_two_link_wmmse_close_to_grid_optimum_on_average() -> None:
    gen = torch.Generator().manual_seed(1)
    gains = _random_gains(gen, 200, 2)
    weights = torch.rand(200, 2, generator=gen, dtype=torch.float64) + 0.1
    found = (weights * link_rates(wmmse(gains, weights, 100), gains)).sum(-1)
    levels = torch.linspace(0, 1, 101, dtype=torch.float64)
    grid = torch.cartesian_prod(levels, levels)  # (K, 2)
    best = (weights[:, None] * link_rates(grid[None], gains[:, None])).sum(-1).amax(-1)
    assert (found / best).mean() >= 0.95

"""Water-filling is the reference of every sum_rate score: check it three independent ways."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from wrbench_plugins.sum_rate.waterfill import sum_rate, water_fill, water_level

DIFFSG_CSV = Path(os.environ.get("WRBENCH_DIFFSG_CSV", Path(__file__).resolve().parents[2] / "shared/data/diffsg_msr_3c_10w_head500.csv"))


def _random_instances(n: int, m: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    g = 0.1 + 3.0 * torch.rand(n, m, generator=gen, dtype=torch.float64)
    P = 0.5 + 20.0 * torch.rand(n, generator=gen, dtype=torch.float64)
    return g, P


@pytest.mark.parametrize("m", [1, 3, 10, 80])
def test_kkt_conditions(m: int) -> None:
    g, P = _random_instances(200, m, seed=m)
    p, mu = water_fill(g, P), water_level(g, P)
    active = p > 0
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), P, rtol=1e-12, atol=0)
    # Active channels share the water level; inactive ones have their floor 1/g at or above it.
    level = torch.where(active, p + 1 / g, mu.unsqueeze(-1))
    torch.testing.assert_close(level, mu.unsqueeze(-1).expand_as(level), rtol=1e-12, atol=1e-12)
    assert ((1 / g)[~active] >= mu.unsqueeze(-1).expand_as(g)[~active] - 1e-12).all()
    assert active.any(-1).all()


def test_matches_scipy_slsqp() -> None:
    g, P = _random_instances(20, 8, seed=1)
    p = water_fill(g, P)
    for gi, Pi, pi in zip(g.numpy(), P.numpy(), p.numpy()):
        result = minimize(
            lambda x: -np.log2(1 + gi * x).sum(),
            np.full(len(gi), Pi / len(gi)),
            jac=lambda x: -gi / ((1 + gi * x) * np.log(2)),
            method="SLSQP",
            bounds=[(0, None)] * len(gi),
            constraints=[{"type": "ineq", "fun": lambda x: Pi - x.sum(), "jac": lambda x: -np.ones_like(x)}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        assert result.success, result.message
        assert -result.fun == pytest.approx(np.log2(1 + gi * pi).sum(), abs=1e-7)
        np.testing.assert_allclose(result.x, pi, atol=1e-4)


def test_matches_diffsg_labels() -> None:
    if not DIFFSG_CSV.exists():
        pytest.skip(f"DiffSG reference data not found at {DIFFSG_CSV} (set WRBENCH_DIFFSG_CSV)")
    rows = torch.as_tensor(np.loadtxt(DIFFSG_CSV, delimiter=","))
    g, rate, labels = rows[:, :3], rows[:, 3], rows[:, 4:]
    p = water_fill(g, torch.full((len(rows),), 10.0, dtype=torch.float64))
    assert (sum_rate(g, p) - rate).abs().max() < 1e-3
    assert (sum_rate(g, p) >= rate - 1e-9).all()  # no label beats the exact optimum
    assert (p - labels).abs().max() < 1e-3


def test_zero_budget_gives_zero_power() -> None:
    g, _ = _random_instances(5, 4, seed=2)
    assert (water_fill(g, torch.zeros(5, dtype=torch.float64)) == 0).all()

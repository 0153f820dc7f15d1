"""Decision-set geometry: unit coordinates of boxes and budgets, uniform draws, the simplex projection."""
from __future__ import annotations

import pytest
import torch

from wrbench.api import Box, Budget, DecisionSet, project_simplex, uniform_simplex

B, D = 3, 4


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def box() -> Box:
    low = torch.tensor([[0.0] * D, [-1.0, 0.0, 2.0, 5.0], [0.5] * D], dtype=torch.float64)
    return Box(low=low, high=low + torch.tensor([1.0, 2.0, 0.5, 10.0], dtype=torch.float64))


def budget() -> Budget:
    return Budget(torch.tensor([1.0, 2.5, 10.0], dtype=torch.float64))


SETS = {"box": box, "budget": budget}


@pytest.mark.parametrize("make", SETS.values(), ids=SETS.keys())
def test_unit_round_trip(make) -> None:
    dset: DecisionSet = make()
    x = dset.uniform(50, D, gen())
    u = dset.to_unit(x)
    assert u.shape == (B, 50, dset.unit_dim(D))
    assert (u >= -1e-12).all() and (u <= 1 + 1e-12).all()
    if dset.unit_domain == "simplex":
        assert torch.allclose(u.sum(-1), torch.ones(B, 50, dtype=u.dtype))
    assert not any(mask.any() for mask in dset.unit_violations(u).values())
    assert torch.allclose(dset.from_unit(u), x, atol=1e-12)
    assert torch.allclose(dset.from_unit(u, repair=False), x, atol=1e-12)


@pytest.mark.parametrize("make", SETS.values(), ids=SETS.keys())
def test_from_unit_of_outside_points_is_feasible(make) -> None:
    dset: DecisionSet = make()
    u = 0.5 + 2 * torch.randn(B, 200, dset.unit_dim(D), generator=gen(1), dtype=torch.float64)
    x = dset.from_unit(u)
    assert x.shape == (B, 200, D) and dset.contains(x).all()
    assert all(mask.any() for mask in dset.unit_violations(u).values())


def dset_mask(dset: DecisionSet, u: torch.Tensor, kind: str) -> torch.Tensor:
    """The one mask `unit_violations` returns, checked to be of `kind`."""
    masks = dset.unit_violations(u)
    assert set(masks) == {kind}
    return masks[kind]


def test_box_unit_violations_are_the_clamped_coordinates() -> None:
    u = torch.tensor([[[0.5, -0.1, 1.2, 1.0]]], dtype=torch.float64).expand(B, 1, D)
    assert dset_mask(box(), u, "clamped").tolist() == [[[False, True, True, False]]] * B
    assert torch.equal(box().from_unit(u)[1, 0], torch.tensor([-0.5, 0.0, 2.5, 15.0], dtype=torch.float64))


def test_budget_unit_violations_look_at_the_shares() -> None:
    # the slack coordinate is ignored: only a negative share or shares summing past 1 count
    u = torch.tensor([[0.2, 0.2, 0.2, 0.2, -5.0], [0.3, 0.3, 0.3, 0.3, 0.0], [0.1, -0.1, 0.0, 0.0, 1.0]],
                     dtype=torch.float64)
    assert dset_mask(budget(), u[:, None], "infeasible")[:, 0].tolist() == [False, True, True]


def test_box_uniform_mean() -> None:
    dset, n = box(), 40_000
    x = dset.uniform(n, D, gen(2))
    assert x.shape == (B, n, D) and dset.contains(x).all()
    width = dset.high - dset.low
    sd = width / 12**0.5 / n**0.5
    assert ((x.mean(1) - (dset.low + dset.high) / 2).abs() <= 5 * sd).all()


def test_budget_uniform_is_uniform_on_the_simplex() -> None:
    dset, n = budget(), 40_000
    x = dset.uniform(n, D, gen(3))
    assert x.shape == (B, n, D) and dset.contains(x).all()
    shares = x / dset.total[:, None, None]
    k = D + 1  # shares plus slack: Dirichlet(1, ..., 1) on k coordinates
    sd = ((k - 1) / (k**2 * (k + 1)) / n) ** 0.5
    assert ((shares.mean(1) - 1 / k).abs() <= 5 * sd).all()
    assert ((1 - shares.sum(-1)).mean(1) - 1 / k).abs().max() <= 5 * sd
    # each share's marginal is Beta(1, k - 1): P(share < t) = 1 - (1 - t)^(k - 1)
    t = 0.1
    frac = (shares < t).double().mean(1)
    assert ((frac - (1 - (1 - t) ** (k - 1))).abs() <= 0.01).all()


def test_uniform_simplex_is_reproducible() -> None:
    a, b = uniform_simplex((2, 5), 3, gen(4)), uniform_simplex((2, 5), 3, gen(4))
    assert torch.equal(a, b) and a.shape == (2, 5, 3) and torch.allclose(a.sum(-1), torch.ones(2, 5, dtype=a.dtype))


def test_simplex_projection_reaches_zeros() -> None:
    u = torch.tensor([[0.9, 0.5, -0.2], [0.2, 0.3, 0.5], [2.0, -1.0, -1.0]])
    p = project_simplex(u)
    assert torch.allclose(p.sum(-1), torch.ones(3)) and (p >= 0).all()
    assert torch.allclose(p[1], u[1]) and torch.equal(p[2], torch.tensor([1.0, 0.0, 0.0]))
    assert p[0, 2] == 0.0


def bisection_projection(u: torch.Tensor, iters: int = 200) -> torch.Tensor:
    """The projection max(u - theta, 0) with sum 1, theta found by bisection (independent of the sort-based one)."""
    lo, hi = u.min(-1, keepdim=True).values - 1.0, u.max(-1, keepdim=True).values
    for _ in range(iters):
        mid = (lo + hi) / 2
        over = torch.clamp(u - mid, min=0.0).sum(-1, keepdim=True) > 1.0
        lo, hi = torch.where(over, mid, lo), torch.where(over, hi, mid)
    return torch.clamp(u - (lo + hi) / 2, min=0.0)


def test_simplex_projection_against_bisection_and_brute_force() -> None:
    u = 1.5 * torch.randn(64, 5, generator=gen(5), dtype=torch.float64)
    p = project_simplex(u)
    assert torch.allclose(p, bisection_projection(u), atol=1e-10)
    # no point of the simplex is closer: compare with many random feasible points
    q = uniform_simplex((2000,), 5, gen(6))
    best = (u[:, None] - q[None]).norm(dim=-1).min(1).values
    assert ((u - p).norm(dim=-1) <= best + 1e-12).all()

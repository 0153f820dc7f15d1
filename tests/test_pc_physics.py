"""Physics of the power_control plugin checked against independent hand computations and statistics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from wrbench_plugins.power_control.network import noise_power
from wrbench_plugins.power_control.problem import PowerControl
from wrbench_plugins.power_control.rates import COARSE_NODES, EXACT_NODES, expected_rates, faded_link_rates, link_rates


def test_two_pair_rates_by_hand() -> None:
    # tx j -> rx i gains H[j, i]; powers 10 mW and 5 mW; noise 1e-12 W.
    gains = torch.tensor([[1e-9, 2e-11], [4e-11, 5e-10]], dtype=torch.float64)
    power = torch.tensor([0.01, 0.005], dtype=torch.float64)
    # rx 0: signal 0.01 * 1e-9 = 1e-11, interference 0.005 * 4e-11 = 2e-13 -> SINR 1e-11 / 1.2e-12
    # rx 1: signal 0.005 * 5e-10 = 2.5e-12, interference 0.01 * 2e-11 = 2e-13 -> SINR 2.5e-12 / 1.2e-12
    expected = [math.log2(1 + 1e-11 / 1.2e-12), math.log2(1 + 2.5e-12 / 1.2e-12)]
    assert link_rates(power, gains, noise=1e-12).tolist() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx([3.2224, 1.6245], abs=1e-4)


def test_noise_power_matches_spec() -> None:
    # -174 dBm/Hz over 20 MHz = 10^(-20.4) W/Hz * 2e7 Hz
    assert noise_power(-174.0, 20e6) == pytest.approx(10 ** -20.4 * 2e7, rel=1e-12)


def test_faded_rates_match_per_draw_rates() -> None:
    gen = torch.Generator().manual_seed(0)
    gains = torch.rand(2, 4, 4, generator=gen, dtype=torch.float64) * 10
    power = torch.rand(2, 3, 4, generator=gen, dtype=torch.float64)
    fading = torch.empty(2, 5, 4, 4, dtype=torch.float64).exponential_(generator=gen)
    batched = faded_link_rates(power, gains, fading)
    direct = link_rates(power[:, :, None, :], (gains[:, None] * fading)[:, None])
    torch.testing.assert_close(batched, direct)


def test_expected_rates_match_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(1)
    gains = torch.tensor([[20.0, 0.5, 3.0], [1.0, 400.0, 0.2], [2.0, 8.0, 1.5]], dtype=torch.float64)
    power = torch.tensor([1.0, 0.4, 0.7], dtype=torch.float64)
    draws = link_rates(power, gains * torch.empty(400_000, 3, 3, dtype=torch.float64).exponential_(generator=gen))
    stderr = draws.std(0) / math.sqrt(draws.shape[0])
    assert ((expected_rates(power, gains) - draws.mean(0)).abs() < 4 * stderr).all()


def test_blocked_quadrature_matches_a_log_per_interferer() -> None:
    """The integral written out term by term (one log1p per interferer, all nodes at once) on a 41-link network
    (not a multiple of the block) with gains from 1e-3 to 1e12 (interferer products overflow at the largest
    nodes), and the coarse nodes within 1e-4 of the exact ones."""
    gen = torch.Generator().manual_seed(2)
    n = 41
    gains = 10.0 ** (torch.rand(n, n, generator=gen, dtype=torch.float64) * 15.0 - 3.0)
    power = torch.rand(3, n, generator=gen, dtype=torch.float64)
    received = power.unsqueeze(-1) * gains
    signal = torch.diagonal(received, dim1=-2, dim2=-1)
    u = EXACT_NODES
    z = u.exp()
    log_laplace = torch.log1p((received - torch.diag_embed(signal)).unsqueeze(-1) * z).sum(-3)
    integrand = torch.exp(-log_laplace - z) * z * signal.unsqueeze(-1) / (1.0 + signal.unsqueeze(-1) * z)
    direct = torch.trapezoid(integrand, dx=float(u[1] - u[0]), dim=-1) / math.log(2.0)
    exact = expected_rates(power, gains)
    assert torch.isfinite(exact).all()
    torch.testing.assert_close(exact, direct, rtol=1e-10, atol=1e-12)
    coarse = expected_rates(power, gains, COARSE_NODES)
    assert ((coarse - exact).abs() <= 1e-4 * exact).all()


def _path_loss_db(d: np.ndarray) -> np.ndarray:
    d = np.maximum(d, 1.0)
    return np.where(d <= 100, 39 + 20 * np.log10(d), 79 + 40 * np.log10(d / 100))


def test_geometry_and_shadowing_statistics() -> None:
    problem = PowerControl(n_pairs=20)
    inst = problem.make_instances("train", 60, seed=3)
    tx, rx, gains = (inst.arrays[k].numpy() for k in ("tx", "rx", "H"))
    side = 1000 * math.sqrt(20 / 8.0)
    assert (tx >= 0).all() and (tx <= side).all()
    pair = np.linalg.norm(tx - rx, axis=-1)
    assert pair.min() >= 10 - 1e-9 and pair.max() <= 50 + 1e-9
    tt = np.linalg.norm(tx[:, :, None] - tx[:, None], axis=-1) + np.eye(20) * 1e9
    assert tt.min() >= 35
    dist = np.linalg.norm(tx[:, :, None, :] - rx[:, None, :, :], axis=-1)  # [b, j (tx), i (rx)]
    residual = -10 * np.log10(gains) - _path_loss_db(dist)
    assert abs(residual.mean()) < 0.15
    assert residual.std() == pytest.approx(7.0, abs=0.15)


def test_fixed_positions_share_the_layout() -> None:
    problem = PowerControl(n_pairs=6, positions="fixed", layout_seed=4)
    a, b = problem.make_instances("train", 3, seed=0), problem.make_instances("test", 2, seed=9)
    assert torch.equal(a.arrays["tx"][0], b.arrays["tx"][1]) and torch.equal(a.arrays["rx"][2], b.arrays["rx"][0])
    assert not torch.equal(a.arrays["H"][0], a.arrays["H"][1])
    other = PowerControl(n_pairs=6, positions="fixed", layout_seed=5).make_instances("train", 1, seed=0)
    assert not torch.equal(a.arrays["tx"][0], other.arrays["tx"][0])


def test_impossible_placement_names_the_configuration() -> None:
    with pytest.raises(ValueError, match=r"N=100.*d_tt=35.*density=5000"):
        PowerControl(n_pairs=100, density=5000.0).make_instances("train", 1, seed=0)


def test_inverted_pair_distances_are_rejected() -> None:
    with pytest.raises(ValueError, match="d_min=60 m exceeds d_max=50 m"):
        PowerControl(n_pairs=3, d_min=60.0).make_instances("train", 1, seed=0)

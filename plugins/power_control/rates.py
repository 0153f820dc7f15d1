"""Link rates of an interference network: instantaneous, under fading, and their expectations.

Gains are indexed [tx j, rx i]. The experts and the evaluation work in
SNR-normalized units (gains times P_max / sigma2, powers divided by P_max, so
the noise is 1 and the power cap is 1); `link_rates` also takes physical units
through its `noise` argument.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wrbench.api import systematic_counts

# Trapezoid nodes in u = log z for the expected-rate integral; the integrand
# decays like e^u below and like exp(-e^u) above, so this range covers SNRs up
# to ~1e10. The integrand is analytic in u, so the trapezoid rule converges
# exponentially in the step: step 0.25 agrees with step 0.1 to ~1e-13 relative
# on N = 30 networks (SNRs 60 .. 2e6), and Monte Carlo confirms it (tests).
_QUAD_U = torch.linspace(-40.0, 4.0, 177, dtype=torch.float64)
# Elements (samples x N x N x nodes) per batch of `expected_sample_rates`: bounds its memory to ~100 MB.
_MAX_ELEMENTS = 2**23


def link_rates(power: torch.Tensor, gains: torch.Tensor, noise: float = 1.0) -> torch.Tensor:
    """Rates (..., N) in bps/Hz: log2(1 + p_i G_ii / (noise + sum_{j != i} p_j G_ji)).

    power (..., N) and gains (..., N, N) broadcast against each other.
    """
    total = (power.unsqueeze(-1) * gains).sum(dim=-2)  # not matmul: see wmmse.py
    signal = power * torch.diagonal(gains, dim1=-2, dim2=-1)
    return torch.log2(1.0 + signal / (noise + total - signal))


def faded_link_rates(power: torch.Tensor, gains: torch.Tensor, fading: torch.Tensor) -> torch.Tensor:
    """Rates (B, S, T, N) of S allocations (B, S, N) over T fading draws (B, T, N, N) of gains (B, N, N), noise 1.

    One batched matrix product per network, so the (S, T, N, N) product is never formed.
    """
    faded = gains.unsqueeze(1) * fading
    total = torch.einsum("bsj,btji->bsti", power, faded)
    signal = power.unsqueeze(2) * torch.diagonal(faded, dim1=-2, dim2=-1).unsqueeze(1)
    return torch.log2(1.0 + signal / (1.0 + total - signal))


def expected_rates(power: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Exact Rayleigh-fading expectation E[r_i] (..., N) of the rates of `power` (..., N), noise 1.

    With signal a*g and interferers b_j*g_j, g ~ Exp(1) i.i.d., the identity
    E ln(1 + X/(1 + Y)) = int_0^inf e^-z (1 - M_X(z)) M_Y(z) / z dz with Laplace
    transforms M gives int_0^inf e^-z a/(1 + a z) prod_j 1/(1 + b_j z) dz, a
    smooth 1-D integral evaluated by the trapezoid rule in log z.
    """
    received = power.unsqueeze(-1) * gains
    signal = torch.diagonal(received, dim1=-2, dim2=-1)
    interference = received - torch.diag_embed(signal)
    u = _QUAD_U.to(power.device)
    z = u.exp()
    log_transform = -torch.log1p(interference.unsqueeze(-1) * z).sum(-3)  # (..., N_rx, U)
    a = signal.unsqueeze(-1)
    integrand = torch.exp(log_transform - z) * z * a / (1.0 + a * z)
    step = float(u[1] - u[0])
    return torch.trapezoid(integrand, dx=step, dim=-1) / math.log(2.0)


def expected_sample_rates(power: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Exact expected rates (B, S, N) of samples `power` (B, S, N) on gains (B, N, N), in batches of bounded memory."""
    n = power.shape[-1]
    per_sample = n * n * len(_QUAD_U)
    chunk = max(1, _MAX_ELEMENTS // per_sample)
    flat_power = power.reshape(-1, n)
    flat_gains = gains.unsqueeze(1).expand(-1, power.shape[1], -1, -1).reshape(-1, n, n)
    out = [expected_rates(p, g) for p, g in zip(flat_power.split(chunk), flat_gains.split(chunk))]
    return torch.cat(out).reshape(power.shape)


@dataclass
class ErgodicRates:
    """Per-link ergodic rates of a policy's samples over one fading realization.

    `per_sample` (B, S, N): each sample held for all T steps (a deterministic
    policy); `time_shared` (B, N): slots of T0 steps each run the sample the
    schedule picks (the stochastic policy).
    """

    per_sample: torch.Tensor
    time_shared: torch.Tensor


def cycled_permutations(rows: int, size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Indices (rows, length) into `size` items: one random permutation per row, cycled to `length`.

    Uses the items as evenly as `length` allows (less noise than independent
    draws) and, unlike evenly spaced picks, cannot alias with periodic sequences.
    """
    order = torch.rand(rows, size, generator=generator, device=generator.device).argsort(dim=1)
    return order[:, torch.arange(length, device=order.device) % size]


def ergodic_rates(
    power: torch.Tensor,
    gains: torch.Tensor,
    steps: int,
    slot: int,
    fading_generator: torch.Generator,
    schedule_generator: torch.Generator,
    weights: torch.Tensor,
) -> ErgodicRates:
    """Simulate `steps` block-fading steps for samples `power` (B, S, N) of gains (B, N, N), noise 1.

    Fading is drawn slot by slot from `fading_generator` only, with shapes that
    do not depend on the samples, so every policy sees the same draws for the
    same generator seed (common random numbers). Slots go to the samples in
    proportion to `weights` (B, S) (systematic, shuffled).
    """
    n_networks, n_samples, n = power.shape
    n_slots = -(-steps // slot)
    schedule = systematic_counts(weights, n_slots, schedule_generator)
    rows = torch.arange(n_networks, device=power.device)
    per_sample = torch.zeros_like(power)
    time_shared = torch.zeros(n_networks, n, dtype=power.dtype, device=power.device)
    for k in range(n_slots):
        length = min(slot, steps - k * slot)
        fading = torch.empty(n_networks, length, n, n, dtype=power.dtype, device=power.device)
        fading.exponential_(generator=fading_generator)
        slot_sum = faded_link_rates(power, gains, fading).sum(dim=2)
        per_sample += slot_sum
        time_shared += slot_sum[rows, schedule[:, k]]
    return ErgodicRates(per_sample / steps, time_shared / steps)

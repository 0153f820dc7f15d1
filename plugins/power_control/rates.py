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

from .fading import FadingProcess

# Trapezoid nodes in u = log z for the expected-rate integral; the integrand
# decays like e^u below and like exp(-e^u) above, so this range covers SNRs up
# to ~1e10. The integrand is analytic in u, so the trapezoid rule converges
# exponentially in the step: step 0.25 (EXACT_NODES) agrees with step 0.1 to
# ~1e-13 relative on N = 30 networks (SNRs 60 .. 2e6), and Monte Carlo
# confirms it (tests); step 1 (COARSE_NODES, 4x cheaper) is within ~3e-5
# relative on N = 30 and N = 200 networks, enough to rank allocations.
EXACT_NODES = torch.linspace(-40.0, 4.0, 177, dtype=torch.float64)
COARSE_NODES = torch.linspace(-40.0, 4.0, 45, dtype=torch.float64)
# Received-power elements (samples x N x N) per batch of `expected_sample_rates`: bounds its memory to ~64 MB.
_MAX_ELEMENTS = 2**23
# Elements (allocations x N x N x nodes) of one step of the integral: small enough to stay in cache, which
# makes the memory-bound inner loop ~8x faster than one pass over all nodes.
_CACHE_ELEMENTS = 2**18
# The log-Laplace transform multiplies this many interferer factors (1 + b z) before one logarithm (cheaper
# than a log1p per factor). A product that overflows is inf, and the integrand its correct limit, 0.
_BLOCK = 8


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


def _log_laplace(interference: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """sum_j log(1 + b_ji z) (M, N_rx, U) for interference b (M, N_tx, N_rx) at nodes z (U,), _BLOCK factors per log.

    Differentiable in b (sa_pd trains through it)."""
    factors = interference.unsqueeze(-1) * z + 1.0
    whole = factors.shape[1] - factors.shape[1] % _BLOCK
    log = torch.log if factors.requires_grad else torch.log_  # in place, unless autograd needs the product
    out = log(factors[:, :whole].unflatten(1, (-1, _BLOCK)).prod(dim=2)).sum(dim=1)
    if whole < factors.shape[1]:
        out = out + log(factors[:, whole:].prod(dim=1))
    return out


def expected_rates(power: torch.Tensor, gains: torch.Tensor, nodes: torch.Tensor = EXACT_NODES) -> torch.Tensor:
    """Rayleigh-fading expectation E[r_i] (..., N) of the rates of `power` (..., N), noise 1, on quadrature `nodes`.

    With signal a*g and interferers b_j*g_j, g ~ Exp(1) i.i.d., the identity
    E ln(1 + X/(1 + Y)) = int_0^inf e^-z (1 - M_X(z)) M_Y(z) / z dz with Laplace
    transforms M gives int_0^inf e^-z a/(1 + a z) prod_j 1/(1 + b_j z) dz, a
    smooth 1-D integral evaluated by the trapezoid rule in log z.
    """
    received = power.unsqueeze(-1) * gains
    shape = received.shape[:-1]
    received = received.reshape(-1, *received.shape[-2:])
    signal = torch.diagonal(received, dim1=-2, dim2=-1)
    interference = received - torch.diag_embed(signal)
    z = nodes.to(power.device).exp()
    weights = torch.full_like(z, float(nodes[1] - nodes[0]) / math.log(2.0))
    weights[[0, -1]] /= 2.0  # trapezoid rule, in bits
    per_allocation = interference[0].numel()
    rows = max(1, _CACHE_ELEMENTS // (per_allocation * len(z)))
    node_step = max(1, _CACHE_ELEMENTS // (per_allocation * rows))
    out = torch.zeros_like(signal)
    for start in range(0, len(signal), rows):
        part, a = interference[start:start + rows], signal[start:start + rows].unsqueeze(-1)
        for z_part, w_part in zip(z.split(node_step), weights.split(node_step)):
            integrand = torch.exp(-_log_laplace(part, z_part) - z_part) * z_part * a / (1.0 + a * z_part)
            out[start:start + rows] += integrand @ w_part
    return out.reshape(shape)


def expected_sample_rates(power: torch.Tensor, gains: torch.Tensor, nodes: torch.Tensor = EXACT_NODES) -> torch.Tensor:
    """Expected rates (B, S, N) of samples `power` (B, S, N) on gains (B, N, N), in batches of bounded memory."""
    n = power.shape[-1]
    chunk = max(1, _MAX_ELEMENTS // (n * n))
    return torch.stack([
        torch.cat([expected_rates(part, g, nodes) for part in p.split(chunk)]) for p, g in zip(power, gains)
    ])


@dataclass
class ErgodicRates:
    """Per-link ergodic rates of a policy's samples over one fading realization.

    `per_sample` (B, S, N): each sample held for all T steps (a deterministic
    policy); `time_shared` (B, N): slots of T0 steps each run the sample the
    schedule picks (the stochastic policy).
    """

    per_sample: torch.Tensor
    time_shared: torch.Tensor


def slot_schedule(weights: torch.Tensor, n_slots: int, draws: str, generator: torch.Generator) -> torch.Tensor:
    """Which sample (B, n_slots) each T0-step slot runs, from the samples' weights (B, S).

    `systematic`: every sample gets floor or ceil of n_slots * w_s slots (shuffled);
    `with_replacement`: each slot draws a sample independently with probabilities w_s.
    """
    if draws == "systematic":
        return systematic_counts(weights, n_slots, generator)
    return torch.multinomial(weights.to(torch.float64), n_slots, replacement=True, generator=generator)


def ergodic_rates(
    power: torch.Tensor,
    gains: torch.Tensor,
    steps: int,
    slot: int,
    fading: FadingProcess,
    schedule: torch.Tensor,
) -> ErgodicRates:
    """Simulate `steps` fading steps for samples `power` (B, S, N) of gains (B, N, N), noise 1.

    Fading comes from `fading` only, slot by slot, with shapes that do not
    depend on the samples, so every policy sees the same draws for the same
    seed (common random numbers). Slot k runs sample `schedule[:, k]`.
    """
    n_networks, n_samples, n = power.shape
    n_slots = -(-steps // slot)
    rows = torch.arange(n_networks, device=power.device)
    per_sample = torch.zeros_like(power)
    time_shared = torch.zeros(n_networks, n, dtype=power.dtype, device=power.device)
    for k in range(n_slots):
        length = min(slot, steps - k * slot)
        slot_sum = faded_link_rates(power, gains, fading.steps(length)).sum(dim=2)
        per_sample += slot_sum
        time_shared += slot_sum[rows, schedule[:, k]]
    return ErgodicRates(per_sample / steps, time_shared / steps)

"""The test-time dual dynamics of `sa_pd`: a policy pi(lambda) run slot by slot, lambda following the rate shortfalls."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .rates import expected_rates, faded_link_rates

SlotRates = Callable[[torch.Tensor], torch.Tensor]

# Quadrature nodes (in log z) of the expected rates that sa_pd's training and dual feedback use: COARSE_NODES's
# step of 1 without its far-left tail (z < e^-24), within ~2e-4 bps/Hz of the exact rates on N = 30
# networks and ~1.6x cheaper; the evaluation keeps its own exact nodes.
RATE_NODES = torch.linspace(-24.0, 4.0, 29, dtype=torch.float64)


@dataclass
class DualRun:
    """What the dynamics produced: the allocations (B, S, N) of the last S slots and the duals (slots + 1, B, N)
    before every slot and after the last."""

    window: torch.Tensor
    duals: torch.Tensor


def run_dual_dynamics(policy: Callable[[torch.Tensor], torch.Tensor], slot_rates: SlotRates, target: torch.Tensor,
                      eta: float, dual_max: float, burn_in: int, n_samples: int) -> DualRun:
    """lambda_0 = 0; slot k plays x_k = policy(lambda_k) (B, N) and sets
    lambda_{k+1} = clip(lambda_k - eta (slot_rates(x_k) - target), 0, dual_max), target (B, N) the rates aimed at;
    the last n_samples slots are kept."""
    dual = torch.zeros_like(target)
    duals, window = [], []
    for slot in range(burn_in + n_samples):
        power = policy(dual)
        duals.append(dual)
        if slot >= burn_in:
            window.append(power)
        dual = (dual - eta * (slot_rates(power) - target)).clamp(0.0, dual_max)
    return DualRun(torch.stack(window, dim=1), torch.stack([*duals, dual]))


def expected_feedback(gains: torch.Tensor) -> SlotRates:
    """A slot allocation's exact ergodic rates under Rayleigh fading (B, N), gains (B, N, N) in SNR units."""
    return lambda power: expected_rates(power, gains, RATE_NODES)


def measured_feedback(gains: torch.Tensor, steps: int, generator: torch.Generator) -> SlotRates:
    """A slot allocation's rates averaged over `steps` fresh i.i.d. Exp(1) fading draws (B, N)."""
    def rates(power: torch.Tensor) -> torch.Tensor:
        fading = torch.empty(gains.shape[0], steps, *gains.shape[1:], dtype=gains.dtype, device=gains.device)
        return faded_link_rates(power.unsqueeze(1), gains, fading.exponential_(generator=generator))[:, 0].mean(dim=1)
    return rates

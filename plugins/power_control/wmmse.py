"""Weighted-sum-rate WMMSE for the SISO interference channel (Shi, Razaviyayn, Luo, He 2011), batched.

Works in SNR-normalized units (noise 1, power cap 1). Each step is an exact
block-coordinate update of the equivalent weighted-MSE problem, so the
weighted sum rate never decreases from one step to the next.

Products are written as broadcast-and-sum rather than matmul: for these small
matrices a threaded BLAS call costs milliseconds on a busy CPU, the sum microseconds.
"""
from __future__ import annotations

import torch


def wmmse_step(gains: torch.Tensor, weights: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """One WMMSE round: receiver gains u, MSE weights w, then the clipped transmit amplitudes v.

    gains (..., N, N) [tx, rx], noise 1; weights and amplitudes v = sqrt(power) (..., N).
    """
    direct = torch.diagonal(gains, dim1=-2, dim2=-1).sqrt()
    received = (v.square().unsqueeze(-1) * gains).sum(dim=-2) + 1.0
    useful = (direct * v).square()
    u = direct * v / received
    w = received / (received - useful)  # 1 / (1 - u h v), written without cancellation
    spread = (gains * (weights * w * u.square()).unsqueeze(-2)).sum(dim=-1)
    return torch.clamp(weights * w * u * direct / torch.clamp(spread, min=1e-300), 0.0, 1.0)


def wmmse(gains: torch.Tensor, weights: torch.Tensor, iterations: int, start: torch.Tensor | None = None) -> torch.Tensor:
    """Powers (..., N) in [0, 1] that locally maximize sum_i weights_i r_i, from amplitudes `start` (default: full power).

    gains (..., N, N) SNR-normalized; weights (..., N) broadcast to the batch. A link started at zero stays off.
    """
    shape = torch.broadcast_shapes(weights.shape, gains.shape[:-1])
    v = torch.ones(shape, dtype=gains.dtype, device=gains.device) if start is None else start
    for _ in range(iterations):
        v = wmmse_step(gains, weights, v)
    return v.square()

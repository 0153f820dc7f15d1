"""Weighted sample sets: a policy that is a mixture (an LP over grid points) returns its support and weights.

Scoring a mixture by points resampled from it adds sampling error to an exact
policy (the resampled set cannot hold the LP's active constraints), so the
harness passes the weights to the problem's evaluation. Fitting APIs take plain
samples, so training data is drawn from the weights by `resample`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class WeightedSamples:
    """Samples (B, S, D) with probabilities (B, S): each row of `weights` is >= 0 with a positive sum.

    A solver's `sample` or an expert's `solve` may return one instead of a plain tensor; the harness
    normalizes each row to sum 1. Pad a support smaller than S with zero-weight points.
    """

    samples: torch.Tensor
    weights: torch.Tensor


def normalized(weights: torch.Tensor) -> torch.Tensor:
    """Rows of `weights` scaled to sum 1 (float64)."""
    weights = weights.to(torch.float64)
    return weights / weights.sum(dim=-1, keepdim=True)


def uniform_weights(samples: torch.Tensor) -> torch.Tensor:
    """Weights (B, S) of an unweighted sample set: 1 / S each."""
    n_networks, n_samples = samples.shape[:2]
    return torch.full((n_networks, n_samples), 1.0 / n_samples, dtype=torch.float64, device=samples.device)


def systematic_counts(weights: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Indices (B, count) into the S columns of `weights` (B, S): systematic resampling, then shuffled.

    Each index appears floor or ceil of count * w times, so a mixture's share of draws deviates from its
    weight by less than 1 / count; the shuffle keeps the order free of any structure of the support.
    """
    n_networks = weights.shape[0]
    device = weights.device
    offset = torch.rand(n_networks, 1, generator=generator, device=generator.device, dtype=torch.float64).to(device)
    positions = (offset + torch.arange(count, device=device, dtype=torch.float64)) / count
    cumulative = weights.to(torch.float64).cumsum(dim=1)
    cumulative = cumulative / cumulative[:, -1:]
    index = torch.searchsorted(cumulative, positions.contiguous()).clamp(max=weights.shape[1] - 1)
    order = torch.rand(n_networks, count, generator=generator, device=generator.device).argsort(dim=1).to(device)
    return index.gather(1, order)


def resample(weighted: WeightedSamples, count: int, generator: torch.Generator) -> torch.Tensor:
    """Plain samples (B, count, D) drawn from a weighted set, for APIs that take unweighted samples (fitting)."""
    index = systematic_counts(weighted.weights, count, generator)
    rows = torch.arange(index.shape[0], device=index.device).unsqueeze(-1)
    return weighted.samples[rows, index]


def plain_samples(samples: torch.Tensor, weights: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """Unweighted samples of the same shape: `samples` itself, or as many draws from the weighted set."""
    if weights is None:
        return samples
    return resample(WeightedSamples(samples, weights), samples.shape[1], generator)

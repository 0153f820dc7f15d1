"""Sampling noise drawn per network, so a network's samples do not depend on the batch it is sampled in.

Each network gets its own generator, seeded from the sampling seed and the network's content (its
fingerprint), and every draw is made per network in the canonical (B, S, D') layout before being laid
out for the sampler. Sampling one network alone, or in any batch, or in another order, then gives the
same samples for it (up to float rounding of the batched network), and the latency of one request is
measured on the same computation as the batched one.
"""
from __future__ import annotations

from typing import Callable

import torch

from wrbench.api import Instances, derive_seed

Layout = Callable[[torch.Tensor], torch.Tensor]


class NetworkNoise:
    """Standard normal draws `noise(shape)` in a sampler's layout, each network's part from its own generator."""

    def __init__(self, instances: Instances, seed: int, n_samples: int, dim: int, layout: Layout,
                 device: str | torch.device):
        self.shape, self.layout, self.device = (n_samples, dim), layout, device
        self.generators = []
        for b in range(len(instances)):  # once per sampling call; each draw is one randn per network
            generator = torch.Generator(device=device)
            generator.manual_seed(derive_seed(seed, "network", instances.select([b]).fingerprint()))
            self.generators.append(generator)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        blocks = torch.stack([torch.randn(self.shape, generator=g, device=self.device) for g in self.generators])
        out = self.layout(blocks)
        if tuple(out.shape) != tuple(shape):
            raise ValueError(f"noise laid out as {tuple(out.shape)}, the sampler asked for {tuple(shape)}")
        return out

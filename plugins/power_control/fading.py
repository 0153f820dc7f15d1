"""Small-scale fading of the simulated view: i.i.d. block Rayleigh, or time-correlated (sum of sinusoids).

A fading process yields the power gains |h|^2 (B, steps, N, N) of every link,
step after step (STEP_SECONDS each). It draws from the generator it is given
only, with shapes set by the networks (never by a policy's samples), so every
policy scored with the same seed sees the same fading (common random numbers).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch

STEP_SECONDS = 0.01  # one fading step of the simulated view
FADING_KINDS = ("iid", "jakes")


class FadingProcess(Protocol):
    def steps(self, length: int) -> torch.Tensor:
        """The power gains (B, length, N, N) of the next `length` steps."""


class IidRayleigh:
    """|h|^2 ~ Exp(1), independent across links and steps (block fading, no memory)."""

    def __init__(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype, device: torch.device):
        self.shape, self.generator, self.dtype, self.device = shape, generator, dtype, device

    def steps(self, length: int) -> torch.Tensor:
        n_networks, *links = self.shape
        out = torch.empty(n_networks, length, *links, dtype=self.dtype, device=self.device)
        return out.exponential_(generator=self.generator)


class SumOfSinusoids:
    """Clarke's model by Monte Carlo: h(t) = M^-1/2 sum_m exp(j (2 pi f_D cos(a_m) t + phi_m)).

    Each link has its own M angles of arrival a_m and phases phi_m, i.i.d.
    uniform on [0, 2 pi). Then E|h|^2 = 1, E[h(t) h*(t + tau)] = J0(2 pi f_D tau)
    and the power gains' correlation coefficient is exactly J0(2 pi f_D tau)^2
    for any M; the marginal tends to Rayleigh (|h|^2 ~ Exp(1)) as M grows
    (E|h|^4 = 2 - 1/M instead of 2). Each step multiplies the paths' phasors by
    their fixed Doppler rotation, so a step costs one complex product per path.
    Memory: 2 complex phasors per path and link, 32 M N^2 bytes per network.
    """

    def __init__(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                 doppler_hz: float, paths: int):
        angle, phase = (2.0 * math.pi * torch.rand(*shape, paths, generator=generator, dtype=torch.float64, device=device)
                        for _ in range(2))
        step = 2.0 * math.pi * doppler_hz * STEP_SECONDS * torch.cos(angle)
        self.phasor = torch.polar(torch.ones_like(phase), phase)
        self.rotation = torch.polar(torch.ones_like(step), step)
        self.paths, self.dtype = paths, dtype

    def steps(self, length: int) -> torch.Tensor:
        out = []
        for _ in range(length):
            out.append(self.phasor.sum(dim=-1).abs().square() / self.paths)
            self.phasor *= self.rotation
        return torch.stack(out, dim=1).to(self.dtype)


@dataclass(frozen=True)
class FadingModel:
    """Which process the simulated view draws: `iid` block Rayleigh or `jakes` (Doppler `doppler_hz`, `paths` sinusoids)."""

    kind: str = "iid"
    doppler_hz: float = 8.0
    paths: int = 25

    def process(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype,
                device: torch.device) -> FadingProcess:
        """A fresh process for links of `shape` (B, N, N), drawing from `generator` only."""
        if self.kind == "iid":
            return IidRayleigh(shape, generator, dtype, device)
        return SumOfSinusoids(shape, generator, dtype, device, self.doppler_hz, self.paths)

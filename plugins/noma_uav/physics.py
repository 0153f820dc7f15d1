"""Downlink NOMA from a UAV: unit conversions, channel gains and SIC rates, vectorized over leading axes.

Powers are in mW and gains are linear power ratios; every function broadcasts
over leading axes such as (B, S), so the problem, the reference search and the
tests share one implementation of the physics.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def db_to_linear(db: float) -> float:
    """A power ratio in dB as a linear factor (-60 dB -> 1e-6)."""
    return 10.0 ** (db / 10.0)


def dbm_to_mw(dbm: float) -> float:
    """A power in dBm in mW (-110 dBm -> 1e-11 mW)."""
    return 10.0 ** (dbm / 10.0)


def channel_gains(q: torch.Tensor, users: torch.Tensor, altitude: float, rho0: float) -> torch.Tensor:
    """g_k = rho0 / (H^2 + ||q - u_k||^2), shape (..., K), for UAV positions q (..., 2) and users (..., K, 2)."""
    d2 = ((q.unsqueeze(-2) - users) ** 2).sum(-1)
    return rho0 / (altitude**2 + d2)


def sic_order(g: torch.Tensor) -> torch.Tensor:
    """Indices (..., K) of the users from strongest to weakest gain: the SIC decoding order (stable on ties)."""
    return torch.sort(g, dim=-1, descending=True, stable=True).indices


def sorted_rates(gamma: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Rates (..., K) in bit/s/Hz of users already in SIC order, with noise-normalized gains gamma = g / sigma^2.

    The user of rank k cancels the weaker users' signals and hears the stronger
    ones' as interference: SINR_k = p_k gamma_k / (gamma_k sum_{j<k} p_j + 1).
    """
    stronger = p.cumsum(-1) - p
    return torch.log2(1.0 + p * gamma / (stronger * gamma + 1.0))


def user_rates(g: torch.Tensor, p: torch.Tensor, noise: float) -> torch.Tensor:
    """Rates (..., K) of each user (in the users' own order) for gains g and powers p (..., K) in mW."""
    order = sic_order(g)
    rates = sorted_rates(g.gather(-1, order) / noise, p.gather(-1, order))
    return torch.empty_like(rates).scatter_(-1, order, rates)


def sic_power_ordered(g: torch.Tensor, p: torch.Tensor, atol: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Boolean (...): whether p is non-decreasing from the strongest user to the weakest (within atol), as SIC needs."""
    ranked = p.gather(-1, sic_order(g))
    atol = torch.as_tensor(atol, dtype=p.dtype, device=p.device)
    return (ranked[..., 1:] >= ranked[..., :-1] - atol.unsqueeze(-1)).all(-1)


@dataclass(frozen=True)
class Link:
    """The air-to-ground link: UAV altitude (m), gain rho0 at 1 m (linear) and noise power (mW)."""

    altitude: float
    rho0: float
    noise: float

    def snr_per_mw(self, q: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        """Noise-normalized gains g_k / sigma^2 (..., K) in 1/mW: O(1..100), unlike g itself (~1e-11)."""
        return channel_gains(q, users, self.altitude, self.rho0) / self.noise

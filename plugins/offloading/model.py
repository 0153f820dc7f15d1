"""The offloading system model: uplink rates, delays and the weighted delay-energy cost, vectorized.

One instance: n devices, each with a task of `s` bits needing `c` CPU cycles, a local
CPU of `f` Hz, an uplink power gain `h` and a delay weight `alpha` (energy weight
1 - alpha), sharing one edge server of `F_t` Hz. Tensors are (..., n); a decision is
D (..., n) in {0, 1} (1 = offload) and server shares F (..., n).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

INTERFERENCE_MODELS = ("others", "diffsg")


@dataclass(frozen=True)
class Constants:
    """The system constants (SI units), parameters of the problem."""

    server_hz: float = 2.5e9  # F_t
    kappa: float = 1e-28  # effective switched capacitance of a local CPU
    tx_power_w: float = 0.3  # P_t
    idle_power_w: float = 0.1  # P_I, drawn while the server computes an offloaded task
    delay_bound_s: float = 1.0  # theta
    bandwidth_hz: float = 1e6  # B
    noise_w: float = 7.96159e-13  # N0
    interference: str = "others"

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> "Constants":
        return cls(**{name: params[name] for name in cls.__dataclass_fields__})


def per_sample(arrays: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Instance arrays (B, n) as float64 (B, 1, n), to broadcast against decisions (B, S, n)."""
    return {key: v.to(torch.float64).unsqueeze(1) for key, v in arrays.items()}


def uplink_rate(h: torch.Tensor, offload: torch.Tensor, k: Constants) -> torch.Tensor:
    """Rates r_i = B log2(1 + SINR_i) in bit/s.

    "others": only the other offloading devices interfere, so the rates depend on D;
    "diffsg": every device interferes, its own signal included (DiffSG's code), so they do not.
    """
    power = k.tx_power_w * h**2
    if k.interference == "diffsg":
        interference = power.sum(-1, keepdim=True)
    else:
        interference = (power * offload).sum(-1, keepdim=True) - power * offload
    return k.bandwidth_hz * torch.log2(1.0 + power / (k.noise_w + interference))


def local_cost(arrays: Mapping[str, torch.Tensor], k: Constants) -> torch.Tensor:
    """alpha c / f + (1 - alpha) kappa f^2 c: the delay-energy cost of computing locally."""
    c, f, alpha = arrays["c"], arrays["f_local"], arrays["alpha"]
    return alpha * c / f + (1 - alpha) * k.kappa * f**2 * c


def share_weights(arrays: Mapping[str, torch.Tensor], k: Constants) -> torch.Tensor:
    """a_i = (alpha_i + beta_i P_I) c_i / F_t: an offloaded device's cost on the server is a_i / F_i."""
    alpha = arrays["alpha"]
    return (alpha + (1 - alpha) * k.idle_power_w) * arrays["c"] / k.server_hz


def upload_time(arrays: Mapping[str, torch.Tensor], rate: torch.Tensor) -> torch.Tensor:
    """s_i / r_i in seconds."""
    return arrays["s"] / rate


def upload_cost(arrays: Mapping[str, torch.Tensor], rate: torch.Tensor, k: Constants) -> torch.Tensor:
    """(alpha + beta P_t) s / r: the delay and transmit energy of uploading a task."""
    alpha = arrays["alpha"]
    return (alpha + (1 - alpha) * k.tx_power_w) * upload_time(arrays, rate)


def cost_and_delay(arrays: Mapping[str, torch.Tensor], offload: torch.Tensor, shares: torch.Tensor,
                   k: Constants) -> tuple[torch.Tensor, torch.Tensor]:
    """Total cost (...) and per-device delays (..., n) of decisions (D, F); arrays broadcast against them.

    An offloaded device with no server share never finishes: its delay and cost are infinite.
    """
    d = offload.to(shares.dtype)
    rate = uplink_rate(arrays["h"], d, k)
    server_time = arrays["c"] / (k.server_hz * shares)
    remote_delay = upload_time(arrays, rate) + server_time
    remote_cost = upload_cost(arrays, rate, k) + share_weights(arrays, k) / shares
    local = local_cost(arrays, k)
    cost = torch.where(d > 0, remote_cost, local).sum(-1)
    delay = torch.where(d > 0, remote_delay, arrays["c"] / arrays["f_local"])
    return cost, delay

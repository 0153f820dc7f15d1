"""The decision sets of `noma_uav`: a UAV position in the square and a power split within the budget, with unit
coordinates either the budget's shares (`PositionPower`) or each user's place in its QoS range (`QosPositionPower`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from wrbench.api import DecisionSet, uniform_simplex

from .physics import Link, sic_order
from .power import qos_coordinates, qos_powers, rmin_attainable


@dataclass
class PositionPower(DecisionSet):
    """Decisions x = (q_x, q_y, p_1..p_K): q in [0, side]^2 (m), p >= 0 with sum p <= P (mW), P per instance.

    The SIC power order and r_min are scored as metrics, not membership. Unit
    domain: the cube of D = 2 + K coordinates, q / side and p / P; its points with
    sum(p / P) > 1 lie outside the set, and `from_unit` scales their powers onto
    the budget. Raw samples outside the set are projected for scoring
    (`enforce = "score"`): the problem counts them.
    """

    side: float
    total: torch.Tensor  # P (B,)
    enforce: str = "score"
    unit_domain: ClassVar[str] = "cube"

    def _scales(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, D): side for the two position coordinates, P for the powers, in x's dtype and device."""
        if x.shape[-1] < 3:
            raise ValueError(f"decisions need 2 position coordinates and at least one power, got {x.shape[-1]} coordinates")
        total = self.total.to(x)[:, None, None]
        return torch.cat([torch.full_like(total, self.side).expand(-1, 1, 2), total.expand(-1, 1, x.shape[-1] - 2)], -1)

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        """Boolean (B, S): q within the square, p >= 0 and sum p <= P, each within atol relative to side or P."""
        scales = self._scales(x)
        low = (x >= -atol * scales).all(-1)
        q_high = (x[..., :2] <= self.side * (1 + atol)).all(-1)
        budget = x[..., 2:].sum(-1) <= self.total.to(x).unsqueeze(-1) * (1 + atol)
        return low & q_high & budget

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """q clamped onto the square; p clipped at 0, then scaled down onto the budget where it is exceeded."""
        q = x[..., :2].clamp(0.0, self.side)
        p = torch.clamp(x[..., 2:], min=0.0)
        total = self.total.to(x).unsqueeze(-1)
        scale = torch.clamp(total / torch.clamp(p.sum(-1), min=1e-300), max=1.0)
        return torch.cat([q, p * scale.unsqueeze(-1)], -1)

    def describe(self) -> str:
        return f"q in [0, {self.side:g}]^2 m, p >= 0, sum(p) <= P mW"

    def unit_dim(self, dim: int) -> int:
        return dim

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """(q / side, p / P): in [0, 1]^D for x in the set."""
        return x / self._scales(x)

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        """u times (side, P); with `repair`, q is clamped to the square and the powers projected onto the budget first."""
        x = u * self._scales(u)
        return self.project(x) if repair else x

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """{"clamped": (B, S, D) coordinates `from_unit` clamps (q outside [0, 1], p < 0); "scaled": (B, S)
        samples whose clipped power shares sum past 1, which `from_unit` scales onto the budget}."""
        q, p = u[..., :2], u[..., 2:]
        clamped = torch.cat([(q < -atol) | (q > 1 + atol), p < -atol], -1)
        return {"clamped": clamped, "scaled": torch.clamp(p, min=0.0).sum(-1) > 1 + atol}

    def uniform(self, n_samples: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """q uniform in the square, p uniform in {p >= 0, sum p <= P} (the shares of a (K + 1)-simplex point)."""
        total = self.total.double()
        shape = (total.shape[0], n_samples)
        q = self.side * torch.rand(*shape, 2, generator=generator, dtype=torch.float64, device=total.device)
        shares = uniform_simplex(shape, dim - 1, generator, total.device)[..., :-1]
        return torch.cat([q, shares * total[:, None, None]], -1).to(self.total.dtype)


@dataclass
class QosPositionPower(PositionPower):
    """The same decisions, membership and projection as `PositionPower`; unit coordinates in which every point of
    the cube decodes to a split meeting the SIC order, r_min and the budget at its position.

    Unit coordinates (q / side, u_1..u_K): u_k, for the user k-th strongest at q, places its power between the
    least that SIC order and r_min allow after the stronger users' powers and the most that leaves the weaker
    users' least completion within the budget (`power.qos_powers`). The coordinates follow the users' own order.
    `from_unit` with `repair` clamps u into the cube first; where a position admits no split meeting r_min,
    the powers are decoded with r_min waived (SIC order and the budget still hold), and `unit_violations`
    counts both repairs. Scoring is unchanged: the problem checks the decoded decisions like any others.
    """

    users: torch.Tensor | None = None  # (B, K, 2) m
    link: Link | None = None
    r_min: float = 0.0

    def _gains(self, x: torch.Tensor) -> torch.Tensor:
        """Noise-normalized gains (B, S, K) at the positions x[..., :2] (m)."""
        if self.users is None or self.link is None:
            raise ValueError("QosPositionPower needs the users' positions and the link")
        return self.link.snr_per_mw(x[..., :2], self.users.to(x).unsqueeze(1))

    def _sorted(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(SIC order (B, S, K) at x's positions, gains in that order, budgets (B, 1))."""
        gamma = self._gains(x)
        order = sic_order(gamma)
        return order, gamma.gather(-1, order), self.total.to(x).unsqueeze(-1)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """(q / side, u): u in [0, 1]^K for powers meeting the constraints at q (r_min waived where unattainable)."""
        order, gamma, P = self._sorted(x)
        u, _ = qos_coordinates(gamma, P, self.r_min, x[..., 2:].gather(-1, order))
        return torch.cat([x[..., :2] / self.side, torch.empty_like(u).scatter_(-1, order, u)], -1)

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        """Position u[..., :2] * side, then the powers at u's QoS coordinates there; with `repair`, u is clamped
        into the cube first, so every output meets the budget and SIC order (and r_min where attainable)."""
        if repair:
            u = u.clamp(0.0, 1.0)
        q = u[..., :2] * self.side
        order, gamma, P = self._sorted(q)
        p, _ = qos_powers(gamma, P, self.r_min, u[..., 2:].gather(-1, order))
        return torch.cat([q, torch.empty_like(p).scatter_(-1, order, p)], -1)

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """{"clamped": (B, S, D) coordinates outside [0, 1], which `from_unit` clamps; "rmin_waived": (B, S) samples
        whose (clamped) position admits no split meeting r_min, decoded with r_min waived}."""
        q = u[..., :2].clamp(0.0, 1.0) * self.side
        _, gamma, P = self._sorted(q)
        return {"clamped": (u < -atol) | (u > 1 + atol), "rmin_waived": ~rmin_attainable(gamma, P, self.r_min)}

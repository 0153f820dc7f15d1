"""A mixed-integer decision set: binary selections plus shares of one resource split among the selected.

Problems such as task scheduling choose which of n units take part (D in {0, 1}^n)
and how a shared capacity is divided among those that do (F on the simplex of the
selected units, F_i = 0 elsewhere). Continuous solvers (diffusion, regressors) work
in the unit cube [0, 1]^(2n); the set owns the map back to decisions, so no solver
branches on the problem: a selection is read as `u > 0.5` and the share weights
are renormalized over the selected units (equal shares where all weights are 0).

A problem whose constraints give each selected unit a least share (a delay bound,
say) may hand the set `floors`; the share coordinates then weigh only the part of
the resource above the floors, so every unit point whose selection's floors fit
decodes to shares meeting them, and a share sitting on its floor is a coordinate
on the cube's face (0), where a solver can put it exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from wrbench.core.api import DecisionSet
from wrbench.core.geometry import uniform_simplex


@dataclass
class SelectionShares(DecisionSet):
    """Decisions x = (D_1..D_n, F_1..F_n): D binary, F >= 0 zero off the selection and summing to 1 on it.

    Nothing selected is a valid decision (F = 0). Unit domain: the cube of 2n
    coordinates, D and the share weights w (F itself without `floors`; with them, the
    parts of 1 - sum(floors) above the floors), so `unit_dim(2n) == 2n`. Membership
    and `project` ignore the floors: they are geometry for solvers, not constraints
    of the set. Raw samples outside the set are scored after `project`
    (`enforce = "score"`): the problem counts them.
    """

    n: int  # units (selection coordinates)
    batch: int  # instances B, for `uniform`
    enforce: str = "score"
    # selections D (B, S, n) in {0, 1} -> least shares (B, S, n) of the selected units (inf where none suffices)
    floors: Callable[[torch.Tensor], torch.Tensor] | None = None
    unit_domain: ClassVar[str] = "cube"

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[-1] != 2 * self.n:
            raise ValueError(f"decisions need 2 * {self.n} = {2 * self.n} coordinates, got {x.shape[-1]}")
        return x[..., : self.n], x[..., self.n:]

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        """Boolean (B, S): D within atol of 0 or 1, F >= -atol, F <= atol off the selection, sum F = 1 on it."""
        d, f = self._split(x)
        binary = ((d.abs() <= atol) | ((d - 1).abs() <= atol)).all(-1)
        chosen = d > 0.5
        nonnegative = (f >= -atol).all(-1)
        off_selection = (f.abs() <= atol) | chosen
        total = (f * chosen).sum(-1)
        sums = torch.where(chosen.any(-1), (total - 1).abs() <= atol * self.n, torch.ones_like(binary))
        return binary & nonnegative & off_selection.all(-1) & sums

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """D rounded at 0.5; F clipped at 0, zeroed off the selection, renormalized on it (equal if all 0)."""
        d, f = self._split(x)
        chosen = (d > 0.5).to(x.dtype)
        weights = torch.clamp(f, min=0.0) * chosen
        total = weights.sum(-1, keepdim=True)
        count = chosen.sum(-1, keepdim=True)
        equal = chosen / torch.clamp(count, min=1.0)
        shares = torch.where(total > 0, weights / torch.clamp(total, min=1e-300), equal)
        return torch.cat([chosen, shares], dim=-1)

    def describe(self) -> str:
        return f"D in {{0,1}}^{self.n}, F >= 0, F = 0 where D = 0, sum(F over D = 1) = 1"

    def unit_dim(self, dim: int) -> int:
        return dim

    def _floors(self, chosen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the selection's floors (B, S, n), zero where they do not fit; which samples' floors fit (B, S)).

        Without `floors`, or where they are not finite or sum to 1 or more, the floors are 0: plain shares."""
        if self.floors is None:
            return torch.zeros_like(chosen), torch.zeros_like(chosen[..., 0], dtype=torch.bool)
        low = torch.where(chosen > 0, self.floors(chosen).to(chosen), torch.zeros_like(chosen))
        usable = torch.isfinite(low).all(-1) & (low >= 0).all(-1) & (low.sum(-1) < 1.0)
        return torch.where(usable.unsqueeze(-1), low, torch.zeros_like(low)), usable

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """(D, w): w the selected units' parts of the share above their floors, (F - floor) / (1 - sum floor);
        without floors, (D, F) as they are."""
        d, f = self._split(x)
        low, _ = self._floors((d > 0.5).to(x.dtype))
        slack = 1.0 - low.sum(-1, keepdim=True)
        return torch.cat([d, (f - low) / slack * (d > 0.5)], -1)

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        """F = floor + (1 - sum floor) w. With `repair`, D is rounded at 0.5 and w clipped at 0 and renormalized
        over the selection first (`project`), so every output is a decision meeting its selection's floors where
        they fit; without, D and w as given (D read at 0.5 for the floors)."""
        if repair:
            u = self.project(u)
        d, w = self._split(u)
        low, _ = self._floors((d > 0.5).to(u.dtype))
        return torch.cat([d, low + (1.0 - low.sum(-1, keepdim=True)) * w], -1)

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """{"clamped": coordinates outside [0, 1]; "renormalized": samples whose selected share weights do not sum
        to 1 or that give weight to an unselected unit}, what `from_unit` corrects beyond rounding D; with
        `floors`, also "floors_dropped": samples whose selection's floors do not fit, decoded as plain shares."""
        d, f = self._split(u)
        chosen = d > 0.5
        off = ((f.abs() > atol) & ~chosen).any(-1)
        total = (f * chosen).sum(-1)
        wrong_sum = chosen.any(-1) & ((total - 1).abs() > atol * self.n)
        violations = {"clamped": (u < -atol) | (u > 1 + atol), "renormalized": off | wrong_sum}
        if self.floors is not None:
            violations["floors_dropped"] = chosen.any(-1) & ~self._floors(chosen.to(u.dtype))[1]
        return violations

    def uniform(self, n_samples: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, S, 2n) decisions drawn uniformly: each D of {0, 1}^n equally likely, then F uniform on its simplex."""
        if dim != 2 * self.n:
            raise ValueError(f"decisions need 2 * {self.n} = {2 * self.n} coordinates, got {dim}")
        shape = (self.batch, n_samples)
        d = (torch.rand(*shape, self.n, generator=generator, dtype=torch.float64) < 0.5).double()
        draws = uniform_simplex(shape, self.n, generator) * d
        total = draws.sum(-1, keepdim=True)
        return torch.cat([d, torch.where(total > 0, draws / torch.clamp(total, min=1e-300), draws)], dim=-1)

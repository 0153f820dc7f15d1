"""Experts for `sum_rate`: exact water-filling, and a grid search that checks it."""
from __future__ import annotations

import torch

from wrbench.api import Context, Expert, Instances, Problem, repeat_samples
from wrbench.params import Param

from .grid import grid_size, simplex_grid
from .waterfill import water_fill

# Elements of the (instances, grid points, channels) tensor scored at once by `exhaustive`.
_CHUNK_ELEMENTS = 1 << 23


class WaterFilling(Expert):
    """Exact sum-rate optimum by water-filling, vectorized over instances."""

    name = "water_filling"
    problems = ("sum_rate",)
    stochastic = False

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        return repeat_samples(water_fill(instances.arrays["g"], instances.arrays["P"]), n_samples)


class Exhaustive(Expert):
    """Best point of a grid of `levels` fractions of P per channel (sum <= P); a check on water-filling for small M.

    Shares its name with power_control's grid + LP expert: each declares
    its own problem, so a suite's `exhaustive` resolves to the variant for its problem.
    """

    name = "exhaustive"
    version = "2"
    problems = ("sum_rate",)
    stochastic = False
    parameters = (
        Param("levels", int, 51, "grid levels per channel: powers 0, P/(L-1), ..., P", min=2),
        Param("max_points", int, 2_000_000, "refuse grids with more points than this", min=1),
    )

    def supports(self, problem: Problem) -> str | None:
        return super().supports(problem) or self._refusal(problem.params["channels"])

    def _refusal(self, channels: int) -> str | None:
        """Why the grid for `channels` is too large, or None."""
        size = grid_size(channels, self.params.levels)
        if size <= self.params.max_points:
            return None
        return (
            f"exhaustive grid for {channels} channels at {self.params.levels} levels needs {size:,} points, "
            f"above max_points={self.params.max_points:,}; lower `levels` or raise `max_points`"
        )

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        g, P = instances.arrays["g"], instances.arrays["P"]
        reason = self._refusal(g.shape[1])
        if reason:
            raise ValueError(reason)
        steps = torch.as_tensor(simplex_grid(g.shape[1], self.params.levels), device=g.device)
        fractions = torch.linspace(0.0, 1.0, self.params.levels, dtype=g.dtype, device=g.device)
        index = steps.T.unsqueeze(0)
        chunk = max(1, _CHUNK_ELEMENTS // steps.numel())
        best = []
        for gc, Pc in zip(g.split(chunk), P.split(chunk)):
            # Each channel's rate at each level once, then a point's rate is a sum of table entries.
            table = torch.log2(1.0 + gc.unsqueeze(-1) * Pc[:, None, None] * fractions)
            rates = table.gather(2, index.expand(len(gc), -1, -1)).sum(1)
            best.append(steps[rates.argmax(-1)])
        return repeat_samples(fractions[torch.cat(best)] * P.unsqueeze(-1), n_samples)

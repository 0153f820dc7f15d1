"""Experts for `power_control`: the optimal time-sharing policy by column generation, and the exact grid optimum (an LP over all grid points)."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from wrbench.api import Context, Expert, Instances, Problem, WeightedSamples
from wrbench.params import Param

from .colgen import search_columns, search_diagnostics
from .mixture import best_mixture, warn_if_short
from .rates import expected_rates, expected_sample_rates

# Grid points per chunk when integrating expected rates (bounds memory to ~ chunk * N^2 doubles per network).
_GRID_CHUNK = 64
# A column with at most this LP weight is not part of the mixture.
_ZERO_WEIGHT = 1e-12


def pad_support(columns: torch.Tensor, weights: np.ndarray, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A mixture's support (K, N) and weights (K,) as exactly `count` samples: zero-weight copies fill the rest."""
    index = torch.arange(count) % len(columns)
    padded = torch.zeros(count, dtype=torch.float64)
    padded[: len(columns)] = torch.as_tensor(weights[:count])
    return columns[index.to(columns.device)], padded


class PrimalDual(Expert):
    """The optimal time-sharing policy by column generation: exact dual prices from a master LP, WMMSE pricing from several starts."""

    name = "primal_dual"
    version = "2"  # 2: column generation (LP prices, multi-start WMMSE) replaces the stochastic dual dynamics
    test_params = {"rounds": 5, "starts": 2, "wmmse_iters": 5}
    problems = ("power_control",)
    stochastic = True
    budget_parameter = "rounds"  # each round: one master LP and (2 + starts) WMMSE runs per network
    bench_budgets = (5, 40)
    parameters = (
        Param("rounds", int, 60, "most pricing rounds (master LP + WMMSE candidates) per solve", min=1),
        Param("starts", int, 8, "random on/off WMMSE starts per round, besides full power and the last round's best",
              min=0),
        Param("wmmse_iters", int, 20, "WMMSE rounds per candidate", min=1),
        Param("tolerance", float, 1e-4, "a network stops once no candidate raises the master LP's Lagrangian by more "
              "than this share of its mean rate", min=0.0),
        Param("margin", float, 0.0, "constraint tightening: the mixture targets f_min * (1 + margin); 0 holds f_min "
              "exactly in expectation, a margin buys slack against the noise of a finite-T evaluation", min=0.0),
    )

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> WeightedSamples:
        """The LP mixture over the generated columns: support (B, n_samples, N) in watts with its weights.

        The master runs on coarse-quadrature rates; its support is re-weighted on exact expected rates, so the
        mixture meets f_min * (1 + margin) on the rates the evaluation scores. A support larger than n_samples
        keeps its heaviest points (re-weighted, with a warning).
        """
        p = self.params
        gains = problem.snr_gains(instances, ctx.device)
        targets = instances.arrays["f_min"].to(gains) * (1.0 + p.margin)
        searches, rounds_run = search_columns(
            gains, targets, p.rounds, p.starts, p.wmmse_iters, p.tolerance,
            ctx.generator("primal_dual", "starts", device=str(gains.device)),
            lambda done, total: ctx.progress("primal_dual", done, total))
        samples, weights, supports = [], [], []
        for b, search in enumerate(searches):
            support = np.flatnonzero(search.master.weights > _ZERO_WEIGHT)
            support = support[np.argsort(-search.master.weights[support], kind="stable")]
            supports.append(len(support))
            columns = search.columns[torch.as_tensor(support[:n_samples], device=gains.device)]
            exact = expected_sample_rates(columns.unsqueeze(0), gains[b : b + 1])[0]
            mixture = best_mixture(exact.cpu().numpy(), float(targets[b]))
            warn_if_short(mixture, float(targets[b]), "primal_dual")
            column, weight = pad_support(columns, mixture.weights, n_samples)
            samples.append(column)
            weights.append(weight)
        if max(supports) > n_samples:
            warnings.warn(f"primal_dual: a mixture has {max(supports)} support points, more than the {n_samples} samples "
                          "asked for; its heaviest points are kept and re-weighted")
        self.diagnostics = {**search_diagnostics(searches, rounds_run), "support": float(np.mean(supports))}
        if self.diagnostics["converged_frac"] < 1.0:
            warnings.warn(f"primal_dual: {1 - self.diagnostics['converged_frac']:.0%} of the networks stopped after "
                          f"{p.rounds} rounds with a pricing gap above tolerance={p.tolerance:g} (worst "
                          f"{self.diagnostics['pricing_gap_max']:.2%}); raise rounds")
        power = torch.stack(samples) * instances.attrs["p_max"]
        return WeightedSamples(power.float(), torch.stack(weights))


class Exhaustive(Expert):
    """Exact optimal stochastic policy on a power grid: expected rates of every grid point, then a HiGHS LP over their weights."""

    name = "exhaustive"
    version = "3"  # 2: returns the LP mixture as weighted samples; 3: out of reach, minimize the shortfall (not max-min)
    problems = ("power_control",)
    stochastic = True
    parameters = (
        Param("levels", int, 5, "power levels per transmitter, evenly spaced in [0, P_max] (both ends included)", min=2),
        Param("max_points", int, 20000, "largest grid (levels ** N) the expert agrees to enumerate", min=1),
    )

    def _refusal(self, n: int) -> str | None:
        size = self.params.levels**n
        if size <= self.params.max_points:
            return None
        return (f"exhaustive: a grid of {self.params.levels} levels for N={n} has {size} points, "
                f"above max_points={self.params.max_points}; lower levels or N, or raise max_points")

    def supports(self, problem: Problem) -> str | None:
        return super().supports(problem) or self._refusal(problem.params.n_pairs)

    def grid(self, n: int) -> torch.Tensor:
        """All levels**n grid points (K, n) in units of P_max."""
        levels = torch.linspace(0.0, 1.0, self.params.levels, dtype=torch.float64)
        return torch.cartesian_prod(*[levels] * n).reshape(-1, n)

    def policy(self, problem: Problem, instances: Instances, ctx: Context) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Grid (K, N) in units of P_max, each point's exact expected rates (B, K, N), and the LP weights (B, K).

        Where f_min is out of reach on the grid, the weights minimize the total shortfall first (with a warning).
        """
        n = problem.decision_dim(instances)
        refusal = self._refusal(n)
        if refusal:
            raise ValueError(refusal)
        gains = problem.snr_gains(instances, ctx.device)
        grid = self.grid(n).to(gains.device)
        rates = torch.cat([
            expected_rates(chunk.unsqueeze(0), gains.unsqueeze(1)) for chunk in grid.split(_GRID_CHUNK)
        ], dim=1)
        levels = instances.arrays["f_min"].tolist()
        mixtures = [best_mixture(r, level) for r, level in zip(rates.cpu().numpy(), levels)]
        for mixture, level in zip(mixtures, levels):
            warn_if_short(mixture, level, "exhaustive")
        return grid, rates, torch.as_tensor(np.stack([m.weights for m in mixtures]), device=gains.device)

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> WeightedSamples:
        """The LP's mixture itself: its support points (B, n_samples, N) in watts with their weights.

        A basic LP solution has at most N + 1 points of positive weight; the rest of the n_samples slots hold
        zero-weight points. Where the support is larger than n_samples, the heaviest points are kept and
        renormalized (with a warning): the policy is then no longer exactly the LP's.
        """
        grid, _, weights = self.policy(problem, instances, ctx)
        top = weights.topk(min(n_samples, weights.shape[1]), dim=1)
        dropped = weights.sum(dim=1) - top.values.sum(dim=1)
        if bool((dropped > 1e-9).any()):
            warnings.warn(f"exhaustive: the LP mixture has more than {n_samples} points; the {n_samples} heaviest are kept "
                          f"(up to {float(dropped.max()):.3g} of the weight dropped)")
        index, kept = top.indices, top.values
        if index.shape[1] < n_samples:  # a grid smaller than n_samples: pad with zero-weight copies
            pad = n_samples - index.shape[1]
            index = torch.cat([index, index[:, :1].expand(-1, pad)], dim=1)
            kept = torch.cat([kept, torch.zeros_like(kept[:, :1]).expand(-1, pad)], dim=1)
        return WeightedSamples((grid[index] * instances.attrs["p_max"]).float(), kept)

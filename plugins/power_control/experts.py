"""Experts for `power_control`: the primal-dual stochastic policy and the exact grid optimum (an LP over time-sharing weights)."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from wrbench.api import Context, Expert, Instances, Problem, WeightedSamples
from wrbench.params import Param

from .rates import cycled_permutations, expected_rates, link_rates
from .wmmse import wmmse

# Grid points per chunk when integrating expected rates (bounds memory to ~ chunk * N^2 * 441 doubles per network).
_GRID_CHUNK = 64


def herd(features: torch.Tensor, count: int) -> torch.Tensor:
    """Indices (B, count) of distinct rows of features (B, W, F), chosen greedily so their running mean tracks the mean of all W.

    Kernel herding with a linear kernel: a random subset of the window would
    leave the mean rates of rarely served links off by tens of percent.
    """
    n_networks, size = features.shape[:2]
    target = features.mean(dim=1)
    total = torch.zeros_like(target)
    used = torch.zeros(n_networks, size, dtype=torch.bool, device=features.device)
    rows = torch.arange(n_networks, device=features.device)
    picks = []
    for m in range(1, count + 1):
        error = ((total.unsqueeze(1) + features) / m - target.unsqueeze(1)).square().sum(-1).masked_fill(used, torch.inf)
        pick = error.argmin(dim=1)
        used[rows, pick] = True
        total += features[rows, pick]
        picks.append(pick)
    return torch.stack(picks, dim=1)


class PrimalDual(Expert):
    """Dual descent on the per-link rate constraints with a weighted-WMMSE primal step; late iterates are the samples."""

    name = "primal_dual"
    version = "1"
    test_params = {"iterations": 30, "window": 10, "wmmse_iters": 5}
    problems = ("power_control",)
    stochastic = True
    parameters = (
        Param("eta", float, 0.5, "dual step size per iteration (per bps/Hz of constraint slack)", min=0.0),
        Param("iterations", int, 600, "dual iterations per solve (restarted from lambda = 0 each call)", min=1),
        Param("window", int, 200, "last iterates the samples are drawn from (without replacement while n <= window)", min=1),
        Param("wmmse_iters", int, 20, "WMMSE rounds per primal step, each started from full power", min=1),
        Param("margin", float, 0.1, "constraint tightening: the dual step targets f_min * (1 + margin), a safety "
              "margin against the sampling noise of a finite-T evaluation", min=0.0),
    )

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        """Samples (B, n_samples, N) in watts: iterates x_k = argmax sum_i (1/N + lam_i) r_i(x, H) of the late window.

        lam_i <- [lam_i - eta (r_i(x_k, Ht_k) - f_min (1 + margin))]_+ with Ht_k
        a fresh Rayleigh draw, all networks at once. With at least `window`
        samples every iterate is used (random order); with fewer, a herded
        subset whose mean link rates (relative to max(rate, f_min)) track the
        whole window's. Even spacing is avoided: the dual dynamics often
        oscillate with period 2, which it would alias.
        """
        p = self.params
        gains = problem.snr_gains(instances, ctx.device)
        n_networks, n = gains.shape[:2]
        window = min(p.window, p.iterations)
        f_min = instances.arrays["f_min"].to(gains).unsqueeze(-1)  # (B, 1): each network's QoS level
        target = f_min * (1.0 + p.margin)
        fading_generator = ctx.generator("primal_dual", "fading")
        dual = torch.zeros(n_networks, n, dtype=gains.dtype, device=gains.device)
        kept = torch.empty(n_networks, window, n, dtype=gains.dtype, device=gains.device)
        for k in range(p.iterations):
            power = wmmse(gains, 1.0 / n + dual, p.wmmse_iters)
            fading = torch.empty_like(gains).exponential_(generator=fading_generator)
            dual = torch.clamp(dual - p.eta * (link_rates(power, gains * fading) - target), min=0.0)
            if k >= p.iterations - window:
                kept[:, k - (p.iterations - window)] = power
            ctx.progress("primal_dual", k + 1, p.iterations)
        if n_samples >= window:
            pick = cycled_permutations(n_networks, window, n_samples, ctx.generator("primal_dual", "pick", device=str(gains.device)))
        else:
            rates = link_rates(kept, gains.unsqueeze(1))
            scale = torch.maximum(rates.mean(dim=1, keepdim=True), f_min.unsqueeze(-1))
            pick = herd(rates / scale, n_samples)
        return (kept[torch.arange(n_networks, device=gains.device).unsqueeze(-1), pick] * instances.attrs["p_max"]).float()


class Exhaustive(Expert):
    """Exact optimal stochastic policy on a power grid: expected rates of every grid point, then a HiGHS LP over their weights."""

    name = "exhaustive"
    version = "2"  # 2: returns the LP mixture as weighted samples
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

        Where f_min is out of reach on the grid, the weights maximize the worst link's rate instead (with a warning).
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
        f_min = instances.arrays["f_min"].cpu().numpy()
        weights = np.stack([self._weights(r, float(level)) for r, level in zip(rates.cpu().numpy(), f_min)])
        return grid, rates, torch.as_tensor(weights, device=gains.device)

    @staticmethod
    def _weights(rates: np.ndarray, f_min: float) -> np.ndarray:
        """LP over grid weights p (K,): max sum_k p_k mean_i R_ki s.t. sum_k p_k R_ki >= f_min, sum p = 1, p >= 0."""
        from scipy.optimize import linprog  # imported here: scipy.optimize costs a quarter second at start-up

        n_points, n = rates.shape
        result = linprog(-rates.mean(axis=1), A_ub=-rates.T, b_ub=np.full(n, -f_min), A_eq=np.ones((1, n_points)),
                         b_eq=[1.0], bounds=(0, None), method="highs")
        if result.status == 2:
            warnings.warn(f"exhaustive: f_min={f_min} is infeasible on this grid; using the max-min-rate policy instead")
            # Variables (p, t): maximize t subject to sum_k p_k R_ki >= t for every link i.
            result = linprog(np.r_[np.zeros(n_points), -1.0], A_ub=np.hstack([-rates.T, np.ones((n, 1))]),
                             b_ub=np.zeros(n), A_eq=np.r_[np.ones(n_points), 0.0][None], b_eq=[1.0],
                             bounds=[(0, None)] * n_points + [(None, None)], method="highs")
        if result.status != 0:
            raise RuntimeError(f"exhaustive: HiGHS failed: {result.message}")
        weights = np.clip(result.x[:n_points], 0.0, None)
        return weights / weights.sum()

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

"""Problem `sum_rate`: a power budget spread over M parallel channels (DiffSG's MSR), scored against water-filling."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from wrbench.api import Budget, Context, Evaluation, Instances, Problem, derive_seed, instance_arrays
from wrbench.params import Param, ParamError, Params

from .waterfill import sum_rate, water_fill


class SumRate(Problem):
    """Maximize sum_i log2(1 + g_i p_i) subject to p >= 0, sum p <= P.

    Raw samples are checked for feasibility and counted; infeasible ones are
    projected (clip at 0, scale onto the budget) before scoring, so the harness
    must not reject them (`Budget.enforce == "score"`).
    """

    name = "sum_rate"
    version = "3"  # 3: weighted samples; 2: the flat view gives relative noise floors, not raw gains and P / M
    test_params = {"channels": 3}
    test_expert = "water_filling"
    parameters = (
        Param("channels", int, 3, "number of parallel channels M", min=1),
        Param("gain_low", float, 0.5, "lower end of the uniform channel-gain draw (noise power 1)", min=0.0),
        Param("gain_high", float, 2.5, "upper end of the uniform channel-gain draw", min=0.0),
        Param("budget", float, 10.0, "total power budget P", min=0.0),
    )
    eval_parameters = (
        Param(
            "tolerance",
            float,
            1e-5,
            "relative tolerance of the raw feasibility check (covers float32 rounding of a ~100-term sum)",
            min=0.0,
        ),
    )
    primary_metric = "exceed_ratio"
    objective = "exceed_ratio"
    constraint_metric = "infeasible_frac"  # exact: a raw sample is feasible or not, no measurement noise to tolerate
    scores_weights = True
    lower_is_better = frozenset({"exceed_ratio_std", "infeasible_frac"})
    headline_metrics = ("exceed_ratio", "exceed_ratio_p5", "exceed_ratio_min", "exceed_ratio_best", "infeasible_frac")
    metrics = ("sum_rate", "exceed_ratio", "exceed_ratio_p5", "exceed_ratio_min", "exceed_ratio_best", "exceed_ratio_std",
               "infeasible_frac")
    metric_definitions = {
        "sum_rate": "weighted mean over samples of sum_i log2(1 + g_i p_i) after projection onto the budget (bit/s/Hz)",
        "exceed_ratio": "weighted mean over samples of sum rate / water-filling's, per instance: the objective",
        "exceed_ratio_p5": "5th percentile over instances of the per-instance exceed ratio",
        "exceed_ratio_min": "smallest per-instance exceed ratio",
        "exceed_ratio_best": "mean over instances of the best sample's exceed ratio",
        "exceed_ratio_std": "std over instances of the per-instance exceed ratio",
        "infeasible_frac": "weighted share of raw samples outside p >= 0, sum p <= P: the constraint metric",
    }
    leaderboard_note = (
        "Raw samples are checked as returned: a negative power or a broken budget makes a sample infeasible "
        "(infeasible_frac). For scoring, every sample is projected onto the feasible set (clip at 0, then scale "
        "onto the budget); exceed ratios are against exact water-filling."
    )
    views = frozenset({"flat"})
    export_arrays = {"g": "channel gains (B, M), noise power 1", "P": "total power budget (B,)"}

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        if not 0.0 < self.params.gain_low < self.params.gain_high:
            raise ParamError("gain_low", f"need 0 < gain_low < gain_high, got {self.params.gain_low} and {self.params.gain_high}")
        if self.params.budget <= 0.0:
            raise ParamError("budget", f"must be > 0, got {self.params.budget}")

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        """Gains i.i.d. U(gain_low, gain_high), the same budget P for every instance."""
        gen = torch.Generator().manual_seed(derive_seed(seed, self.name, split))
        low, high = self.params.gain_low, self.params.gain_high
        g = low + (high - low) * torch.rand(n, self.params.channels, generator=gen, dtype=torch.float64)
        return Instances({"g": g, "P": torch.full((n,), self.params.budget, dtype=torch.float64)})

    def load_instances(self, arrays: Mapping[str, np.ndarray]) -> Instances:
        arrays = instance_arrays(arrays, required=("g", "P"))
        g = torch.as_tensor(arrays["g"], dtype=torch.float64)
        P = torch.as_tensor(arrays["P"], dtype=torch.float64)
        if g.ndim != 2 or g.shape[1] != self.params.channels:
            raise ValueError(f"'g' must have shape (B, {self.params.channels}), got {tuple(g.shape)}")
        if P.shape != (g.shape[0],):
            raise ValueError(f"'P' must have shape ({g.shape[0]},) to match 'g', got {tuple(P.shape)}")
        if not (bool((g > 0).all()) and bool((P > 0).all())):
            raise ValueError("gains 'g' and budgets 'P' must be positive")
        return Instances({"g": g, "P": P})

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        return {key: instances.arrays[key].detach().cpu().numpy() for key in ("g", "P")}

    def decision_set(self, instances: Instances) -> Budget:
        return Budget(total=instances.arrays["P"])

    def decision_dim(self, instances: Instances) -> int:
        return int(instances.arrays["g"].shape[1])

    def flat(self, instances: Instances) -> torch.Tensor:
        """(B, M): each channel's noise floor M / (g_i P), minus the mean over the channels.

        Why: in budget shares u = p / P, water-filling reads u_i = max(0, mu - a_i)
        with floors a_i = 1 / (g_i P) (inverse full-budget SNR) and mu set by sum u = 1.
        So the optimal shares depend on (g, P) only through a, and not on a's common
        level either: adding c to every floor raises mu by c and leaves u unchanged.
        Floors relative to their mean are therefore the whole instance as far as the
        decision goes, invariant to rescaling gains against the budget. Times M they
        are in units of the equal share 1 / M, so O(1) for any M and P (about +-0.3
        at M = 3, P = 10; a few units at M = 80, P = 20). DiffSG's out-of-distribution
        split (gains up to 3, P = 20) has floors spread half as wide as the training
        ones, so it lands inside the training range, where raw gains and P / M did not.
        """
        g, P = instances.arrays["g"], instances.arrays["P"]
        floors = g.shape[1] / (g * P.unsqueeze(-1))
        return floors - floors.mean(-1, keepdim=True)

    def score(self, instances: Instances, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        """Sum rate (B, S) of allocations x (B, S, M), taken as given (project infeasible ones first)."""
        return sum_rate(instances.arrays["g"].to(x).unsqueeze(-2), x)

    def evaluate(
        self,
        instances: Instances,
        samples: torch.Tensor,
        ctx: Context,
        params: Params,
        reference: Evaluation | None = None,
        weights: torch.Tensor | None = None,
    ) -> Evaluation:
        """Feasibility of the raw samples, then exceed ratios of the projected ones (means weighted by `weights`).

        The ratio's denominator is always exact water-filling on the same
        instances (DiffSG's own labels are no safe reference), so `reference`
        is not used. Per instance, a sample's ratio is f(sample) / f(p*);
        `exceed_ratio` averages over samples and then instances, `_p5`, `_min`
        and `_std` are taken over the instances' mean-sample ratios, `_best`
        averages each instance's best sample of positive weight. `sum_rate` is the mean over
        instances of the mean-sample sum rate in bit/s/Hz.
        """
        g = instances.arrays["g"].to(torch.float64)
        x = samples.to(g)
        budget = self.decision_set(instances)
        feasible = budget.contains(x, atol=params.tolerance)
        w = torch.full_like(x[..., 0], 1.0 / x.shape[1]) if weights is None else weights.to(g)
        rates = self.score(instances, budget.project(x), ctx)
        optimum = sum_rate(g, water_fill(g, budget.total.to(g)))
        ratio = rates / optimum.unsqueeze(-1)
        per_instance = (w * ratio).sum(-1)
        infeasible = (w * (~feasible).double()).sum(-1)
        instance_rate = (w * rates).sum(-1)
        metrics = {
            "sum_rate": instance_rate.mean().item(),
            "exceed_ratio": per_instance.mean().item(),
            "exceed_ratio_p5": torch.quantile(per_instance, 0.05).item(),
            "exceed_ratio_min": per_instance.min().item(),
            "exceed_ratio_best": ratio.masked_fill(w <= 0, -torch.inf).max(-1).values.mean().item(),
            "exceed_ratio_std": per_instance.std(correction=0).item(),
            "infeasible_frac": infeasible.mean().item(),
        }
        return Evaluation(
            metrics=metrics,
            per_instance={"sum_rate": instance_rate.cpu().numpy(), "exceed_ratio": per_instance.cpu().numpy(),
                          "infeasible_frac": infeasible.cpu().numpy()},
            distributions={"exceed_ratio": ratio.flatten().cpu().numpy()},
            markers={"exceed_ratio": {"water-filling": 1.0}},
        )

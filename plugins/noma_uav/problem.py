"""Problem `noma_uav`: place a UAV and split its power over K downlink NOMA users (DiffSG's NU), units fixed."""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import torch

from wrbench.api import (
    Context,
    Evaluation,
    Instances,
    Problem,
    derive_seed,
    instance_arrays,
)
from wrbench.params import Param, ParamError, Params

from .decision import PositionPower, QosPositionPower
from .physics import (
    Link,
    channel_gains,
    db_to_linear,
    dbm_to_mw,
    sic_power_ordered,
    user_rates,
)
from .search import Placement, best_split, search


class NomaUav(Problem):
    """Maximize sum_k log2(1 + SINR_k) over the UAV position q and powers p, with SIC and rate_k >= r_min.

    Raw samples are checked for membership in the square and the power budget
    and counted; infeasible ones are projected (q clamped, p clipped at 0 and
    scaled onto the budget) before scoring (`enforce == "score"`). The SIC power
    order and r_min are scored as constraints on the projected samples.
    """

    name = "noma_uav"
    version = "1"
    test_params = {"K": 2}
    test_expert = "noma_search"
    parameters = (
        Param("K", int, 3, "ground users; one per distinct quadrant (uniform inside it) for K <= 4, else uniform", min=1),
        Param("side", float, 400.0, "side of the square area (m)", min=0.0),
        Param("altitude", float, 150.0, "UAV altitude H (m)", min=0.0),
        Param("power_mw", float, 18.0, "total transmit power P (mW); DiffSG's out-of-distribution split: 30", min=0.0),
        Param("rho0_db", float, -60.0, "channel power gain at 1 m (dB)"),
        Param("noise_dbm", float, -110.0, "noise power sigma^2 (dBm)"),
        Param("r_min", float, 0.0, "minimum rate of every user (bit/s/Hz); 0 is DiffSG's setting", min=0.0),
        Param("power_coordinates", str, "budget", "unit coordinates of the powers that solvers see: 'budget' = p / P; "
              "'qos' = each user's place between its least and its largest power meeting SIC order and r_min given "
              "the stronger users' (every unit point decodes to a split meeting them); scoring is the same",
              choices=("budget", "qos")),
    )
    eval_parameters = (
        Param("tolerance", float, 1e-5,
              "relative tolerance of the raw membership and SIC-order checks, absolute (bit/s/Hz) of the r_min check",
              min=0.0),
    )
    primary_metric = "rate_ratio"
    objective = "rate_ratio"
    constraint_metric = "violation_frac"
    scores_weights = True
    lower_is_better = frozenset({"rate_ratio_std", "infeasible_frac", "violation_frac", "rmin_unattainable_frac"})
    headline_metrics = ("rate_ratio", "rate_ratio_p5", "rate_ratio_min", "qos_frac", "violation_frac")
    metrics = ("sum_rate", "rate_ratio", "rate_ratio_p5", "rate_ratio_min", "rate_ratio_best", "rate_ratio_std",
               "rmin_frac", "sic_frac", "qos_frac", "infeasible_frac", "violation_frac", "rmin_unattainable_frac")
    metric_definitions = {
        "sum_rate": "weighted mean over samples of sum_k log2(1 + SINR_k) after projection (bit/s/Hz)",
        "rate_ratio": "weighted mean over samples of sum rate / the reference's, per instance: the objective",
        "rate_ratio_p5": "5th percentile over instances of the per-instance rate ratio",
        "rate_ratio_min": "smallest per-instance rate ratio",
        "rate_ratio_best": "mean over instances of the best sample's rate ratio",
        "rate_ratio_std": "std over instances of the per-instance rate ratio",
        "rmin_frac": "weighted share of projected samples giving every user at least r_min (waived where unattainable)",
        "sic_frac": "weighted share of projected samples whose powers do not decrease from the strongest user to the weakest",
        "qos_frac": "weighted share of projected samples meeting both r_min and the SIC power order",
        "infeasible_frac": "weighted share of raw samples outside the square or the power budget",
        "violation_frac": "weighted share of samples infeasible raw or failing r_min or SIC order: the constraint metric",
        "rmin_unattainable_frac": "share of instances where the reference finds r_min unattainable at every position",
    }
    leaderboard_note = (
        "Raw samples outside the square or the power budget count as infeasible; every sample is then projected "
        "(q clamped, p clipped at 0 and scaled onto the budget) and scored. The reference is exact in the powers "
        "for each position and searches the position on a 5 m grid refined to 1 mm; r_min and the SIC power order "
        "are constraints (violation_frac), so a ratio above 1 means a constraint was broken."
    )
    views = frozenset({"flat"})
    export_arrays = {"users": "ground user positions (B, K, 2) in metres", "P": "total transmit power (B,) in mW"}

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.link = Link(self.params.altitude, db_to_linear(self.params.rho0_db), dbm_to_mw(self.params.noise_dbm))
        self._references: dict[str, Placement] = {}

    @classmethod
    def check_params(cls, params: Params) -> None:
        for key in ("side", "altitude", "power_mw"):
            if params[key] <= 0.0:
                raise ParamError(key, f"must be > 0, got {params[key]}")

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        """Users one per distinct random quadrant (uniform inside it) for K <= 4, else uniform in the square."""
        gen = torch.Generator().manual_seed(derive_seed(seed, self.name, split))
        K, side = self.params.K, self.params.side
        if K <= 4:
            quadrants = torch.rand(n, 4, generator=gen, dtype=torch.float64).argsort(-1)[:, :K]
            corners = torch.stack([quadrants % 2, quadrants // 2], -1).double() * (side / 2)
            users = corners + torch.rand(n, K, 2, generator=gen, dtype=torch.float64) * (side / 2)
        else:
            users = torch.rand(n, K, 2, generator=gen, dtype=torch.float64) * side
        return Instances({"users": users, "P": torch.full((n,), self.params.power_mw, dtype=torch.float64)})

    def load_instances(self, arrays: Mapping[str, np.ndarray]) -> Instances:
        arrays = instance_arrays(arrays, required=("users", "P"))
        users = torch.as_tensor(arrays["users"], dtype=torch.float64)
        P = torch.as_tensor(arrays["P"], dtype=torch.float64)
        if users.ndim != 3 or users.shape[1:] != (self.params.K, 2):
            raise ValueError(f"'users' must have shape (B, {self.params.K}, 2), got {tuple(users.shape)}")
        if P.shape != (users.shape[0],):
            raise ValueError(f"'P' must have shape ({users.shape[0]},) to match 'users', got {tuple(P.shape)}")
        if not bool((P > 0).all()):
            raise ValueError("powers 'P' must be positive")
        return Instances({"users": users, "P": P})

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        return {key: instances.arrays[key].detach().cpu().numpy() for key in ("users", "P")}

    def decision_set(self, instances: Instances) -> PositionPower:
        if self.params.power_coordinates == "qos":
            return QosPositionPower(side=self.params.side, total=instances.arrays["P"], users=instances.arrays["users"],
                                    link=self.link, r_min=self.params.r_min)
        return PositionPower(side=self.params.side, total=instances.arrays["P"])

    def decision_dim(self, instances: Instances) -> int:
        return 2 + int(instances.arrays["users"].shape[1])

    def flat(self, instances: Instances) -> torch.Tensor:
        """(B, 2K + 3): user coordinates / side, then H / side, log10 of the full-power SNR at the nadir, r_min.

        Why: all of them are scale-free. The optimum placement scales with the
        square (given H / side) and the SNR level P rho0 / (sigma^2 H^2) sets how
        much a user's proximity is worth (~36 by default, so its log10 is O(1)).
        """
        users, P = instances.arrays["users"], instances.arrays["P"]
        nadir = torch.log10(P * self.link.rho0 / (self.link.noise * self.params.altitude**2))
        scalars = torch.stack([torch.full_like(P, self.params.altitude / self.params.side), nadir,
                               torch.full_like(P, self.params.r_min)], -1)
        return torch.cat([users.flatten(1) / self.params.side, scalars], -1)

    def rates(self, instances: Instances, x: torch.Tensor) -> torch.Tensor:
        """Per-user rates (B, S, K) of decisions x (B, S, 2 + K), taken as given (project infeasible ones first)."""
        users = instances.arrays["users"].to(x).unsqueeze(1)
        g = channel_gains(x[..., :2], users, self.params.altitude, self.link.rho0)
        return user_rates(g, x[..., 2:], self.link.noise)

    def reference(self, instances: Instances) -> Placement:
        """The reference placement (`search.search` at its defaults), cached per instances' content."""
        key = instances.fingerprint()
        if key not in self._references:
            users, P = instances.arrays["users"].double(), instances.arrays["P"].double()
            self._references[key] = search(users, P, self.params.side, self.link, self.params.r_min)
        return self._references[key]

    def candidate_scores(self, instances: Instances, samples: torch.Tensor,
                         params: Params) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum rate of the projected decision, raw decision in the set with SIC order and every r_min met)."""
        feasible, rates, sic = self._scored(instances, samples.to(torch.float64), params)
        return rates.sum(-1), feasible & sic & (rates >= self.params.r_min - params.tolerance).all(-1)

    def complete(self, instances: Instances, samples: torch.Tensor) -> torch.Tensor:
        """Each sample's (projected) position with the exact power split there (`search.best_split`, the
        reference's own inner solution); the sample's powers are kept where r_min is unattainable there."""
        users, P = instances.arrays["users"].double(), instances.arrays["P"].double()
        x = self.decision_set(instances).project(samples.to(torch.float64))
        r_min = torch.full_like(P, self.params.r_min)
        _, p, ok = best_split(x[..., :2], users, P, r_min, self.link)
        return torch.cat([x[..., :2], torch.where(ok.unsqueeze(-1), p, x[..., 2:])], -1).to(samples.dtype)

    def _scored(self, instances: Instances, x: torch.Tensor, params: Params
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For decisions x (B, S, 2 + K): whether each raw one is in the set (B, S), the per-user rates of the
        projected ones (B, S, K), and whether their powers keep the SIC order (B, S)."""
        users = instances.arrays["users"].to(x)
        dset = self.decision_set(instances)
        feasible = dset.contains(x, atol=params.tolerance)
        projected = dset.project(x)
        rates = self.rates(instances, projected)
        g = channel_gains(projected[..., :2], users.unsqueeze(1), self.params.altitude, self.link.rho0)
        sic = sic_power_ordered(g, projected[..., 2:], params.tolerance * dset.total.to(x).unsqueeze(-1))
        return feasible, rates, sic

    def evaluate(
        self,
        instances: Instances,
        samples: torch.Tensor,
        ctx: Context,
        params: Params,
        reference: Evaluation | None = None,
        weights: torch.Tensor | None = None,
    ) -> Evaluation:
        """Membership of the raw samples, then rate ratios and QoS of the projected ones (means weighted by `weights`).

        The ratio's denominator is always this problem's own reference search
        on the same instances, so `reference` is not used. Where r_min is
        unattainable (flagged by the reference), the reference is the best
        placement without it and the r_min check is waived, so that no
        instance's constraint can only fail. `_p5`, `_min` and `_std` are taken
        over the instances' mean-sample ratios, `_best` averages each
        instance's best sample of positive weight.
        """
        x = samples.to(torch.float64)
        feasible, rates, sic = self._scored(instances, x, params)
        total = rates.sum(-1)
        placement = self.reference(instances)
        ratio = total / placement.rate.to(x).unsqueeze(-1)
        rmin = (rates >= self.params.r_min - params.tolerance).all(-1) | ~placement.attainable.unsqueeze(-1)
        qos = sic & rmin
        w = torch.full_like(total, 1.0 / x.shape[1]) if weights is None else weights.to(x)

        def share(mask: torch.Tensor) -> torch.Tensor:
            return (w * mask.double()).sum(-1)

        per_instance = (w * ratio).sum(-1)
        instance_rate = (w * total).sum(-1)
        violation = share(~(feasible & qos))
        infeasible = share(~feasible)
        qos_share = share(qos)
        metrics = {
            "sum_rate": instance_rate.mean().item(),
            "rate_ratio": per_instance.mean().item(),
            "rate_ratio_p5": torch.quantile(per_instance, 0.05).item(),
            "rate_ratio_min": per_instance.min().item(),
            "rate_ratio_best": ratio.masked_fill(w <= 0, -math.inf).max(-1).values.mean().item(),
            "rate_ratio_std": per_instance.std(correction=0).item(),
            "rmin_frac": share(rmin).mean().item(),
            "sic_frac": share(sic).mean().item(),
            "qos_frac": qos_share.mean().item(),
            "infeasible_frac": infeasible.mean().item(),
            "violation_frac": violation.mean().item(),
            "rmin_unattainable_frac": (~placement.attainable).double().mean().item(),
        }
        return Evaluation(
            metrics=metrics,
            per_instance={"sum_rate": instance_rate.cpu().numpy(), "rate_ratio": per_instance.cpu().numpy(),
                          "qos_frac": qos_share.cpu().numpy(), "infeasible_frac": infeasible.cpu().numpy(),
                          "violation_frac": violation.cpu().numpy()},
            distributions={"rate_ratio": ratio.flatten().cpu().numpy()},
            markers={"rate_ratio": {"noma_search": 1.0}},
        )

"""Problem `offloading`: n devices choose to compute locally or offload to one edge server (DiffSG's CO, a MINLP)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from wrbench.api import Context, Evaluation, Instances, Problem, SelectionShares, derive_seed, instance_arrays
from wrbench.params import Param, ParamError, Params

from .exact import Optimum, decision_costs, share_floors, solve
from .model import INTERFERENCE_MODELS, Constants, cost_and_delay, per_sample

ARRAYS = ("s", "c", "f_local", "h", "alpha")
FEATURES_PER_DEVICE = 6


class Offloading(Problem):
    """Minimize the summed delay-energy cost over D in {0, 1}^n and server shares F, subject to delay_i <= theta.

    Decisions are laid out as (D_1..D_n, F_1..F_n) in a `SelectionShares` set. Raw
    samples are checked as returned; for scoring, D is read as > 0.5 and the shares are
    renormalized over the offloading devices (`enforce == "score"`). The reference is
    the exact optimum (`exact.solve`), computed once per batch of instances.
    """

    name = "offloading"
    version = "1"
    test_params = {"devices": 3}
    test_expert = "exhaustive"
    parameters = (
        Param("devices", int, 3, "number of devices n (the exact reference enumerates 2^n decisions)", min=1, max=20),
        Param("task_mean_bits", float, 2.5e5, "mean task size s (normal, truncated to (0, task_max_bits))", min=0.0),
        Param("task_std_bits", float, 5e4, "standard deviation of the task size", min=0.0),
        Param("task_max_bits", float, 5e5, "upper truncation of the task size", min=0.0),
        Param("cycles_per_bit", float, 3000.0, "CPU cycles per task bit: c = cycles_per_bit * s", min=0.0),
        Param("cpu_mean_hz", float, 5e8, "mean local CPU frequency f (normal, truncated to (0, cpu_max_hz))", min=0.0),
        Param("cpu_std_hz", float, 2e8, "standard deviation of the local CPU frequency", min=0.0),
        Param("cpu_max_hz", float, 1e9, "upper truncation of the local CPU frequency", min=0.0),
        Param("gain_high", float, 1.0, "uplink power gains h ~ U(0, gain_high)", min=0.0),
        Param("server_hz", float, 2.5e9, "edge server capacity F_t (Hz)", min=0.0),
        Param("kappa", float, 1e-28, "effective switched capacitance of a local CPU", min=0.0),
        Param("tx_power_w", float, 0.3, "uplink transmit power P_t (W)", min=0.0),
        Param("idle_power_w", float, 0.1, "power drawn while the server computes an offloaded task, P_I (W)", min=0.0),
        Param("delay_bound_s", float, 1.0, "per-device delay bound theta (s)", min=0.0),
        Param("bandwidth_hz", float, 1e6, "uplink bandwidth B (Hz)", min=0.0),
        Param("noise_w", float, 7.96159e-13, "noise power N0 (W)", min=0.0),
        Param("interference", str, "others", "uplink interference: 'others' = the other offloading devices; "
              "'diffsg' = every device, own signal included (DiffSG's code, for its data)", choices=INTERFERENCE_MODELS),
        Param("share_coordinates", str, "plain", "unit coordinates of the server shares that solvers see: 'plain' = "
              "the shares; 'delay_floor' = each offloading device's part of the server above the least shares "
              "meeting the selection's delay bounds (every unit point whose selection admits them decodes to shares "
              "meeting them); scoring is the same", choices=("plain", "delay_floor")),
    )
    eval_parameters = (
        Param("tolerance", float, 1e-6, "relative tolerance of the raw decision check and of the delay bound", min=0.0),
        Param("ratio_cap", float, 10.0, "a sample's cost ratio (and its cost, relative to the optimum's) counts at most "
              "this much (an offloaded device given no server share has infinite cost; unserved_frac counts those)",
              min=1.0),
    )
    primary_metric = "cost_ratio"
    objective = "cost_ratio"
    constraint_metric = "delay_violation_frac"
    constraint_tolerance = 0.01  # within 1 point of the optimum's delay feasibility (which is 0 violations)
    scores_weights = True
    lower_is_better = frozenset({"cost", "cost_ratio", "cost_ratio_p95", "cost_ratio_max", "delay_violation_frac",
                                 "invalid_frac", "unserved_frac"})
    headline_metrics = ("cost_ratio", "cost_ratio_p95", "delay_violation_frac", "decision_match_frac", "invalid_frac")
    metrics = ("cost", "cost_ratio", "cost_ratio_p95", "cost_ratio_max", "delay_violation_frac", "decision_match_frac",
               "invalid_frac", "unserved_frac", "feasible_possible_frac")
    metric_definitions = {
        "cost": "weighted mean over samples, then instances, of the total delay-energy cost of the scored decision "
                "(a sample counts at most ratio_cap times the optimum's cost, as in cost_ratio)",
        "cost_ratio": "mean over instances of the samples' mean cost / the exact optimum's cost (>= 1): the objective",
        "cost_ratio_p95": "95th percentile over instances of the per-instance cost ratio",
        "cost_ratio_max": "largest per-instance cost ratio",
        "delay_violation_frac": "share of samples breaking some device's delay bound, over the instances where some "
                                "decision meets every bound (0 where none does): the constraint metric",
        "decision_match_frac": "share of samples whose offloading decision D equals the optimum's",
        "invalid_frac": "share of raw samples that are no decision as returned (D not binary, shares not summing to 1 "
                        "over the offloading devices)",
        "unserved_frac": "share of samples offloading a device with no server share (its cost ratio counts as ratio_cap)",
        "feasible_possible_frac": "share of instances where some decision meets every delay bound (the same for every row)",
    }
    leaderboard_note = (
        "Raw samples are checked as returned (invalid_frac). For scoring, a decision coordinate is read as offload "
        "where > 0.5 and the server shares are renormalized over the offloading devices (equal shares where all are 0). "
        "Cost ratios are against the exact optimum (all 2^n decisions, KKT shares); where no decision meets every delay "
        "bound, the optimum is the cheapest decision, and such instances do not count in delay_violation_frac."
    )
    views = frozenset({"flat", "graph"})
    export_arrays = {
        "s": "task sizes (B, n), bits",
        "c": "CPU cycles of each task (B, n)",
        "f_local": "local CPU frequencies (B, n), Hz",
        "h": "uplink power gains (B, n)",
        "alpha": "delay weights (B, n) in [0, 1]; the energy weight is 1 - alpha",
    }

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        p = self.params
        for name in ("task_mean_bits", "cycles_per_bit", "cpu_mean_hz", "gain_high", "server_hz", "tx_power_w",
                     "delay_bound_s", "bandwidth_hz", "noise_w"):
            if p[name] <= 0.0:
                raise ParamError(name, f"must be > 0, got {p[name]}")
        if not p.task_mean_bits < p.task_max_bits:
            raise ParamError("task_max_bits", f"must exceed task_mean_bits={p.task_mean_bits}, got {p.task_max_bits}")
        if not p.cpu_mean_hz < p.cpu_max_hz:
            raise ParamError("cpu_max_hz", f"must exceed cpu_mean_hz={p.cpu_mean_hz}, got {p.cpu_max_hz}")
        self.constants = Constants.of(p)
        self._optimum: dict[str, Optimum] = {}

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        """Truncated-normal task sizes and CPU frequencies (redrawn outside their range), uniform gains and weights."""
        gen = torch.Generator().manual_seed(derive_seed(seed, self.name, split))
        p, shape = self.params, (n, self.params.devices)
        s = _truncated_normal(shape, p.task_mean_bits, p.task_std_bits, p.task_max_bits, gen)
        f = _truncated_normal(shape, p.cpu_mean_hz, p.cpu_std_hz, p.cpu_max_hz, gen)
        h = p.gain_high * torch.rand(shape, generator=gen, dtype=torch.float64)
        alpha = torch.rand(shape, generator=gen, dtype=torch.float64)
        return Instances({"s": s, "c": p.cycles_per_bit * s, "f_local": f, "h": h, "alpha": alpha})

    def load_instances(self, arrays: Mapping[str, np.ndarray]) -> Instances:
        arrays = instance_arrays(arrays, required=ARRAYS)
        shape = arrays["s"].shape
        if len(shape) != 2 or shape[1] != self.params.devices:
            raise ValueError(f"'s' must have shape (B, {self.params.devices}), got {shape}")
        for key in ARRAYS:
            if arrays[key].shape != shape:
                raise ValueError(f"'{key}' must have shape {shape} to match 's', got {arrays[key].shape}")
        for key in ("s", "c", "f_local"):
            if not (arrays[key] > 0).all():
                raise ValueError(f"'{key}' must be positive")
        if not ((arrays["h"] >= 0).all() and (arrays["alpha"] >= 0).all() and (arrays["alpha"] <= 1).all()):
            raise ValueError("gains 'h' must be >= 0 and weights 'alpha' in [0, 1]")
        return Instances({key: torch.as_tensor(arrays[key], dtype=torch.float64) for key in ARRAYS})

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        return {key: instances.arrays[key].detach().cpu().numpy() for key in ARRAYS}

    def decision_set(self, instances: Instances) -> SelectionShares:
        if self.params.share_coordinates == "plain":
            return SelectionShares(n=self.params.devices, batch=len(instances))
        arrays = {key: v.unsqueeze(1) for key, v in instances.arrays.items()}  # (B, 1, n) against D (B, S, n)
        return SelectionShares(n=self.params.devices, batch=len(instances),
                               floors=lambda d: share_floors({key: v.to(d) for key, v in arrays.items()}, d, self.constants))

    def decision_dim(self, instances: Instances) -> int:
        return 2 * self.params.devices

    def optimum(self, instances: Instances) -> Optimum:
        """The exact optimum of the batch, cached by its fingerprint (every policy is scored against it)."""
        key = instances.fingerprint()
        if key not in self._optimum:
            arrays = {name: v.to(torch.float64) for name, v in instances.arrays.items()}
            self._optimum[key] = solve(arrays, self.constants)
        return self._optimum[key]

    def device_features(self, instances: Instances) -> torch.Tensor:
        """(B, n, 6), each O(1): task size / its mean, local CPU / its mean, local delay / theta, h, h^2 / sum h^2
        (the device's part of the received power, which sets its SINR), and alpha."""
        a, p = instances.arrays, self.params
        power = a["h"] ** 2
        received = power / torch.clamp(power.sum(-1, keepdim=True), min=1e-300)
        local_delay = a["c"] / a["f_local"] / p.delay_bound_s
        return torch.stack([a["s"] / p.task_mean_bits, a["f_local"] / p.cpu_mean_hz, local_delay, a["h"], received,
                            a["alpha"]], dim=-1)

    def flat(self, instances: Instances) -> torch.Tensor:
        """(B, 6n): the devices' features, device after device."""
        return self.device_features(instances).flatten(1).float()

    def graph(self, instances: Instances) -> Any:
        """One graph of 2n nodes per instance, node j <-> decision coordinate j: nodes 1..n are the devices'
        offloading choices, n+1..2n their server shares, each with its device's features and a flag for its kind.

        Edges (both ways): a device's choice and its share (weight 1); choices of two devices, weighted by the
        other's part of the received power (they interfere when both offload); shares of two devices, 1 / n
        (they split one server).
        """
        from torch_geometric.data import Batch, Data  # imported when used: it takes seconds to load

        features = self.device_features(instances)
        B, n, _ = features.shape
        flag = torch.cat([torch.zeros(B, n, 1), torch.ones(B, n, 1)], 1).to(features)
        node_x = torch.cat([features.repeat(1, 2, 1), flag], -1)
        i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        others = i != j
        src_choice, dst_choice = j[others], i[others]
        pair = torch.arange(n)
        source = torch.cat([pair, pair + n, src_choice, src_choice + n])
        target = torch.cat([pair + n, pair, dst_choice, dst_choice + n])
        received = features[..., 4]
        weights = torch.cat([torch.ones(B, 2 * n).to(features), received[:, src_choice],
                             torch.full((B, len(src_choice)), 1.0 / n).to(features)], 1)
        edge_index = torch.stack([source, target])
        return Batch.from_data_list([
            Data(x=node_x[b].float(), edge_index=edge_index, edge_weight=weights[b].float(), num_nodes=2 * n)
            for b in range(B)
        ])

    def candidate_scores(self, instances: Instances, samples: torch.Tensor,
                         params: Params) -> tuple[torch.Tensor, torch.Tensor]:
        """(minus the cost, every delay bound met) of the scored decisions (D read as > 0.5, shares renormalized)."""
        cost, delay = self._scored_cost_and_delay(instances, samples)
        return -cost, (delay <= self.constants.delay_bound_s * (1 + params.tolerance)).all(-1)

    def complete(self, instances: Instances, samples: torch.Tensor) -> torch.Tensor:
        """Each sample's D (read as > 0.5) with its exact shares: the cheapest meeting the delay bounds where D
        can, else the sqrt(a)-proportional ones (`exact.decision_costs`, as the reference's own)."""
        arrays = per_sample(instances.arrays)
        n = self.params.devices
        offload = (samples[..., :n] > 0.5).to(torch.float64)
        _, _, shares = decision_costs(arrays, offload, self.constants)
        return torch.cat([offload, shares], -1).to(samples.dtype)

    def _scored_cost_and_delay(self, instances: Instances, samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cost (B, S) and delays (B, S, n) of decisions as scored (`SelectionShares.project`)."""
        arrays = per_sample(instances.arrays)
        scored = self.decision_set(instances).project(samples.to(torch.float64))
        n = self.params.devices
        return cost_and_delay(arrays, scored[..., :n], scored[..., n:], self.constants)

    def evaluate(
        self,
        instances: Instances,
        samples: torch.Tensor,
        ctx: Context,
        params: Params,
        reference: Evaluation | None = None,
        weights: torch.Tensor | None = None,
    ) -> Evaluation:
        """Raw validity, then cost ratios, delay feasibility and decision matches of the scored decisions.

        The denominator is always the exact optimum on the same instances, so `reference` is not used.
        """
        x = samples.to(torch.float64)
        dset, n = self.decision_set(instances), self.params.devices
        w = torch.full_like(x[..., 0], 1.0 / x.shape[1]) if weights is None else weights.to(x)
        invalid = (~dset.contains(x, atol=params.tolerance)).double()
        offload = (x[..., :n] > 0.5).to(x.dtype)
        cost, delay = self._scored_cost_and_delay(instances, x)
        optimum = self.optimum(instances)
        unserved = torch.isinf(cost)
        ratio = torch.clamp(cost / optimum.cost.unsqueeze(-1), max=params.ratio_cap)
        late = (delay > self.constants.delay_bound_s * (1 + params.tolerance)).any(-1).double()
        possible = optimum.feasible_possible.double()
        share_possible = float(possible.mean())
        # per instance, so that its mean over all instances is the share over the possible ones
        violation = (w * late).sum(-1) * possible / share_possible if share_possible > 0 else torch.zeros_like(possible)
        match = (offload == optimum.offload.unsqueeze(1)).all(-1).double()
        per_instance = {
            "cost": (w * torch.minimum(cost, params.ratio_cap * optimum.cost.unsqueeze(-1))).sum(-1),
            "cost_ratio": (w * ratio).sum(-1),
            "delay_violation_frac": violation,
            "decision_match_frac": (w * match).sum(-1),
            "invalid_frac": (w * invalid).sum(-1),
            "unserved_frac": (w * unserved.double()).sum(-1),
        }
        metrics = {key: value.mean().item() for key, value in per_instance.items()}
        metrics.update({
            "cost_ratio_p95": torch.quantile(per_instance["cost_ratio"], 0.95).item(),
            "cost_ratio_max": per_instance["cost_ratio"].max().item(),
            "feasible_possible_frac": share_possible,
        })
        return Evaluation(
            metrics=metrics,
            per_instance={key: value.cpu().numpy() for key, value in per_instance.items()},
            distributions={"cost_ratio": ratio.flatten().cpu().numpy()},
            markers={"cost_ratio": {"exact optimum": 1.0}},
        )


def _truncated_normal(shape: tuple[int, int], mean: float, std: float, high: float, gen: torch.Generator) -> torch.Tensor:
    """Normal draws redrawn until inside (0, high)."""
    x = mean + std * torch.randn(shape, generator=gen, dtype=torch.float64)
    outside = (x <= 0) | (x >= high)
    while outside.any():
        x[outside] = mean + std * torch.randn(int(outside.sum()), generator=gen, dtype=torch.float64)
        outside = (x <= 0) | (x >= high)
    return x

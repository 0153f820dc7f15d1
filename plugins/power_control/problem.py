"""The `power_control` problem: instances, solver views and the ergodic time-sharing evaluation."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from wrbench.api import Box, Context, Evaluation, Instances, Problem, derive_seed, instance_arrays
from wrbench.params import Param, ParamError, Params, resolve

from .fading import FADING_KINDS, FadingModel
from .metrics import PERCENTILES, network_percentiles, per_network, pooled_percentiles
from .network import Geometry, draw_positions, long_term_gains, noise_power
from .pairing import repair
from .rates import ErgodicRates, ergodic_rates, expected_sample_rates, slot_schedule

# what each view (exact, sim_) reports
VIEW_METRICS = ("mean_rate", "sum_rate", "min_rate", "p1", "p5", "p10", "p50", "feasible_frac", "violation", "fairness",
                "single_sample_feasible_frac")
EXACT_DEFINITIONS = {
    "mean_rate": "mean over links of the exact ergodic rate r_i of the policy's time-sharing mixture (bps/Hz)",
    "sum_rate": "sum over links of r_i (bps/Hz)",
    "min_rate": "smallest link rate r_i of a network (bps/Hz)",
    **{name: f"{word} of r_i pooled over the links of all networks (percentiles: per_network: over each network's "
                f"links, then averaged over networks) (bps/Hz)"
       for name, word in (("p1", "1st percentile"), ("p5", "5th percentile"), ("p10", "10th percentile"), ("p50", "median"))},
    "feasible_frac": "share of links with r_i >= f_min (1 - 1e-6)",
    "violation": "mean over links of the relative shortfall (f_min - r_i)+ / f_min: the constraint metric",
    "fairness": "Jain's index (sum r_i)^2 / (N sum r_i^2)",
    "single_sample_feasible_frac": "weighted mean over samples of the share of links meeting f_min under that sample alone",
}


class PowerControl(Problem):
    """Power control in an N-pair interference network under ergodic minimum-rate constraints."""

    name = "power_control"
    version = "3"  # 3: exact ergodic scores (the finite-T simulation under sim_*), weighted samples, relative violation
    test_params = {"n_pairs": 5}
    test_expert = "primal_dual"
    size_parameter = "n_pairs"
    bench_sizes = {"cpu": (20, 50, 200), "cuda": (20, 50, 200, 1000)}
    parameters = (
        Param("n_pairs", int, 30, "transmitter-receiver pairs N (the decision dimension)", min=1),
        Param("density", float, 8.0, "pairs per km^2; the square has side sqrt(N / density) km", min=1e-6),
        Param("d_min", float, 10.0, "shortest transmitter-receiver distance of a pair (m)", min=0.0),
        Param("d_max", float, 50.0, "longest transmitter-receiver distance of a pair (m)", min=0.0),
        Param("d_tt", float, 35.0, "smallest distance between two transmitters (m)", min=0.0),
        Param("shadowing_db", float, 7.0, "standard deviation of the log-normal shadowing (dB)", min=0.0),
        Param("p_max", float, 0.01, "transmit power cap per transmitter (W)", min=0.0),
        Param("bandwidth", float, 20e6, "channel bandwidth W (Hz); noise power = PSD * W", min=0.0),
        Param("noise_psd_dbm", float, -174.0, "noise power spectral density (dBm/Hz)"),
        Param("f_min", float, 0.5, "minimum ergodic rate per link (bps/Hz)", min=0.0),
        Param("f_min_train", list, None, "train split only: each network's f_min drawn uniformly from this list (one "
              "model across QoS levels); other splits use f_min", min=0.0, nullable=True, items=float),
        Param("density_train", list, None, "train split only: each network's density drawn uniformly from this list "
              "(mixed densities); other splits use density", min=1e-6, nullable=True, items=float),
        Param("k_neighbors", int, 10, "strongest interferers kept per receiver in the graph view (N-1: dense)", min=0),
        Param("positions", str, "fresh", "'fresh': new positions per network; 'fixed': one layout from layout_seed, "
              "new shadowing per network (the paper's setting)", choices=("fresh", "fixed")),
        Param("layout_seed", int, 0, "seed of the shared layout when positions = 'fixed'"),
        Param("pairing", str, "drawn", "'drawn': each receiver stays with the transmitter it was drawn around; "
              "'dominant': transmitters exchange receivers, then receivers still having a stronger interferer than their "
              "own transmitter (long-term gain) are drawn again around it (gsd's deployment; docs/problems.md)",
              choices=("drawn", "dominant")),
        Param("fading", str, "iid", "small-scale fading of the simulated view: 'iid' Exp(1) power per step; 'jakes': "
              "time-correlated Rayleigh (sum of sinusoids, power correlation J0(2 pi doppler_hz tau)^2)",
              choices=FADING_KINDS),
        Param("doppler_hz", float, 8.0, "maximum Doppler shift of fading: 'jakes' (Hz; 8 Hz = 1 m/s at 2.4 GHz)", min=0.0),
        Param("fading_paths", int, 25, "sinusoids per link of fading: 'jakes'", min=1),
    )
    primary_metric = "exceed_ratio"
    objective = "mean_rate"
    constraint_metric = "violation"
    constraint_tolerance = 0.01  # meets the QoS: mean shortfall below f_min within 1 % of f_min (exact expectation)
    lower_is_better = frozenset({"violation", "sim_violation", "optimality_gap"})
    headline_metrics = ("exceed_ratio", "mean_rate", "p5", "feasible_frac", "violation", "single_sample_feasible_frac")
    metrics = (*VIEW_METRICS, "exceed_ratio", *(f"sim_{m}" for m in VIEW_METRICS))
    metric_definitions = {
        **EXACT_DEFINITIONS,
        "exceed_ratio": "mean_rate / the expert's mean_rate on the same network",
        **{f"sim_{m}": f"{m} measured over T simulated fading steps of T0-step slots (common random numbers)"
           for m in VIEW_METRICS},
    }
    quantile_metrics = {name: ("link_rate", q) for name, q in PERCENTILES.items()}
    profile_metrics = ("mean_rate", "p1", "p5", "p10", "p50")
    profile_marker = ("link_rate", "f_min")
    scores_weights = True
    leaderboard_note = (
        "Exact scores: each policy is the time-sharing mixture of its samples (with their weights), and a link's rate "
        "is its exact ergodic rate mean_s w_s E[r_i(x_s)] under Rayleigh fading. sim_* metrics are the same quantities "
        "measured over T simulated fading steps of T0-step slots (common random numbers). violation is the mean "
        "relative shortfall (f_min - r_i)_+ / f_min over links."
    )
    eval_parameters = (
        Param("T", int, 200, "fading steps simulated per network (10 ms each)", min=1),
        Param("T0", int, 5, "fading steps per time-sharing slot; each slot runs one policy sample", min=1),
        Param("draws", str, "systematic", "which sample each slot runs (sim_* metrics): 'systematic': every sample "
              "floor or ceil of its weight's share of the slots; 'with_replacement': an independent draw per slot "
              "(gsd's evaluator)", choices=("systematic", "with_replacement")),
        Param("percentiles", str, "pooled", "p1..p50 and sim_p1..sim_p50: 'pooled' over the links of all networks; "
              "'per_network': each network's own percentile, then the mean over networks (gsd's evaluator)",
              choices=("pooled", "per_network")),
    )
    views = frozenset({"graph", "flat"})
    export_arrays = {
        "H": "(B, N, N) long-term power gains, H[b, j, i] = transmitter j -> receiver i",
        "tx": "(B, N, 2) transmitter positions (m)",
        "rx": "(B, N, 2) receiver positions (m)",
        "f_min": "(B,) minimum ergodic rate of every link of the network (bps/Hz); optional on load (default: f_min)",
    }

    # ------------------------------------------------------------------ instances

    @property
    def geometry(self) -> Geometry:
        p = self.params
        return Geometry(p.n_pairs, p.d_min, p.d_max, p.d_tt)

    @property
    def fading_model(self) -> FadingModel:
        return FadingModel(self.params.fading, self.params.doppler_hz, self.params.fading_paths)

    @property
    def sigma2(self) -> float:
        return noise_power(self.params.noise_psd_dbm, self.params.bandwidth)

    def _per_network(self, split: str, n: int, seed: int, name: str) -> np.ndarray:
        """(n,) values of parameter `name`: drawn from its `<name>_train` list on the train split, else constant."""
        choices = self.params[f"{name}_train"] if split == "train" else None
        if not choices:
            return np.full(n, float(self.params[name]))
        return np.random.default_rng(derive_seed(seed, split, name)).choice(np.asarray(choices, dtype=float), size=n)

    @classmethod
    def check_params(cls, params: Params) -> None:
        if params.density_train and params.positions == "fixed":
            raise ParamError("density_train", "mixes geometries and needs positions: fresh (a fixed layout has one density)")

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        """Networks of one configuration: positions fresh per network or fixed by layout_seed; shadowing always fresh.

        On the train split, `f_min_train` / `density_train` draw each network's QoS level / density.
        """
        density = self._per_network(split, n, seed, "density")
        if self.params.positions == "fixed":
            layout = np.random.default_rng(derive_seed(self.params.layout_seed, "power_control", "layout"))
            tx, rx = (np.repeat(a, n, axis=0) for a in draw_positions(layout, self.geometry, density[:1]))
        else:
            tx, rx = draw_positions(np.random.default_rng(derive_seed(seed, split, "positions")), self.geometry, density)
        shadowing = np.random.default_rng(derive_seed(seed, split, "shadowing"))
        gains = long_term_gains(shadowing, tx, rx, self.params.shadowing_db)
        if self.params.pairing == "dominant":
            pairing = np.random.default_rng(derive_seed(seed, split, "pairing"))
            rx, gains = repair(pairing, tx, rx, gains, self.geometry, self.params.shadowing_db)
        return self.load_instances({"H": gains, "tx": tx, "rx": rx, "f_min": self._per_network(split, n, seed, "f_min")})

    def load_instances(self, arrays: Mapping[str, np.ndarray]) -> Instances:
        """Instances from H, tx, rx (and optionally f_min); a ValueError says what is wrong with the arrays."""
        arrays = instance_arrays(arrays, required=("H", "tx", "rx"), optional=("f_min",))
        H = arrays["H"]
        if H.ndim != 3 or H.shape[1] != H.shape[2] or H.shape[1] < 1:
            raise ValueError(f"'H' must have shape (B, N, N) with N >= 1, got {H.shape}")
        if "f_min" not in arrays:
            arrays["f_min"] = np.full(len(H), self.params.f_min)
        expected = {"tx": H.shape[:2] + (2,), "rx": H.shape[:2] + (2,), "f_min": H.shape[:1]}
        for key, shape in expected.items():
            if arrays[key].shape != shape:
                raise ValueError(f"'{key}' must have shape {shape} to match 'H' {H.shape}, got {arrays[key].shape}")
        if (H < 0).any() or not (np.diagonal(H, axis1=1, axis2=2) > 0).all():
            raise ValueError("gains 'H' must be >= 0, with direct gains H[b, i, i] > 0")
        if (arrays["f_min"] < 0).any():
            raise ValueError("'f_min' must be >= 0")
        tensors = {key: torch.as_tensor(arrays[key], dtype=torch.float64) for key in self.export_arrays}
        return Instances(tensors, {"p_max": self.params.p_max, "sigma2": self.sigma2})

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        return {key: instances.arrays[key].detach().cpu().numpy() for key in self.export_arrays}

    def decision_set(self, instances: Instances) -> Box:
        shape = instances.arrays["H"].shape[:2]
        low = torch.zeros(shape, dtype=torch.float64)
        return Box(low=low, high=torch.full_like(low, instances.attrs["p_max"]), enforce="invalid")

    def decision_dim(self, instances: Instances) -> int:
        return int(instances.arrays["H"].shape[-1])

    @staticmethod
    def snr_gains(instances: Instances, device: str | torch.device = "cpu") -> torch.Tensor:
        """Gains (B, N, N) scaled by P_max / sigma2: the units of the experts and the evaluation (noise 1, cap 1)."""
        attrs = instances.attrs
        return instances.arrays["H"].to(device=device, dtype=torch.float64) * (attrs["p_max"] / attrs["sigma2"])

    # ---------------------------------------------------------------------- views

    @staticmethod
    def _log_gains(instances: Instances) -> tuple[torch.Tensor, torch.Tensor]:
        """log(1 + H / sigma2) (B, N, N) and each network's largest entry (B, 1, 1), the scale that makes weights O(1)."""
        log_gain = torch.log1p(instances.arrays["H"].to(torch.float64) / instances.attrs["sigma2"])
        return log_gain, log_gain.amax(dim=(-2, -1), keepdim=True)

    def graph(self, instances: Instances) -> Any:
        """One graph per network: edges j -> i for the k strongest interferers of receiver i plus the direct-link self loop.

        Node features: normalized direct gain, normalized total incoming
        interference, the network's f_min. Besides the normalized `edge_weight`, each
        edge carries `interference_ratio` = H[j, i] / H[i, i] (1 on the self loop):
        the interferer's gain relative to the victim's own link, the quantity an
        SINR is made of, which the log-gain weights compress into a narrow band.
        """
        log_gain, scale = self._log_gains(instances)
        weight = log_gain / scale
        n_networks, n = weight.shape[:2]
        k = min(self.params.k_neighbors, n - 1)
        eye = torch.eye(n, dtype=torch.bool, device=weight.device)
        direct = torch.diagonal(weight, dim1=-2, dim2=-1)
        gains = instances.arrays["H"].to(torch.float64)
        incoming = gains.masked_fill(eye, 0.0).sum(dim=-2)
        interference = torch.log1p(incoming / instances.attrs["sigma2"]) / scale.squeeze(-1)
        f_min = instances.arrays["f_min"].to(direct).unsqueeze(-1).expand_as(direct)
        features = torch.stack([direct, interference, f_min], dim=-1)

        strongest = weight.masked_fill(eye, -1.0).topk(k, dim=-2).indices  # (B, k, N): sources j of receiver i
        nodes = torch.arange(n, device=weight.device).expand(n_networks, 1, n)
        source = torch.cat([strongest, nodes], dim=1).flatten(1)
        target = nodes.expand(n_networks, k + 1, n).flatten(1)
        rows = torch.arange(n_networks, device=weight.device).unsqueeze(-1)
        edge_weight = weight[rows, source, target]
        ratio = gains[rows, source, target] / torch.diagonal(gains, dim1=-2, dim2=-1).gather(1, target)
        from torch_geometric.data import Batch, Data  # imported when used: it takes seconds to load

        return Batch.from_data_list([
            Data(x=features[b].float(), edge_index=torch.stack([source[b], target[b]]), edge_weight=edge_weight[b].float(),
                 interference_ratio=ratio[b].float(), num_nodes=n)
            for b in range(n_networks)
        ])

    def flat(self, instances: Instances) -> torch.Tensor:
        """(B, N*N + 1): normalized log-gains, row-major in [tx, rx], then the network's f_min."""
        log_gain, scale = self._log_gains(instances)
        f_min = instances.arrays["f_min"].to(log_gain).unsqueeze(-1)
        return torch.cat([(log_gain / scale).flatten(1), f_min], dim=-1).float()

    # ----------------------------------------------------------------- evaluation

    def _ergodic(self, instances: Instances, x: torch.Tensor, ctx: Context, steps: int, slot: int,
                 weights: torch.Tensor, draws: str) -> ErgodicRates:
        """Simulated ergodic rates of samples x (B, S, N) in watts; fading and schedule from ctx.seed only."""
        gains = self.snr_gains(instances, ctx.device)
        power = x.to(device=ctx.device, dtype=torch.float64) / instances.attrs["p_max"]
        fading = self.fading_model.process(tuple(gains.shape), ctx.generator("power_control", "fading"),
                                           power.dtype, power.device)
        schedule = slot_schedule(weights.to(ctx.device), -(-steps // slot), draws, ctx.generator("power_control", "schedule"))
        return ergodic_rates(power, gains, steps, slot, fading, schedule)

    def score(self, instances: Instances, x: torch.Tensor, ctx: Context) -> torch.Tensor:
        """Mean ergodic rate (B, S) of each allocation held fixed over the default T fading steps."""
        defaults = {p.name: p.default for p in self.eval_parameters}
        uniform = torch.full(x.shape[:2], 1.0 / x.shape[1], dtype=torch.float64)
        rates = self._ergodic(instances, x, ctx, defaults["T"], defaults["T0"], uniform, defaults["draws"])
        return rates.per_sample.mean(dim=-1)

    def evaluate(
        self,
        instances: Instances,
        samples: torch.Tensor,
        ctx: Context,
        params: Params,
        reference: Evaluation | None = None,
        weights: torch.Tensor | None = None,
    ) -> Evaluation:
        """Score the time-shared policy of the samples exactly (Rayleigh expectation) and over T simulated steps.

        Both views go through one metric definition (`metrics.per_network`);
        the exact one carries the plain names and the exceed ratio, the
        simulated one the `sim_` prefix.
        """
        params = resolve(self.eval_parameters, dict(params))  # defaults for what a caller leaves out
        n_networks, n_samples = samples.shape[:2]
        weights = (torch.full((n_networks, n_samples), 1.0 / n_samples, dtype=torch.float64) if weights is None
                   else weights.to(torch.float64).cpu())
        f_min = instances.arrays["f_min"].cpu().to(torch.float64)
        power = samples.cpu().to(torch.float64) / instances.attrs["p_max"]
        exact = expected_sample_rates(power, self.snr_gains(instances))
        link = (weights.unsqueeze(-1) * exact).sum(dim=1)
        simulated = self._ergodic(instances, samples, ctx, params["T"], params["T0"], weights, params["draws"])
        views = {"": (link, exact), "sim_": (simulated.time_shared.cpu(), simulated.per_sample.cpu())}
        per_instance: dict[str, np.ndarray] = {}
        metrics: dict[str, float] = {}
        for prefix, (link_rates, sample_rates) in views.items():
            values = per_network(link_rates, sample_rates, weights, f_min)
            if params["percentiles"] == "per_network":
                values.update(network_percentiles(link_rates))
            per_instance.update({prefix + k: v.numpy() for k, v in values.items()})
            metrics.update({prefix + k: float(v.mean()) for k, v in values.items()})
            if params["percentiles"] == "pooled":
                metrics.update({prefix + k: v for k, v in pooled_percentiles(link_rates).items()})
        if reference is not None:
            ratio = per_instance["mean_rate"] / reference.per_instance["mean_rate"]
            per_instance["exceed_ratio"] = ratio
            metrics["exceed_ratio"] = float(ratio.mean())
        return Evaluation(
            metrics=metrics,
            per_instance=per_instance,
            distributions={"link_rate": link.numpy()},
            markers={"link_rate": {"f_min": float(f_min[0])}} if bool((f_min == f_min[0]).all()) else {},
        )

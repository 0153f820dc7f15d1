"""`sa_pd`: a learned state-augmented primal-dual policy (Naderi et al., ref. [16] of arXiv 2504.20277).

A graph network maps (network, dual variables lambda) to powers. It is trained without labels to
maximize the Lagrangian of the ergodic QoS problem for random duals; at test time it runs the dual
dynamics slot by slot, and the allocations of the late window are its samples (a time-sharing policy).
The same name is registered as a solver (fits on the suite's training networks plus networks it draws)
and as an expert (fits on networks it draws itself; its samples then train gdm).
"""
from __future__ import annotations

import time
from typing import Any

import torch

from wrbench.api import Context, Expert, Instances, Problem, derive_seed
from wrbench.fitting import NetSolver, affine_stats, train
from wrbench.params import Param, ParamError, Params

from .rates import expected_rates
from .sa_pd_dynamics import RATE_NODES, expected_feedback, measured_feedback, run_dual_dynamics
from .sa_pd_gnn import DualPolicyNet, dense_adjacency

PARAMETERS = (
    Param("hidden", int, 64, "hidden width of the graph network", min=1),
    Param("layers", int, 3, "residual graph-filter layers", min=1),
    Param("taps", int, 2, "filter taps K per edge operator and layer", min=1),
    Param("train_steps", int, 1500, "Adam steps on the Lagrangian", min=0),
    Param("lr", float, 3e-3, "Adam learning rate", min=0.0),
    Param("extra_networks", int, 480, "unlabeled networks the fit draws from the problem's own generator (train split) "
          "besides the ones it is given: the Lagrangian needs no expert, and 32 networks alone generalize poorly", min=0),
    Param("batch_networks", int, 128, "networks per Adam step, drawn from the training pool", min=1),
    Param("dual_draws", int, 1, "dual-variable draws per network and step", min=1),
    # Naderi's code draws duals in [0, 1]. Measured here (diagnostic `dual_max_seen`, N = 30, f_min = 1,
    # eta = 0.5, 8 held-out networks): the dynamics drive constrained links' duals to 3.1 .. 4.1; a cap of
    # 4 pinned 1-2 % of the links (which then miss f_min), a cap of 8 cost 1.3 % of mean rate. The range
    # is 5 (on power_control.yaml's test networks 2 links of 240 still reach it); most links' constraints
    # are slack at the optimum, hence 80 % zero draws.
    Param("dual_max", float, 5.0, "largest dual variable: training draws lie in [0, dual_max], the test-time "
          "dynamics are projected onto [0, dual_max]", min=1e-6),
    Param("dual_zero_share", float, 0.8, "share of links whose training dual is exactly 0 (at the test-time "
          "optimum most links' constraints are slack)", min=0.0, max=1.0),
    Param("eta", float, 0.5, "dual step per slot: lambda <- [lambda - eta (r - f_min (1 + margin))]_+ (rates in bps/Hz)",
          min=0.0, sampling_only=True),
    Param("burn_in", int, 200, "slots of dual dynamics run before the window whose allocations are the samples",
          min=0, sampling_only=True),
    Param("margin", float, 0.02, "the dynamics target f_min * (1 + margin): slack against the window's finite length",
          min=0.0, sampling_only=True),
    Param("feedback", str, "expected", "rates the dual step uses: 'expected' (each slot allocation's exact ergodic rate "
          "under Rayleigh fading) or 'measured' (its rates over slot_steps simulated fading steps)",
          choices=("expected", "measured"), sampling_only=True),
    Param("slot_steps", int, 5, "fading steps per slot (T0) behind measured feedback", min=1, sampling_only=True),
)
TEST_PARAMS = {"hidden": 8, "layers": 1, "train_steps": 3, "extra_networks": 8, "batch_networks": 8, "burn_in": 5}


class SAPDSolver(NetSolver):
    """Learned state-augmented primal-dual policy: a GNN pi(graph, lambda) run along the dual dynamics, one pass per slot."""

    name = "sa_pd"
    version = "1"
    problems = ("power_control",)
    requires = frozenset({"graph"})
    stochastic = True
    needs_expert = False
    parameters = PARAMETERS
    test_params = TEST_PARAMS
    bench_fit_params = {"train_steps": 0}  # sampling costs the same with untrained weights

    def _build(self) -> DualPolicyNet:
        return DualPolicyNet(self.meta["node_features"], self.params.hidden, self.params.layers, self.params.taps)

    def _graph_inputs(self, problem: Problem, instances: Instances, device: str,
                      graph: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardized node features (B, N, F) and the edge operators (B, OPERATORS, N, N) of the graph view
        (`graph`: the view of `instances` when already built)."""
        graph = (problem.graph(instances) if graph is None else graph).to(device)
        x = (graph.x.float() - self.meta["mean"].to(device)) / self.meta["std"].to(device)
        return x.reshape(len(instances), -1, x.shape[-1]), dense_adjacency(graph, len(instances))

    def powers(self, inputs: tuple[torch.Tensor, torch.Tensor], dual: torch.Tensor) -> torch.Tensor:
        """Powers (..., B, N) in units of P_max for duals (..., B, N): one pass over every network and draw."""
        logits = self._fitted_net()(inputs[0], dual.float() / self.params.dual_max, inputs[1])
        return torch.sigmoid(logits).double()

    def lagrangian(self, power: torch.Tensor, dual: torch.Tensor, gains: torch.Tensor, f_min: torch.Tensor) -> torch.Tensor:
        """Per draw and network (..., B): [mean_i r_i + mean_i lambda_i (r_i - f_min)] / (1 + mean_i lambda_i).

        Rates are exact Rayleigh expectations (RATE_NODES quadrature, differentiable); the division only
        balances draws of different dual mass and leaves each draw's maximizer unchanged.
        """
        rates = expected_rates(power, gains, RATE_NODES)
        value = (rates + dual * (rates - f_min.unsqueeze(-1))).mean(-1)
        return value / (1.0 + dual.mean(-1))

    def draw_duals(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Training duals: 0 with probability dual_zero_share, else uniform in [0, dual_max]."""
        device = generator.device
        active = torch.rand(shape, generator=generator, device=device) >= self.params.dual_zero_share
        level = torch.rand(shape, generator=generator, device=device, dtype=torch.float64) * self.params.dual_max
        return level * active

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        """Maximize the Lagrangian on the given networks plus `extra_networks` drawn by the problem (seeded from ctx)."""
        networks = instances
        if self.params.extra_networks:
            drawn = problem.make_instances("train", self.params.extra_networks, derive_seed(ctx.seed, self.name, "networks"))
            networks = Instances({k: torch.cat([v, drawn.arrays[k].to(v)]) for k, v in instances.arrays.items()},
                                 dict(instances.attrs))
        self.fit_networks(problem, networks, ctx)

    def fit_networks(self, problem: Problem, networks: Instances, ctx: Context) -> None:
        """Maximize the Lagrangian over random duals on `networks`, a minibatch of networks per Adam step."""
        device = ctx.device
        networks = networks.to(device)
        graph = problem.graph(networks)
        mean, std = affine_stats(graph.x)
        self.meta = {"node_features": int(graph.x.shape[-1]), "mean": mean.cpu(), "std": std.cpu()}
        self._init_net(ctx, device)
        x, adjacency = self._graph_inputs(problem, networks, device, graph)
        gains = problem.snr_gains(networks, device)
        f_min = networks.arrays["f_min"].to(gains)
        batch = min(self.params.batch_networks, len(networks))

        def loss(generator: torch.Generator) -> torch.Tensor:
            index = torch.randperm(len(networks), generator=generator, device=generator.device)[:batch].to(device)
            dual = self.draw_duals((self.params.dual_draws, batch, gains.shape[1]), generator).to(device)
            power = self.powers((x[index], adjacency[index]), dual)
            return -self.lagrangian(power, dual, gains[index], f_min[index]).mean()

        train(self.net, loss, self.params.train_steps, self.params.lr, ctx, stage=f"fit {self.name}")

    @torch.no_grad()
    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        """The allocations (B, n_samples, N) of the last n_samples slots of the dual dynamics, started at lambda = 0."""
        p = self.params
        self._fitted_net().to(ctx.device)
        instances = instances.to(ctx.device)
        inputs = self._graph_inputs(problem, instances, ctx.device)
        gains = problem.snr_gains(instances, ctx.device)
        target = (instances.arrays["f_min"].to(gains) * (1.0 + p.margin)).unsqueeze(-1).expand(gains.shape[:2])
        feedback = (expected_feedback(gains) if p.feedback == "expected"
                    else measured_feedback(gains, p.slot_steps, ctx.generator("sa_pd", "fading")))
        run = run_dual_dynamics(lambda dual: self.powers(inputs, dual), feedback, target, p.eta, p.dual_max,
                                p.burn_in, n_samples)
        self.diagnostics = {"dual_max_seen": float(run.duals.max()), "dual_mean": float(run.duals[-1].mean()),
                            "dual_at_cap_frac": float((run.duals.amax(0) >= p.dual_max).double().mean())}
        return (run.window * instances.attrs["p_max"]).float()


# Fitted states of the expert, per (params, problem params, device), for this process.
_EXPERT_FITS: dict[tuple[Any, ...], dict[str, Any]] = {}


class SAPDExpert(Expert):
    """The learned SA-PD policy as an expert: a GNN fitted on networks it draws itself, run along the dual dynamics."""

    name = "sa_pd"
    version = SAPDSolver.version
    problems = ("power_control",)
    stochastic = True
    parameters = (*PARAMETERS, Param("seed", int, 0, "seed of the expert's own training networks and initial weights"))
    test_params = TEST_PARAMS

    @classmethod
    def check_params(cls, params: Params) -> None:
        if params.extra_networks == 0:
            raise ParamError("extra_networks", "the sa_pd expert trains only on networks it draws itself: set it >= 1")

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        """Samples (B, n_samples, N) in watts.

        The GNN is fitted on `extra_networks` networks drawn from the problem's train split with the
        expert's own `seed`, never on the networks asked for, so one fitted policy serves every split (the
        train split's samples that teach gdm and the test split's reference); it is cached in this process.
        """
        solver = SAPDSolver({k: v for k, v in self.params.items() if k != "seed"})
        key = (repr(dict(self.params)), repr(dict(problem.params)), ctx.device)
        start = time.perf_counter()
        cached = key in _EXPERT_FITS
        if cached:
            solver.load_state_dict(_EXPERT_FITS[key])
        else:
            fit_ctx = Context(derive_seed(self.params.seed, self.name, "fit"), ctx.device, ctx.progress)
            seed = derive_seed(self.params.seed, self.name, "networks")
            solver.fit_networks(problem, problem.make_instances("train", self.params.extra_networks, seed), fit_ctx)
            _EXPERT_FITS[key] = solver.state_dict()
        fit_seconds = time.perf_counter() - start
        samples = solver.sample(problem, instances, n_samples, ctx)
        self.diagnostics = {**solver.diagnostics, "fit_seconds": fit_seconds, "fit_cached": float(cached)}
        return samples

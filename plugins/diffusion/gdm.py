"""Solver `gdm`: the GNN-parametrized diffusion policy of 2504.20277 imitating a stochastic expert."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wrbench.api import Instances, Problem
from wrbench.fitting import affine_stats
from wrbench.params import Param

from .base import DiffusionSolver, diffusion_parameters
from .schedules import Schedule
from .training import diffusion_loss


SHIFTS = ("auto", "interference", "log_gain")


def shift_weights(graph: Any, shift: str, exponent: float) -> torch.Tensor | None:
    """Edge weights of the shift operator S chosen by `shift` (see the `shift` parameter).

    Why not the log gains: they squeeze a 60 dB range of interference into weights
    0.3-0.9 of one network-wide scale, so S barely tells a harmful interferer from a
    harmless one; the interference ratio weighs each interferer against the victim's own signal.
    """
    ratio = getattr(graph, "interference_ratio", None)
    if shift == "log_gain" or (shift == "auto" and ratio is None):
        return None if graph.edge_weight is None else graph.edge_weight.float()
    if ratio is None:
        raise ValueError("shift 'interference' needs the graph's interference_ratio edge attribute "
                         "(power_control provides it); use shift: log_gain or auto for this problem")
    return ratio.float().clamp(max=1.0).pow(exponent)


class GDMSolver(DiffusionSolver):
    """GNN diffusion policy (2504.20277): one model for any N and QoS level, DDIM / DDPM / DPM-Solver++ sampling."""

    name = "gdm"
    version = "3"  # 3: sampling noise drawn per network (a network samples alike alone or in a batch)
    test_params = {"train_steps": 3, "diffusion_steps": 10, "sample_steps": 3, "hidden": 8, "layers": 1}
    requires = frozenset({"graph"})
    bench_budgets = (2, 10, 50)
    parameters = diffusion_parameters(train_steps=800, lr=4e-3) + (
        Param("hidden", int, 64, "hidden features per node F (paper: 1024)", min=1),  # 64: a CPU fit at N = 30 in minutes
        Param("layers", int, 4, "graph-filter layers L (paper: 6)", min=1),
        Param("taps", int, 2, "filter taps K of each TAGConv layer (paper: 2)", min=1),
        # on unseen power_control networks (N = 30) ratio^0.5 beat log_gain in mean rate and feasibility
        Param("shift", str, "auto", "edge weights of the graph shift operator: 'log_gain' = the graph's "
              "edge_weight (the paper's normalized log(1 + H / sigma2)); 'interference' = its interference_ratio "
              "H[j, i] / H[i, i], capped at 1 and raised to shift_exponent; 'auto' = interference where the graph "
              "carries it, else log_gain", choices=SHIFTS),
        Param("shift_exponent", float, 0.5, "exponent of the interference ratio (1: linear, the SINR's own terms; "
              "0.5: weights fall tenfold per 20 dB, so interferers 20-40 dB below the signal still count)", min=1e-3),
        Param("normalize_gso", bool, False, "symmetric degree normalization of the graph shift operator in TAGConv"),
        Param("both_directions", bool, True, "also filter along reversed edges (victim -> interferer); the paper "
              "filters with S only"),
        Param("batch_samples", int, 4, "expert samples per training graph in each step (every graph is used every step, "
              "each signal with its own timestep; paper: 200 signals of 1 graph)", min=1),
    )

    def _graph(self, problem: Problem, instances: Instances, device: str) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Standardized node features, edge_index and the shift operator's edge weights of the instances' graph batch."""
        g = problem.graph(instances).to(device)
        mean, std = self.meta["x_mean"].to(device), self.meta["x_std"].to(device)
        return (g.x.float() - mean) / std, g.edge_index, shift_weights(g, self.params.shift, self.params.shift_exponent)

    def _prepare(self, problem: Problem, instances: Instances, y0: torch.Tensor, device: str) -> None:
        dim = problem.decision_dim(instances)
        if problem.decision_set(instances).unit_dim(dim) != dim:
            raise TypeError("gdm diffuses one value per node: its decision set needs one unit coordinate per decision")
        g = problem.graph(instances)
        if g.num_nodes != y0.shape[0] * y0.shape[2]:
            raise ValueError(f"graph has {g.num_nodes} nodes, expected one per coordinate ({y0.shape[0]} x {y0.shape[2]})")
        mean, std = affine_stats(g.x.float())
        self.meta = {"node_features": int(g.x.shape[-1]), "x_mean": mean, "x_std": std}

    def _build(self) -> nn.Module:
        from .gnn import GDMDenoiser  # torch_geometric loads in seconds: only when a model is built

        p = self.params
        return GDMDenoiser(self.meta["node_features"], p.diffusion_steps, p.hidden, p.layers, p.taps, p.normalize_gso,
                           p.both_directions)

    def _loss(self, problem: Problem, instances: Instances, y0: torch.Tensor, schedule: Schedule, device: str) -> Any:
        node_x, edge_index, edge_weight = self._graph(problem, instances, device)
        B, S, D = y0.shape
        m = self.params.batch_samples
        rows = torch.arange(B, device=device)[:, None]

        def batch_loss(gen: torch.Generator) -> torch.Tensor:
            idx = torch.randint(S, (B, m), generator=gen, device=device)
            x0 = y0[rows, idx].transpose(0, 1).reshape(m, B * D)
            t = torch.randint(schedule.T, (m, B, 1), generator=gen, device=device).expand(m, B, D).reshape(m, B * D)
            noise = torch.randn(x0.shape, generator=gen, device=device)
            return diffusion_loss(self._bind(node_x, edge_index, edge_weight), x0, t, noise, schedule,
                                  self.params.prediction, self.params.weighting, self.params.gamma)

        return batch_loss

    def _bind(self, node_x: torch.Tensor, edge_index: torch.Tensor, edge_weight: Any) -> Any:
        """The denoiser as model(x_t, t) on one graph batch."""

        def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.net(x_t, t, node_x, edge_index, edge_weight)

        return model

    def _model(self, problem: Problem, instances: Instances, n_samples: int, device: str) -> tuple[Any, tuple[int, ...]]:
        node_x, edge_index, edge_weight = self._graph(problem, instances, device)
        return self._bind(node_x, edge_index, edge_weight), (n_samples, node_x.shape[0])

    def _unlayout(self, y: torch.Tensor, n_instances: int, n_samples: int) -> torch.Tensor:
        return y.reshape(n_samples, n_instances, -1).transpose(0, 1)

    def _layout(self, y: torch.Tensor) -> torch.Tensor:
        return y.transpose(0, 1).reshape(y.shape[1], -1)

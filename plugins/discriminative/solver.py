"""Solver `discriminative`: one allocation per instance, regressed with MSE onto the expert's samples.

The MSE minimizer is the conditional mean of the expert policy, so on multi-modal experts it
lands between modes; that is the point of comparing it with the diffusion policies.
"""
from __future__ import annotations

import torch
from torch import nn

from wrbench.api import Context, DecisionSet, Instances, Problem
from wrbench.fitting import NetSolver, affine_stats, train
from wrbench.params import Param


class GraphRegressor(nn.Module):
    """Node-wise MLP encoder, `layers` residual TAGConv filters, node-wise readout: one value per node."""

    def __init__(self, in_features: int, hidden: int, layers: int, taps: int):
        from torch_geometric.nn import TAGConv  # torch_geometric loads in seconds: only when a model is built

        super().__init__()
        self.enc = nn.Sequential(nn.Linear(in_features, hidden), nn.SiLU())
        self.convs = nn.ModuleList([TAGConv(hidden, hidden, K=taps) for _ in range(layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(layers)])
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        z = self.enc(x)
        for conv, norm in zip(self.convs, self.norms):
            z = z + nn.functional.silu(norm(conv(z, edge_index, edge_weight)))
        return self.out(z).squeeze(-1)


class FlatRegressor(nn.Module):
    """A plain MLP from the flattened instance to the decision vector."""

    def __init__(self, in_features: int, out_features: int, hidden: int, layers: int):
        super().__init__()
        sizes = [in_features] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            blocks += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(sizes[-1], out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _unit_targets(dset: DecisionSet, x: torch.Tensor) -> torch.Tensor:
    """Decisions (B, S, D) -> their first D unit coordinates (cube coordinates, or simplex shares without the slack)."""
    return dset.to_unit(x)[..., : x.shape[-1]]


def _decisions(dset: DecisionSet, out: torch.Tensor) -> torch.Tensor:
    """Network outputs (B, D) -> feasible decisions (B, D): on a cube, sigmoids of the outputs are the unit
    coordinates; on a simplex, the outputs clipped at zero are the shares (the slack takes the rest), and
    the set's projection scales them down where they exceed it."""
    if dset.unit_domain == "cube":
        u = torch.sigmoid(out)
    else:
        shares = torch.relu(out)
        u = torch.cat([shares, 1.0 - shares.sum(-1, keepdim=True)], dim=-1)
    return dset.project(dset.from_unit(u.unsqueeze(1), repair=False)).squeeze(1)


class DiscriminativeSolver(NetSolver):
    """Deterministic MSE regressor (GNN on the graph view, else MLP on the flat view); same output for every sample."""

    name = "discriminative"
    test_params = {"train_steps": 3, "hidden": 8, "layers": 1}
    bench_fit_params = {"train_steps": 0}  # sampling costs the same with untrained weights
    version = "1"
    stochastic = False
    needs_expert = True
    parameters = (
        Param("hidden", int, 128, "hidden width", min=1),
        Param("layers", int, 3, "graph-filter layers (graph view) or hidden layers (flat view)", min=1),
        Param("taps", int, 2, "filter taps K of each TAGConv layer (graph view)", min=1),
        Param("train_steps", int, 500, "full-batch Adam steps", min=0),
        Param("lr", float, 3e-3, "Adam learning rate", min=0.0),
        Param("view", str, "auto", "'auto' uses the graph view when the problem offers one, else the flat view",
              choices=("auto", "graph", "flat")),
    )

    def supports(self, problem: Problem) -> str | None:
        if not {"graph", "flat"} & set(problem.views):
            return f"solver '{self.name}' needs the graph or the flat view, which '{problem.name}' does not offer"
        return super().supports(problem)

    def _inputs(self, problem: Problem, instances: Instances, device: str) -> tuple:
        """Network inputs for the chosen view, standardized with the training statistics."""
        mean, std = self.meta["mean"].to(device), self.meta["std"].to(device)
        if self.meta["view"] == "graph":
            g = problem.graph(instances).to(device)
            weight = None if g.edge_weight is None else g.edge_weight.float()
            return ((g.x.float() - mean) / std, g.edge_index, weight)
        return ((problem.flat(instances).to(device).float() - mean) / std,)

    def _build(self) -> nn.Module:
        p, m = self.params, self.meta
        if m["view"] == "graph":
            return GraphRegressor(m["in_features"], p.hidden, p.layers, p.taps)
        return FlatRegressor(m["in_features"], m["out_features"], p.hidden, p.layers)

    def _predict(self, problem: Problem, instances: Instances, device: str) -> torch.Tensor:
        """Raw unit-space outputs (B, D)."""
        out = self.net(*self._inputs(problem, instances, device))
        return out.reshape(len(instances), -1)

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        if expert_samples is None:
            raise ValueError("discriminative regresses onto expert samples and needs them")
        device = ctx.device
        instances = instances.to(device)
        dset = problem.decision_set(instances)
        view = self.params.view if self.params.view != "auto" else ("graph" if "graph" in problem.views else "flat")
        raw = problem.graph(instances).x if view == "graph" else problem.flat(instances)
        mean, std = affine_stats(raw)
        self.meta = {"view": view, "in_features": int(raw.shape[-1]), "out_features": int(expert_samples.shape[-1]),
                     "box": dset.unit_domain == "cube", "mean": mean.cpu(), "std": std.cpu()}
        self._init_net(ctx, device)
        # MSE against every sample = MSE against their mean plus a constant, so regress onto the mean.
        # Cube targets live in the sigmoid's image (0, 1): regress the sigmoid output, not the logits.
        target = _unit_targets(dset, expert_samples.to(device).float()).mean(1)

        def loss(_: torch.Generator) -> torch.Tensor:  # full batch: no draws
            out = self._predict(problem, instances, device)
            pred = torch.sigmoid(out) if self.meta["box"] else out
            return ((pred - target) ** 2).mean()

        train(self.net, loss, self.params.train_steps, self.params.lr, ctx, stage=f"fit {self.name}")

    @torch.no_grad()
    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        self._fitted_net().to(ctx.device)
        instances = instances.to(ctx.device)
        x = _decisions(problem.decision_set(instances), self._predict(problem, instances, ctx.device))
        return x.unsqueeze(1).expand(-1, n_samples, -1).contiguous()

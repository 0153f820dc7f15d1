"""Solver `discriminative`: one allocation per instance, regressed with MSE onto the expert's samples.

The MSE minimizer is the conditional mean of the expert policy, so on multi-modal experts it
lands between modes; that is the point of comparing it with the diffusion policies.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import torch
from torch import nn
from torch_geometric.nn import TAGConv

from wrbench.api import Box, Budget, Context, DecisionSet, Instances, Problem, Solver
from wrbench.params import Param, resolve


class GraphRegressor(nn.Module):
    """Node-wise MLP encoder, `layers` residual TAGConv filters, node-wise readout: one value per node."""

    def __init__(self, in_features: int, hidden: int, layers: int, taps: int):
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


def _unit(dset: DecisionSet, x: torch.Tensor) -> torch.Tensor:
    """Decisions (B, S, D) -> targets in units of the set (box fractions, or budget shares)."""
    if isinstance(dset, Box):
        low, high = dset.low.to(x).unsqueeze(-2), dset.high.to(x).unsqueeze(-2)
        return (x - low) / torch.clamp(high - low, min=1e-30)
    if isinstance(dset, Budget):
        return x / dset.total.to(x)[:, None, None]
    raise TypeError(f"unsupported decision set {type(dset).__name__}")


def _from_unit(dset: DecisionSet, u: torch.Tensor) -> torch.Tensor:
    """Predicted units (B, D) -> a feasible decision (B, D) (sigmoid keeps box outputs inside; budgets are projected)."""
    if isinstance(dset, Box):
        low, high = dset.low.to(u), dset.high.to(u)
        return low + torch.sigmoid(u) * (high - low)
    x = torch.relu(u).unsqueeze(1) * dset.total.to(u)[:, None, None]
    return dset.project(x).squeeze(1)


class DiscriminativeSolver(Solver):
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

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.net: nn.Module | None = None
        self.meta: dict[str, Any] = {}

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
        flat = raw.float().reshape(-1, raw.shape[-1])
        std = flat.std(0) if flat.shape[0] > 1 else torch.ones(flat.shape[-1])
        self.meta = {"view": view, "in_features": int(flat.shape[-1]), "out_features": int(expert_samples.shape[-1]),
                     "box": isinstance(dset, Box), "mean": flat.mean(0).cpu(),
                     "std": torch.where(std > 1e-3, std, torch.ones_like(std)).cpu()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.generator("init", device="cpu").initial_seed())
            self.net = self._build().to(device)
        # MSE against every sample = MSE against their mean plus a constant, so regress onto the mean.
        # Box targets live in logit space's image (0, 1): regress the sigmoid output, not the logits.
        target = _unit(dset, expert_samples.to(device).float()).mean(1)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.params.lr)
        start, steps = time.perf_counter(), self.params.train_steps
        for step in range(steps):
            out = self._predict(problem, instances, device)
            pred = torch.sigmoid(out) if self.meta["box"] else out
            loss = ((pred - target) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if (step + 1) % 10 == 0 or step + 1 == steps:
                elapsed = time.perf_counter() - start
                ctx.progress(f"fit {self.name}", step + 1, steps, loss=float(loss.detach()),
                             eta_s=elapsed / (step + 1) * (steps - step - 1))
        self.net.eval()

    @torch.no_grad()
    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        if self.net is None:
            raise RuntimeError("discriminative must be fitted (or loaded) before sampling")
        instances = instances.to(ctx.device)
        self.net.to(ctx.device)
        x = _from_unit(problem.decision_set(instances), self._predict(problem, instances, ctx.device))
        return x.unsqueeze(1).expand(-1, n_samples, -1).contiguous()

    def state_dict(self) -> dict[str, Any]:
        if self.net is None:
            raise RuntimeError("discriminative has no fitted state")
        return {"params": dict(self.params), "meta": dict(self.meta),
                "net": {k: v.detach().cpu() for k, v in self.net.state_dict().items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.params = resolve(self.parameters, state["params"])
        self.meta = dict(state["meta"])
        self.net = self._build()
        self.net.load_state_dict(state["net"])
        self.net.eval()

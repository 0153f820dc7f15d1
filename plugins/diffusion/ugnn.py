"""Solver `ugnn`: the U-GNN diffusion policy of 2604.05175 (gdm's training and sampling, a U-shaped denoiser)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wrbench.api import Instances, Problem
from wrbench.params import Param

from .gdm import GDMSolver


class UGNNSolver(GDMSolver):
    """U-GNN diffusion policy (2604.05175): GNN blocks at `levels` + 1 resolutions with learned top-k pooling,
    unpooling, skip connections and reduced graph operators; conditioned on the channel graph and node states
    (f_min included). Same data, loss, schedules and samplers as gdm."""

    name = "ugnn"
    version = "3"  # 3: sampling noise drawn per network
    test_params = {"train_steps": 3, "hidden": 16, "layers": 1, "levels": 2, "diffusion_steps": 8, "sample_steps": 2,
                   "batch_samples": 4}
    parameters = tuple(p for p in GDMSolver.parameters if p.name != "layers") + (
        Param("layers", int, 1, "GNN blocks per resolution, in the encoder and in the decoder (plus the bottleneck)",
              min=1),
        Param("levels", int, 2, "pooling levels (0: no pooling, a plain GNN with a skip-free stack)", min=0),
        Param("ratio", float, 0.5, "share of each graph's nodes kept by every top-k pooling", min=1e-3, max=1.0),
        Param("stride", int, 2, "the coarse operator is D S^stride D^T: hops of the finer graph that become edges "
              "(1: induced subgraph)", min=1),
    )

    def _graph(self, problem: Problem, instances: Instances, device: str) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """gdm's graph inputs, with the node -> graph assignment riding along the edge weights (for per-graph top-k)."""
        node_x, edge_index, edge_weight = super()._graph(problem, instances, device)
        per_graph = node_x.shape[0] // max(len(instances), 1)
        batch = torch.arange(len(instances), device=device).repeat_interleave(per_graph)
        if batch.numel() != node_x.shape[0]:
            raise ValueError(f"ugnn needs graphs of equal size: {node_x.shape[0]} nodes for {len(instances)} instances")
        from .unet import EdgeWeightsAndBatch  # torch_geometric loads in seconds: only when a model is built

        return node_x, edge_index, EdgeWeightsAndBatch(edge_weight, batch)

    def _build(self) -> nn.Module:
        from .unet import UGNNDenoiser  # torch_geometric loads in seconds: only when a model is built

        p = self.params
        return UGNNDenoiser(self.meta["node_features"], p.diffusion_steps, p.hidden, p.levels, p.layers, p.taps,
                            p.ratio, p.stride, p.normalize_gso, p.both_directions)

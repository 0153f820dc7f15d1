"""The U-GNN denoiser of 2604.05175: a U-shaped encoder-decoder of GNN blocks over a learned graph hierarchy.

Level 0 is the channel graph. Going down, a learned score keeps the top `ratio` of each graph's
nodes (top-k selection per graph of the batch) and the next level's graph shift operator is the
reduced operator S_b = D_b S_{b-1}^stride D_b^T (the induced subgraph of the `stride`-hop
operator on the kept nodes; Gama et al.'s pooling with stride). Going up, unpooling scatters the
coarse embeddings back to the kept node indices (zeros elsewhere) and merges them with the
encoder's skip connection at that level.

The hierarchy depends only on the conditioning (channel graph and node states, f_min
included), not on the noisy allocation, so all M graph signals of a graph share one node
selection and the (num_nodes, M, F) layout of `gnn.py` (one sparse matmul per shift) is kept
at every level. The selection scores are gated into the pooled embeddings (tanh, as in
Graph U-Nets / TopKPooling) so they receive gradients.

Layout: x_t (M, num_nodes) for one torch-geometric batch of graphs (node i of graph b <->
coordinate x[b, i]); `batch` (num_nodes,) assigns nodes to graphs so top-k is per graph.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import nn
from torch_geometric.nn.pool.connect.filter_edges import filter_adj
from torch_geometric.nn.pool.select.topk import topk

from .gnn import GraphFilterBlock, SignalBatchTAGConv, shift_operator
from .layers import TimeEmbedding, mlp


class EdgeWeightsAndBatch(NamedTuple):
    """Edge weights plus the node -> graph assignment, passed where `gdm` passes edge_weight.

    `GDMSolver` calls its net as net(x_t, t, node_x, edge_index, edge_weight); ugnn's `_graph`
    returns this pair as `edge_weight` so the per-graph top-k gets the batch vector without
    changing the shared call sites.
    """

    edge_weight: torch.Tensor | None
    batch: torch.Tensor


def graph_power(edge_index: torch.Tensor, edge_weight: torch.Tensor | None, num_nodes: int,
                power: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges and weights of A^power (A[src, dst] = weight): the `power`-hop operator."""
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], device=edge_index.device)
    a = torch.sparse_coo_tensor(edge_index, edge_weight.float(), (num_nodes, num_nodes), check_invariants=False).coalesce()
    out = a
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        for _ in range(power - 1):
            out = torch.sparse.mm(out, a).coalesce()
    return out.indices(), out.values()


def reduce_graph(edge_index: torch.Tensor, edge_weight: torch.Tensor | None, num_nodes: int, keep: torch.Tensor,
                 stride: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The reduced operator D S^stride D^T on the nodes `keep` (relabelled 0..len(keep)-1 in that order)."""
    if stride > 1:
        edge_index, edge_weight = graph_power(edge_index, edge_weight, num_nodes, stride)
    return filter_adj(edge_index, edge_weight, keep, num_nodes=num_nodes)


class TopKSelect(nn.Module):
    """Learned node scores from the conditioning embedding (one graph filter + linear), top-k per graph."""

    def __init__(self, hidden: int, taps: int, ratio: float):
        super().__init__()
        self.ratio = ratio
        self.conv = SignalBatchTAGConv(hidden, hidden, K=taps, normalize=False)
        self.norm = nn.LayerNorm(hidden)
        self.act = nn.SiLU()
        self.score = nn.Linear(hidden, 1)

    def forward(self, c: torch.Tensor, shift: torch.Tensor, batch: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """c (n, F) -> (refined c (n, F), kept node indices (k,), gate (k,) in (-1, 1))."""
        c = c + self.act(self.norm(self.conv(c.unsqueeze(1), shift).squeeze(1)))
        score = self.score(c).squeeze(-1)
        keep = topk(score, self.ratio, batch)
        return c, keep, torch.tanh(score[keep])


class Level(NamedTuple):
    """One resolution of the hierarchy: its shift operator and node -> graph map, and how it was pooled."""

    shift: torch.Tensor
    shift_t: torch.Tensor  # its transpose, for blocks that also filter along reversed edges
    batch: torch.Tensor
    cond: torch.Tensor  # (n, F) conditioning embedding at this level
    keep: torch.Tensor | None  # indices into the finer level (None at level 0)
    gate: torch.Tensor | None


def unpool(z: torch.Tensor, keep: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Scatter coarse embeddings (k, ...) back to the kept indices of a level with num_nodes nodes; zeros elsewhere."""
    out = z.new_zeros((num_nodes,) + z.shape[1:])
    out[keep] = z
    return out


class UGNNDenoiser(nn.Module):
    """Predicts the network target (eps, x0 or v) for every node with a U-shaped GNN over `levels` poolings."""

    def __init__(self, node_features: int, timesteps: int, hidden: int = 128, levels: int = 2, layers: int = 1,
                 taps: int = 2, ratio: float = 0.5, stride: int = 2, normalize: bool = True,
                 both_directions: bool = True):
        super().__init__()
        self.levels, self.stride, self.normalize = levels, stride, normalize
        self.register_buffer("steps", torch.arange(timesteps), persistent=False)
        self.read_in = mlp([1 + node_features, hidden, hidden])
        self.cond_in = mlp([node_features, hidden, hidden])
        self.time = TimeEmbedding(hidden)

        def blocks() -> nn.ModuleList:
            return nn.ModuleList([GraphFilterBlock(hidden, taps, both_directions=both_directions)
                                  for _ in range(layers)])

        self.down = nn.ModuleList([blocks() for _ in range(levels)])
        self.pool = nn.ModuleList([TopKSelect(hidden, taps, ratio) for _ in range(levels)])
        self.cond_proj = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(levels)])
        self.mid = blocks()
        self.merge = nn.ModuleList([nn.Linear(2 * hidden, hidden) for _ in range(levels)])
        self.up = nn.ModuleList([blocks() for _ in range(levels)])
        self.read_out = mlp([hidden, hidden, 1])

    def hierarchy(self, node_x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None,
                  batch: torch.Tensor) -> list[Level]:
        """The levels 0..levels (graph operators, node selections, conditioning); independent of x_t."""
        n = node_x.shape[0]
        c = self.cond_in(node_x)
        levels = []
        keep = gate = None
        for b in range(self.levels + 1):
            shift = shift_operator(edge_index, edge_weight, n, self.normalize)
            shift_t = shift.t().coalesce()
            if b == self.levels:
                levels.append(Level(shift, shift_t, batch, c, keep, gate))
                break
            c, new_keep, new_gate = self.pool[b](c, shift, batch)
            levels.append(Level(shift, shift_t, batch, c, keep, gate))
            keep, gate = new_keep, new_gate
            edge_index, edge_weight = reduce_graph(edge_index, edge_weight, n, keep, self.stride)
            c, batch, n = c[keep] * gate[:, None], batch[keep], keep.numel()
        return levels

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, node_x: torch.Tensor, edge_index: torch.Tensor,
                edge_weight: torch.Tensor | EdgeWeightsAndBatch | None, batch: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x_t (M, num_nodes), t () or (M, num_nodes), node_x (num_nodes, F) -> (M, num_nodes).

        `batch` (num_nodes,) maps nodes to graphs (default: one graph), or comes inside `edge_weight`.
        """
        if isinstance(edge_weight, EdgeWeightsAndBatch):
            edge_weight, batch = edge_weight
        n = node_x.shape[0]
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=node_x.device)
        levels = self.hierarchy(node_x, edge_index, edge_weight, batch)

        x_t = x_t.transpose(0, 1)
        feats = torch.cat([x_t.unsqueeze(-1), node_x.unsqueeze(1).expand(-1, x_t.shape[1], -1)], dim=-1)
        t = t if t.dim() == 0 else t.transpose(0, 1)
        table = self.time(self.steps)  # (T, F)
        z = self.read_in(feats) + table[t]

        skips, times = [], []
        for b in range(self.levels):
            if b > 0:
                z = z + self.cond_proj[b - 1](levels[b].cond).unsqueeze(1)
            for block in self.down[b]:
                z = block(z, table, t, levels[b].shift, levels[b].shift_t)
            skips.append(z)
            times.append(t)
            nxt = levels[b + 1]
            z = z[nxt.keep] * nxt.gate[:, None, None]
            t = t if t.dim() == 0 else t[nxt.keep]
        if self.levels > 0:
            z = z + self.cond_proj[self.levels - 1](levels[-1].cond).unsqueeze(1)
        for block in self.mid:
            z = block(z, table, t, levels[-1].shift, levels[-1].shift_t)
        for b in reversed(range(self.levels)):
            skip, t = skips[b], times[b]
            z = self.merge[b](torch.cat([unpool(z, levels[b + 1].keep, skip.shape[0]), skip], dim=-1))
            for block in self.up[b]:
                z = block(z, table, t, levels[b].shift, levels[b].shift_t)
        return self.read_out(z).squeeze(-1).transpose(0, 1)

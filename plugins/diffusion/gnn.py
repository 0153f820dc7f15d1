"""The GDM denoiser of 2504.20277 (section IV): read-in MLP + time embedding, L TAGConv layers, readout MLP.

Layout: a noisy allocation batch is (M, num_nodes) for one torch-geometric batch of graphs
(M graph signals per graph, node i of graph b <-> coordinate x[b, i]). Inside the network
node embeddings are (num_nodes, M, F), so one sparse matmul shifts all M signals at once;
torch-geometric's scatter-based propagation is ~40x slower on CPU for this layout.
"""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import TAGConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from .layers import TimeEmbedding, mlp


def shift_operator(edge_index: torch.Tensor, edge_weight: torch.Tensor | None, num_nodes: int,
                   normalize: bool = True) -> torch.Tensor:
    """The graph shift operator S (sparse, S[i, j] = weight of edge j -> i), degree-normalized as in TAGConv."""
    if normalize:
        edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes, improved=False, add_self_loops=False)
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], device=edge_index.device)
    return torch.sparse_coo_tensor(edge_index.flip(0), edge_weight.float(), (num_nodes, num_nodes),
                                   check_invariants=False).coalesce()


class SignalBatchTAGConv(TAGConv):
    """TAGConv (sum_k S^k Z Theta_k) applied to M graph signals at once: z (num_nodes, M, F), S precomputed."""

    def forward(self, z: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, m, f = z.shape
        out = self.lins[0](z)
        for lin in self.lins[1:]:
            z = torch.sparse.mm(shift, z.reshape(n, m * f)).reshape(n, m, f)
            out = out + lin(z)
        return out if self.bias is None else out + self.bias


class GraphFilterBlock(nn.Module):
    """Z + act(norm(sum_k S^k Z Theta_k [+ sum_k (S^T)^k Z Phi_k] + time(t))): eq. (9) with normalization and a residual.

    With `both_directions`, a second filter runs on the transposed shift: edges point from
    interferer to victim, so without it a transmitter never hears from the receivers it
    hurts, which is what decides whether it should back off. The timestep is re-injected in
    every block (a per-layer projection of the time embedding) so deep layers know the noise
    level; the paper adds it only at the read-in.
    """

    def __init__(self, hidden: int, taps: int, both_directions: bool = False):
        super().__init__()
        self.conv = SignalBatchTAGConv(hidden, hidden, K=taps, normalize=False)
        self.conv_t = SignalBatchTAGConv(hidden, hidden, K=taps, normalize=False, bias=False) if both_directions else None
        self.time = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.act = nn.SiLU()

    def forward(self, z: torch.Tensor, table: torch.Tensor, t: torch.Tensor, shift: torch.Tensor,
                shift_t: torch.Tensor | None = None) -> torch.Tensor:
        """`table` holds the time embedding of every timestep; the projection runs on it, not on every node.

        `shift_t` (the transposed shift) is required when the block filters both directions.
        """
        h = self.conv(z, shift) + self.time(table)[t]
        if self.conv_t is not None:
            h = h + self.conv_t(z, shift_t)
        return z + self.act(self.norm(h))


class GDMDenoiser(nn.Module):
    """Predicts the network target (eps, x0 or v) for every node from x_t, t, node features and the graph."""

    def __init__(self, node_features: int, timesteps: int, hidden: int = 128, layers: int = 4, taps: int = 2,
                 normalize: bool = True, both_directions: bool = True):
        super().__init__()
        self.normalize = normalize
        self.register_buffer("steps", torch.arange(timesteps), persistent=False)
        self.read_in = mlp([1 + node_features, hidden, hidden])
        self.time = TimeEmbedding(hidden)
        self.blocks = nn.ModuleList([GraphFilterBlock(hidden, taps, both_directions) for _ in range(layers)])
        self.read_out = mlp([hidden, hidden, 1])

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, node_x: torch.Tensor, edge_index: torch.Tensor,
                edge_weight: torch.Tensor | None) -> torch.Tensor:
        """x_t (M, num_nodes), t () or (M, num_nodes), node_x (num_nodes, F) -> (M, num_nodes)."""
        n = node_x.shape[0]
        shift = shift_operator(edge_index, edge_weight, n, self.normalize)
        shift_t = shift.t().coalesce()
        x_t = x_t.transpose(0, 1)
        feats = torch.cat([x_t.unsqueeze(-1), node_x.unsqueeze(1).expand(-1, x_t.shape[1], -1)], dim=-1)
        t = t if t.dim() == 0 else t.transpose(0, 1)
        table = self.time(self.steps)  # (T, F): embeddings are looked up, never recomputed per node
        z = self.read_in(feats) + table[t]
        for block in self.blocks:
            z = block(z, table, t, shift, shift_t)
        return self.read_out(z).squeeze(-1).transpose(0, 1)

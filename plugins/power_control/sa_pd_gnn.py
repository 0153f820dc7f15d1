"""The graph network of `sa_pd`: powers from a network's graph view and the links' dual variables.

Edge-weighted graph filters in the style of TAGConv (Du et al. 2017), written out so that two edge
signals (the normalized log-gain and the interference ratio), along and against the edges, each get
their own taps. Every operation
is node-wise or a weighted mean over a node's incoming edges, so the network is permutation-equivariant
and one set of weights serves any N; the networks of a batch (and several dual draws per network)
go through in one pass.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

# Edge signals of the graph view fed to the filters: normalized log-gain, and the interference ratio
# H[j, i] / H[i, i] squashed into [0, 1) (it spans decades and exceeds 1 where an interferer dominates).
EDGE_SIGNALS = 2
# Each signal filters along the edges (what a receiver suffers) and against them (what a transmitter
# inflicts on the receivers it is among the strongest interferers of): a power decision needs both.
OPERATORS = 2 * EDGE_SIGNALS


def edge_signals(graph: Any) -> torch.Tensor:
    """(E, EDGE_SIGNALS) float edge inputs from the power_control graph view."""
    ratio = graph.interference_ratio.float()
    return torch.stack([graph.edge_weight.float(), ratio / (1.0 + ratio)], dim=-1)


def dense_adjacency(graph: Any, n_networks: int) -> torch.Tensor:
    """(B, OPERATORS, N, N) operators: A_s[b, i, j] = signal_s(j -> i) / in-degree(i), zero off the graph's edges,
    then their transposes.

    The graph view keeps each receiver's top-k interferers; a batch holds networks of one size N, so the
    sparse edges fit dense per-network matrices and each filter tap is one batched matrix product.
    """
    n = graph.num_nodes // n_networks
    source, target = graph.edge_index
    signals = edge_signals(graph)
    degree = torch.zeros(graph.num_nodes, device=signals.device).index_add_(0, target, torch.ones_like(signals[:, 0]))
    values = signals / degree[target].clamp(min=1.0).unsqueeze(-1)
    adjacency = torch.zeros(n_networks, n, n, EDGE_SIGNALS, device=signals.device)
    adjacency.index_put_((target // n, target % n, source % n), values, accumulate=True)
    adjacency = adjacency.permute(0, 3, 1, 2)
    return torch.cat([adjacency, adjacency.transpose(-1, -2)], dim=1).contiguous()


class EdgeFilter(nn.Module):
    """z' = W_0 z + sum_o sum_{k=1..K} W_{o,k} (A_o^k z): one polynomial graph filter per operator o of
    `dense_adjacency` ((A_s z)_i = mean over edges j -> i of signal_s(j, i) z_j, and the transposes)."""

    def __init__(self, width: int, taps: int):
        super().__init__()
        self.taps = taps
        self.weights = nn.ModuleList([nn.Linear(width, width) for _ in range(1 + OPERATORS * taps)])

    def forward(self, z: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """z (..., B, N, H) -> (..., B, N, H); adjacency (B, OPERATORS, N, N) broadcasts over the leading axes."""
        out = self.weights[0](z)
        index = 1
        for o in range(OPERATORS):
            shifted = z
            for _ in range(self.taps):
                shifted = adjacency[:, o] @ shifted
                out = out + self.weights[index](shifted)
                index += 1
        return out


class DualPolicyNet(nn.Module):
    """Node-wise encoder of (node features, dual variable), residual edge filters, a logit per node."""

    def __init__(self, node_features: int, hidden: int, layers: int, taps: int):
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(node_features + 1, hidden), nn.SiLU())
        self.filters = nn.ModuleList([EdgeFilter(hidden, taps) for _ in range(layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(layers)])
        self.readout = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, dual: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Logits (..., B, N) from node features x (B, N, F), normalized duals (..., B, N) and the operators."""
        z = self.encode(torch.cat([x.expand(*dual.shape, x.shape[-1]), dual.unsqueeze(-1)], dim=-1))
        for conv, norm in zip(self.filters, self.norms):
            z = z + nn.functional.silu(norm(conv(z, adjacency)))
        return self.readout(z).squeeze(-1)

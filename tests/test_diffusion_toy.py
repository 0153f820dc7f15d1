"""A toy problem with graph and flat views and a bimodal expert, plus the mode-recovery tests.

Other diffusion / discriminative tests import `ToyProblem` and `bimodal_expert` from here.
"""
from __future__ import annotations

from typing import Iterator

import pytest
import torch
from torch_geometric.data import Batch, Data

from wrbench.api import Box, Context, Instances, Problem

MODES = torch.tensor([[0.1, 0.9], [0.9, 0.1]])


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """These models are tiny: one intra-op thread avoids OpenMP spin-waits on a shared CPU (5-10x faster)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class ToyProblem(Problem):
    """B instances of N coordinates in [0, 1]^N with random node features and a dense graph."""

    name = "toy"
    views = frozenset({"graph", "flat"})

    def make_instances(self, split: str, n: int, seed: int, nodes: int = 2) -> Instances:
        gen = torch.Generator().manual_seed(seed)
        return Instances({"feat": torch.rand(n, nodes, 2, generator=gen)}, {"f_min": 0.5})

    def decision_set(self, instances: Instances) -> Box:
        B, N, _ = instances.arrays["feat"].shape
        return Box(torch.zeros(B, N), torch.ones(B, N))

    def decision_dim(self, instances: Instances) -> int:
        return instances.arrays["feat"].shape[1]

    def graph(self, instances: Instances) -> Batch:
        graphs = []
        for feat in instances.arrays["feat"]:
            N = feat.shape[0]
            src, dst = torch.meshgrid(torch.arange(N), torch.arange(N), indexing="ij")
            edge_index = torch.stack([src.reshape(-1), dst.reshape(-1)])
            weight = (feat[src.reshape(-1), 0] * feat[dst.reshape(-1), 1]).abs() + 0.1
            x = torch.cat([feat, torch.full((N, 1), instances.attrs["f_min"])], dim=-1)
            graphs.append(Data(x=x, edge_index=edge_index, edge_weight=weight, num_nodes=N))
        return Batch.from_data_list(graphs)

    def flat(self, instances: Instances) -> torch.Tensor:
        return instances.arrays["feat"].reshape(len(instances), -1)


def bimodal_expert(B: int, S: int, seed: int = 0) -> torch.Tensor:
    """(B, S, 2) samples, each one of two opposite corners-ish points with a little noise."""
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(2, (B, S), generator=gen)
    return (MODES[pick] + 0.02 * torch.randn(B, S, 2, generator=gen)).clamp(0, 1)


def mode_shares(x: torch.Tensor) -> torch.Tensor:
    """Share of samples within 0.2 of each mode, and of samples near neither."""
    dist = (x.reshape(-1, 1, 2) - MODES).norm(dim=-1)
    near = dist < 0.2
    return torch.stack([near[:, 0].float().mean(), near[:, 1].float().mean(), (~near.any(-1)).float().mean()])


def _fit_and_sample(solver, seed: int = 0) -> torch.Tensor:
    problem = ToyProblem()
    train = problem.make_instances("train", 8, seed=1)
    test = problem.make_instances("test", 4, seed=2)
    ctx = Context(seed=seed)
    solver.fit(problem, train, bimodal_expert(8, 64), ctx)
    return solver.sample(problem, test, 200, ctx)


def test_gdm_recovers_both_modes() -> None:
    from wrbench_plugins.diffusion.gdm import GDMSolver

    solver = GDMSolver(hidden=32, layers=2, train_steps=200, lr=3e-3, diffusion_steps=50, sample_steps=20, data_scale=1.0,
                       prediction="v")
    shares = mode_shares(_fit_and_sample(solver))
    assert shares[0] > 0.3 and shares[1] > 0.3 and shares[2] < 0.2, shares


def test_cfg_recovers_both_modes() -> None:
    from wrbench_plugins.diffusion.cfg import CFGSolver

    solver = CFGSolver(hidden=64, depth=2, train_steps=200, lr=3e-3, diffusion_steps=50, sample_steps=20, guidance=0.0,
                       data_scale=1.0, prediction="v")
    shares = mode_shares(_fit_and_sample(solver))
    assert shares[0] > 0.3 and shares[1] > 0.3 and shares[2] < 0.2, shares

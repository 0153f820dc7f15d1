"""ugnn: pooling / unpooling shapes, permutation equivariance of the blocks and the U-GNN, solver round trip, conformance."""
from __future__ import annotations

import math

import pytest
import torch
from test_diffusion_toy import ToyProblem
from wrbench_plugins.diffusion.gnn import GraphFilterBlock, shift_operator
from wrbench_plugins.diffusion.ugnn import UGNNSolver
from wrbench_plugins.diffusion.unet import EdgeWeightsAndBatch, UGNNDenoiser, reduce_graph, unpool

from wrbench.api import Context

FEATURES, STEPS = 3, 10
SMALL = dict(hidden=8, layers=1, levels=2, train_steps=2, diffusion_steps=10, sample_steps=3, batch_samples=4)


def random_graphs(sizes: list[int], seed: int = 0, degree: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of random directed graphs with self loops: node features, edge_index, edge_weight, batch."""
    gen = torch.Generator().manual_seed(seed)
    edges, offset = [], 0
    for n in sizes:
        src = torch.randint(n, (n * degree,), generator=gen)
        dst = torch.arange(n).repeat_interleave(degree)
        keep = src != dst
        loops = torch.arange(n)
        edges.append(torch.stack([torch.cat([src[keep], loops]), torch.cat([dst[keep], loops])]) + offset)
        offset += n
    edge_index = torch.cat(edges, dim=1)
    weight = torch.rand(edge_index.shape[1], generator=gen) + 0.1
    x = torch.randn(offset, FEATURES, generator=gen)
    batch = torch.cat([torch.full((n,), b) for b, n in enumerate(sizes)])
    return x, edge_index, weight, batch


def net(levels: int = 2, ratio: float = 0.5, stride: int = 2) -> UGNNDenoiser:
    torch.manual_seed(0)
    return UGNNDenoiser(FEATURES, STEPS, hidden=8, levels=levels, layers=1, taps=2, ratio=ratio, stride=stride).eval()


@pytest.mark.parametrize("sizes", [[1], [5], [7, 7], [4, 9, 2], [30, 30, 30]])
@pytest.mark.parametrize("stride", [1, 2])
def test_pooling_and_unpooling_shapes(sizes: list[int], stride: int) -> None:
    x, edge_index, weight, batch = random_graphs(sizes)
    model = net(levels=2, ratio=0.5, stride=stride)
    levels = model.hierarchy(x, edge_index, weight, batch)
    assert len(levels) == 3
    counts = list(sizes)
    for b in range(1, 3):
        counts = [math.ceil(0.5 * n) for n in counts]  # top-k keeps ceil(ratio * n) of every graph, at least 1
        level = levels[b]
        assert torch.equal(torch.bincount(level.batch, minlength=len(sizes)), torch.tensor(counts))
        finer = levels[b - 1]
        assert level.keep.unique().numel() == level.keep.numel() <= finer.batch.numel()
        assert torch.equal(level.batch, finer.batch[level.keep])  # nodes never change graph
        assert level.shift.shape == (sum(counts), sum(counts)) and level.cond.shape == (sum(counts), 8)
        assert level.gate.shape == (sum(counts),) and (level.gate.abs() < 1).all()
        up = unpool(torch.ones(level.keep.numel(), 3, 2), level.keep, finer.batch.numel())
        assert up.shape == (finer.batch.numel(), 3, 2) and up.sum() == level.keep.numel() * 6
    m = 4
    out = model(torch.randn(m, x.shape[0]), torch.randint(STEPS, (m, x.shape[0])), x, edge_index, weight, batch)
    assert out.shape == (m, x.shape[0]) and torch.isfinite(out).all()


def test_reduced_operator_is_induced_power() -> None:
    x, edge_index, weight, _ = random_graphs([6], seed=3)
    dense = torch.zeros(6, 6)
    dense.index_put_((edge_index[0], edge_index[1]), weight, accumulate=True)  # repeated edges add up
    keep = torch.tensor([4, 1, 3])
    for stride in (1, 2):
        ei, w = reduce_graph(edge_index, weight, 6, keep, stride)
        got = torch.zeros(3, 3)
        got.index_put_((ei[0], ei[1]), w, accumulate=True)
        expected = torch.linalg.matrix_power(dense, stride)[keep][:, keep]
        assert torch.allclose(got, expected, atol=1e-6)


def test_batch_rides_in_edge_weight() -> None:
    x, edge_index, weight, batch = random_graphs([5, 6])
    model, x_t, t = net(), torch.randn(2, 11), torch.tensor(3)
    assert torch.equal(model(x_t, t, x, edge_index, weight, batch),
                       model(x_t, t, x, edge_index, EdgeWeightsAndBatch(weight, batch)))


def _permuted(x, edge_index, weight, batch, perm):
    """The same graphs with node i renamed inv[i] (new node j is old node perm[j])."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    return x[perm], inv[edge_index], weight, batch[perm]


def test_graph_filter_block_is_permutation_equivariant() -> None:
    torch.manual_seed(1)
    x, edge_index, weight, batch = random_graphs([9])
    n, m, f = 9, 3, 8
    block = GraphFilterBlock(f, taps=3, both_directions=True).eval()
    table, t = torch.randn(STEPS, f), torch.randint(STEPS, (n, m))
    z = torch.randn(n, m, f)
    shift = shift_operator(edge_index, weight, n)
    out = block(z, table, t, shift, shift.t().coalesce())
    perm = torch.randperm(n)
    _, pei, _, _ = _permuted(x, edge_index, weight, batch, perm)
    pshift = shift_operator(pei, weight, n)
    pout = block(z[perm], table, t[perm], pshift, pshift.t().coalesce())
    assert torch.allclose(pout, out[perm], atol=1e-5)


@pytest.mark.parametrize("sizes", [[12], [8, 10]])
def test_ugnn_is_permutation_equivariant(sizes: list[int]) -> None:
    """Random float scores are tie-free, so top-k picks the same nodes whatever their order."""
    x, edge_index, weight, batch = random_graphs(sizes, seed=5)
    n, m = x.shape[0], 3
    model = net(levels=2, ratio=0.5, stride=2)
    x_t, t = torch.randn(m, n), torch.randint(STEPS, (m, n))
    out = model(x_t, t, x, edge_index, weight, batch)
    # permute within each graph, keeping graphs contiguous as in a torch-geometric batch
    gen = torch.Generator().manual_seed(2)
    offsets = torch.cumsum(torch.tensor([0] + sizes), 0)
    perm = torch.cat([o + torch.randperm(s, generator=gen) for o, s in zip(offsets[:-1].tolist(), sizes)])
    px, pei, pw, pb = _permuted(x, edge_index, weight, batch, perm)
    pout = model(x_t[:, perm], t[:, perm], px, pei, pw, pb)
    assert torch.allclose(pout, out[:, perm], atol=1e-5)
    # and the kept node sets are the same nodes
    kept = model.hierarchy(x, edge_index, weight, batch)[1].keep
    pkept = model.hierarchy(px, pei, pw, pb)[1].keep
    assert set(perm[pkept].tolist()) == set(kept.tolist())


@pytest.mark.parametrize("nodes", [2, 9])
def test_solver_shapes_in_box(nodes: int) -> None:
    problem = ToyProblem()
    train = problem.make_instances("train", 3, seed=0, nodes=nodes)
    test = problem.make_instances("test", 2, seed=1, nodes=nodes)
    solver = UGNNSolver(**SMALL)
    solver.fit(problem, train, torch.rand(3, 6, nodes, generator=torch.Generator().manual_seed(nodes)), Context(seed=0))
    x = solver.sample(problem, test, 4, Context(seed=1))
    assert x.shape == (2, 4, nodes) and torch.isfinite(x).all()
    assert problem.decision_set(test).contains(x).all()


def test_ugnn_is_conformant_on_power_control() -> None:
    testing = pytest.importorskip("wrbench.testing")
    results = testing.assert_conformant(
        "ugnn", problems=["power_control"],
        params={"train_steps": 3, "hidden": 16, "layers": 1, "levels": 2, "diffusion_steps": 8, "sample_steps": 2,
                "batch_samples": 4},
        n_train=8, n_test=3, n_samples=3, expert_samples=4)
    assert any(r.check == "output" and r.status == "passed" for r in results)


@pytest.fixture(scope="module")
def registry():
    from wrbench.core.plugins import load_plugins

    return load_plugins(entry_points=True)


@pytest.mark.parametrize("name", ["power_control_qos", "power_control_transfer", "power_control_paper_gpu"])
def test_issue9_suites_validate(registry, name: str) -> None:
    from pathlib import Path

    from wrbench.run.suite import read_suite

    # the GPU suite must validate on a CPU-only machine too, as `wrbench collect` does
    suite = read_suite(Path(__file__).resolve().parents[1] / "suites" / f"{name}.yaml", registry, check_device=False)
    assert {"ugnn", "gdm", "full_power", "wmmse"} <= {s.name for s in suite.solvers}

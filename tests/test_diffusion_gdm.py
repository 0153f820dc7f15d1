"""gdm: shapes for several N, box handling, reproducibility, save/load, and the batched TAGConv."""
from __future__ import annotations

import io

import pytest
import torch
from test_diffusion_toy import ToyProblem, bimodal_expert, one_thread
from test_ugnn import SMALL as UGNN_SMALL
from torch_geometric.nn import TAGConv
from wrbench_plugins.diffusion.gdm import GDMSolver
from wrbench_plugins.diffusion.gnn import SignalBatchTAGConv, shift_operator
from wrbench_plugins.diffusion.ugnn import UGNNSolver

from wrbench.api import Context

__all__ = ["one_thread"]  # the shared fixture, imported to apply here too
SMALL = dict(hidden=16, layers=2, train_steps=5, diffusion_steps=20, sample_steps=5)


def _expert(B: int, N: int) -> torch.Tensor:
    return torch.rand(B, 6, N, generator=torch.Generator().manual_seed(N))


@pytest.mark.parametrize("nodes", [2, 5, 9])
def test_shapes_in_box_for_several_n(nodes: int) -> None:
    problem = ToyProblem()
    train = problem.make_instances("train", 3, seed=0, nodes=nodes)
    test = problem.make_instances("test", 2, seed=1, nodes=nodes)
    solver = GDMSolver(**SMALL)
    solver.fit(problem, train, _expert(3, nodes), Context(seed=0))
    x = solver.sample(problem, test, 4, Context(seed=1))
    assert x.shape == (2, 4, nodes) and torch.isfinite(x).all()
    assert problem.decision_set(test).contains(x).all()
    assert 0.0 <= solver.diagnostics["clamped_frac"] <= 1.0


def test_one_model_serves_other_n() -> None:
    problem = ToyProblem()
    solver = GDMSolver(**SMALL)
    solver.fit(problem, problem.make_instances("train", 3, seed=0, nodes=4), _expert(3, 4), Context(seed=0))
    assert solver.sample(problem, problem.make_instances("test", 2, seed=1, nodes=7), 3, Context(seed=1)).shape == (2, 3, 7)


@pytest.mark.parametrize("solver_cls, small", [(GDMSolver, SMALL), (UGNNSolver, UGNN_SMALL)], ids=["gdm", "ugnn"])
def test_reproducible_and_save_load_round_trip(solver_cls, small) -> None:
    problem = ToyProblem()
    train, test = problem.make_instances("train", 4, seed=0), problem.make_instances("test", 3, seed=1)
    expert = bimodal_expert(4, 16)
    a, b = solver_cls(**small), solver_cls(**small)
    a.fit(problem, train, expert, Context(seed=7))
    b.fit(problem, train, expert, Context(seed=7))
    xa = a.sample(problem, test, 5, Context(seed=2))
    assert torch.equal(xa, b.sample(problem, test, 5, Context(seed=2)))
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    # other defaults: the stored fit hyper-parameters win; sampling ones stay the instance's own
    c = solver_cls(sample_steps=small["sample_steps"])
    c.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(xa, c.sample(problem, test, 5, Context(seed=2)))


def test_batched_tagconv_matches_torch_geometric() -> None:
    torch.manual_seed(0)
    n, m, f = 12, 3, 8
    edge_index = torch.randint(n, (2, 40))
    weight = torch.rand(40)
    ours = SignalBatchTAGConv(f, f, K=2, normalize=False)
    ref = TAGConv(f, f, K=2, normalize=True)
    ref.load_state_dict(ours.state_dict())
    z = torch.randn(n, m, f)
    out = ours(z, shift_operator(edge_index, weight, n, normalize=True))
    expected = torch.stack([ref(z[:, i], edge_index, weight) for i in range(m)], dim=1)
    assert torch.allclose(out, expected, atol=1e-5)


def test_plugins_register_their_solvers() -> None:
    import wrbench_plugins.diffusion as diffusion
    import wrbench_plugins.discriminative as discriminative

    found: list[type] = []
    diffusion.register_solvers(found.append)
    discriminative.register_solvers(found.append)
    assert {"gdm", "cfg", "discriminative"} <= {c.name for c in found}
    assert diffusion.WRBENCH_API_VERSION == discriminative.WRBENCH_API_VERSION == "1.0"
    gdm = next(c for c in found if c.name == "gdm")
    assert gdm.requires == frozenset({"graph"}) and gdm.needs_expert and gdm.stochastic


def test_shift_weights_follow_the_interference_ratio() -> None:
    """`auto` on power_control: S[i, j] = min(H[j, i] / H[i, i], 1) ** exponent; graphs without the ratio keep edge_weight."""
    from wrbench_plugins.diffusion.gdm import shift_weights
    from wrbench_plugins.power_control.problem import PowerControl

    problem = PowerControl(n_pairs=6, k_neighbors=3)
    inst = problem.make_instances("test", 2, seed=0)
    graph = problem.graph(inst)
    H = inst.arrays["H"]
    network, (src, dst) = graph.batch[graph.edge_index[0]], graph.edge_index % 6
    expected = (H[network, src, dst] / H[network, dst, dst]).clamp(max=1.0).sqrt()
    assert torch.allclose(shift_weights(graph, "auto", 0.5), expected.float(), rtol=1e-5)
    assert torch.equal(shift_weights(graph, "log_gain", 0.5), graph.edge_weight)
    toy = ToyProblem().graph(ToyProblem().make_instances("test", 1, seed=0, nodes=3))
    assert torch.equal(shift_weights(toy, "auto", 0.5), toy.edge_weight.float())
    with pytest.raises(ValueError, match="interference_ratio"):
        shift_weights(toy, "interference", 0.5)


@pytest.mark.parametrize("solver_cls, small", [(GDMSolver, SMALL), (UGNNSolver, UGNN_SMALL)], ids=["gdm", "ugnn"])
@pytest.mark.parametrize("sampler", ["ddim", "dpm_solver", "ddpm"])
def test_a_network_samples_alike_alone_and_in_any_batch(solver_cls, small, sampler) -> None:
    """Per-network noise: the single-network latency times the computation the batched row scores."""
    problem = ToyProblem()
    train, test = problem.make_instances("train", 4, seed=0), problem.make_instances("test", 3, seed=1)
    solver = solver_cls(**{**small, "sampler": sampler})
    solver.fit(problem, train, bimodal_expert(4, 16), Context(seed=7))
    batched = solver.sample(problem, test, 5, Context(seed=2))
    for b in range(len(test)):
        alone = solver.sample(problem, test.select([b]), 5, Context(seed=2))
        torch.testing.assert_close(alone[0], batched[b], rtol=1e-4, atol=1e-5)
    reversed_batch = solver.sample(problem, test.select([2, 1, 0]), 5, Context(seed=2))
    torch.testing.assert_close(reversed_batch.flip(0), batched, rtol=1e-4, atol=1e-5)
    assert not torch.equal(batched[0], batched[1])  # networks still get noise of their own

"""cfg: guidance algebra, the budget codec (exact zeros, feasibility) and the solver on budget problems."""
from __future__ import annotations

import io

import pytest
import torch
from test_diffusion_toy import ToyProblem, bimodal_expert, one_thread
from wrbench_plugins.diffusion.base import Codec
from wrbench_plugins.diffusion.cfg import CFGSolver

from wrbench.api import Budget, Context, Instances

__all__ = ["one_thread"]  # the shared fixture, imported to apply here too
SMALL = dict(hidden=16, depth=1, train_steps=5, diffusion_steps=20, sample_steps=5, batch_size=32)


class ToyBudget(ToyProblem):
    """The toy instances with a total-power budget instead of a box."""

    views = frozenset({"flat"})

    def decision_set(self, instances: Instances) -> Budget:
        return Budget(torch.full((len(instances),), 2.0))


def test_guidance_zero_is_the_conditional_model() -> None:
    problem = ToyProblem()
    solver = CFGSolver(**SMALL)
    solver.fit(problem, problem.make_instances("train", 4, seed=0), bimodal_expert(4, 8), Context(seed=0))
    cond = torch.randn(6, 4)
    x, t = torch.randn(6, 2), torch.tensor(7)
    ones = torch.ones(6, 1)
    conditional = solver.net(x, t, cond, ones)
    unconditional = solver.net(x, t, cond, torch.zeros(6, 1))
    assert torch.equal(solver.guided(cond, 0.0)(x, t), conditional)
    assert torch.allclose(solver.guided(cond, 2.0)(x, t), 3 * conditional - 2 * unconditional, atol=1e-6)
    assert not torch.allclose(conditional, unconditional)


def test_budget_codec_round_trip_and_feasibility() -> None:
    codec = Codec(Budget(torch.tensor([2.0, 5.0])), scale=1.0)
    x = torch.tensor([[[0.0, 2.0], [0.5, 0.5]], [[1.0, 0.0], [0.0, 0.0]]])
    back, diag = codec.decode(codec.encode(x))
    assert torch.allclose(back, x, atol=1e-6) and diag["infeasible_frac"] == 0.0
    wild, diag = codec.decode(3 * torch.randn(2, 50, 3, generator=torch.Generator().manual_seed(0)))
    assert Budget(torch.tensor([2.0, 5.0])).contains(wild).all() and diag["infeasible_frac"] > 0
    assert (wild == 0).any()


def test_cfg_on_budget_problem_save_load() -> None:
    problem = ToyBudget()
    train, test = problem.make_instances("train", 4, seed=0), problem.make_instances("test", 3, seed=1)
    solver = CFGSolver(**SMALL, guidance=1.0)
    solver.fit(problem, train, 2.0 * bimodal_expert(4, 8) / 2, Context(seed=0))
    x = solver.sample(problem, test, 5, Context(seed=3))
    assert x.shape == (3, 5, 2) and problem.decision_set(test).contains(x).all()
    assert "infeasible_frac" in solver.diagnostics
    buffer = io.BytesIO()
    torch.save(solver.state_dict(), buffer)
    buffer.seek(0)
    other = CFGSolver(sample_steps=SMALL["sample_steps"], guidance=1.0)  # fit hyper-parameters come from the state
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(x, other.sample(problem, test, 5, Context(seed=3)))


def test_box_codec_boundary_push_snaps_back() -> None:
    from wrbench.api import Box

    box = Box(torch.zeros(1, 3), torch.full((1, 3), 2.0))
    codec = Codec(box, scale=1.0, push=0.2)
    x = torch.tensor([[[0.0, 1.0, 2.0]]])
    y = codec.encode(x)
    assert torch.allclose(y, torch.tensor([[[-1.4, 0.0, 1.4]]]))
    assert codec.clip(3) == pytest.approx((-1.4, 1.4))
    back, diag = codec.decode(y)
    assert torch.equal(back, x) and diag["clamped_frac"] == pytest.approx(2 / 3)


def test_a_network_samples_alike_alone_and_in_a_batch() -> None:
    problem = ToyBudget()
    train, test = problem.make_instances("train", 4, seed=0), problem.make_instances("test", 3, seed=1)
    solver = CFGSolver(**SMALL, eta=1.0)
    solver.fit(problem, train, bimodal_expert(4, 8), Context(seed=0))
    batched = solver.sample(problem, test, 4, Context(seed=3))
    for b in range(len(test)):
        torch.testing.assert_close(solver.sample(problem, test.select([b]), 4, Context(seed=3))[0], batched[b],
                                   rtol=1e-4, atol=1e-5)

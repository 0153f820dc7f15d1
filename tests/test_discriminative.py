"""discriminative: deterministic, collapses a bimodal expert to its mean, saves and loads."""
from __future__ import annotations

import io

import torch
from test_diffusion_toy import ToyProblem, bimodal_expert, mode_shares, one_thread
from wrbench_plugins.discriminative.solver import DiscriminativeSolver

from wrbench.api import Context

__all__ = ["one_thread"]  # the shared fixture, imported to apply here too


def _fit(view: str) -> tuple[DiscriminativeSolver, ToyProblem, torch.Tensor]:
    problem = ToyProblem()
    solver = DiscriminativeSolver(hidden=32, layers=2, train_steps=150, view=view)
    solver.fit(problem, problem.make_instances("train", 8, seed=1), bimodal_expert(8, 64), Context(seed=0))
    test = problem.make_instances("test", 4, seed=2)
    return solver, problem, solver.sample(problem, test, 10, Context(seed=1))


def test_regressor_collapses_to_the_mean() -> None:
    for view in ("graph", "flat"):
        solver, _, x = _fit(view)
        assert not solver.stochastic
        assert x.shape == (4, 10, 2) and torch.equal(x, x[:, :1].expand_as(x))
        assert mode_shares(x)[2] >= 0.5  # mostly between the modes, where no expert sample lies
        assert float((x - 0.5).abs().mean()) < 0.2


def test_save_load_round_trip() -> None:
    solver, problem, x = _fit("graph")
    buffer = io.BytesIO()
    torch.save(solver.state_dict(), buffer)
    buffer.seek(0)
    other = DiscriminativeSolver()
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(x, other.sample(problem, problem.make_instances("test", 4, seed=2), 10, Context(seed=1)))


def test_conformant() -> None:
    from wrbench.testing import assert_conformant

    assert_conformant("discriminative", params={"train_steps": 3, "hidden": 8, "layers": 1})

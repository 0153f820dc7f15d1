"""`select:`: a policy keeps the best of K draws (feasible first) and may complete each draw exactly first."""
from __future__ import annotations

import json

import pytest
import torch
import yaml
from select_plugin import CAP, TogglePick, Uniform
from toy_plugin import Half

from wrbench.api import Context
from wrbench.core.checks import CellInvalid
from wrbench.core.selection import Selection, best_of, sample_selected
from wrbench.core.weights import WeightedSamples
from wrbench.params import resolve

PLUGINS = ("toy_plugin", "select_plugin")
SUITE = {
    "name": "toy_select", "seed": 0, "repetitions": 1,
    "problem": {"name": "toy_pick", "params": {"dim": 3}, "instances": {"train": 8, "test": 6}},
    "expert": {"name": "toy_pick_expert", "samples": 2},
    "solvers": [{"name": "toy_uniform"},
                {"name": "toy_uniform", "label": "best16", "select": {"candidates": 16}},
                {"name": "toy_uniform", "label": "best16-completed", "select": {"candidates": 16, "complete": True}}],
    "evaluation": {"samples": 4},
}


def test_best_of_prefers_feasible_candidates_then_merit() -> None:
    merit = torch.tensor([[3.0, 1.0, 2.0, 5.0, float("nan"), 4.0]])
    feasible = torch.tensor([[False, True, True, False, False, False]])
    # group 1: the best feasible (merit 2), not the best overall (3); group 2: none feasible, the best merit (5);
    # NaN counts as the worst merit
    assert best_of(merit, feasible, 3).tolist() == [[2, 3]]
    assert best_of(torch.full((1, 2), -torch.inf), torch.tensor([[False, True]]), 2).tolist() == [[1]]


def _problem_and_instances():
    problem = TogglePick({"dim": 3})
    return problem, problem.make_instances("test", 5, seed=1)


def test_selection_keeps_the_best_feasible_draw_of_each_group() -> None:
    problem, instances = _problem_and_instances()
    ctx, k, n = Context(7), 8, 3
    params = resolve(problem.eval_parameters, {})
    drawn = Uniform().sample(problem, instances, n * k, ctx).view(5, n, k, 3)
    chosen = sample_selected(Uniform(), problem, instances, n, ctx, Selection(k), params)
    assert chosen.shape == (5, n, 3)
    score = problem.score(instances, drawn.flatten(1, 2), None).view(5, n, k)
    ok = drawn[..., 0] <= CAP
    for b in range(5):
        for s in range(n):
            pool = score[b, s][ok[b, s]] if ok[b, s].any() else score[b, s]
            best = int(torch.nonzero(score[b, s] == pool.max())[0])
            torch.testing.assert_close(chosen[b, s], drawn[b, s, best])


def test_completion_runs_before_selection_and_alone() -> None:
    problem, instances = _problem_and_instances()
    params = resolve(problem.eval_parameters, {})
    completed = sample_selected(Uniform(), problem, instances, 4, Context(3), Selection(1, complete=True), params)
    torch.testing.assert_close(completed[..., 1:], instances.arrays["c"][:, 1:].unsqueeze(1).expand(-1, 4, -1))
    half = sample_selected(Half(), problem, instances, 2, Context(3), Selection(4, complete=True), params)
    assert (half[..., 0] == 0.5).all()  # the first coordinate is the policy's own; the rest completed
    torch.testing.assert_close(half[..., 1:], instances.arrays["c"][:, 1:].unsqueeze(1).expand(-1, 2, -1))


def test_weighted_samples_cannot_be_selected() -> None:
    class Mixture(Uniform):
        def sample(self, problem, instances, n_samples, ctx):
            x = super().sample(problem, instances, n_samples, ctx)
            return WeightedSamples(x, torch.full(x.shape[:2], 1.0 / n_samples, dtype=torch.float64))

    problem, instances = _problem_and_instances()
    with pytest.raises(CellInvalid, match="weighted samples"):
        sample_selected(Mixture(), problem, instances, 2, Context(0), Selection(4), resolve(problem.eval_parameters, {}))


def _run(wrbench, tmp_path, **changes):
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump({**SUITE, **changes}, sort_keys=False))
    return wrbench("run", "suite.yaml", "-o", "out", "-q", plugins=PLUGINS)


def test_a_suite_row_with_select_scores_its_selected_draws_in_its_timed_sampling(wrbench, tmp_path):
    result = _run(wrbench, tmp_path)
    assert result.exit_code == 0, result.output
    board = {row["label"]: row for row in json.loads((tmp_path / "out" / "leaderboard.json").read_text())["rows"]}
    score = {label: board[label]["score"] for label in ("toy_uniform", "best16", "best16-completed")}
    assert score["toy_uniform"] < score["best16"] < score["best16-completed"]
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    seconds = {r["entry"]: r["metrics"]["test"]["sample_seconds_per_network"] for r in records if r["entry"] != "expert"}
    assert seconds["best16"] > 0 and seconds["best16-completed"] > 0


@pytest.mark.parametrize("select, message", [
    ({"candidates": 0}, "solvers[1].select.candidates: must be >= 1"),
    ({"candidates": 2000}, "must be <= 1024"),
    ({"candidates": 2, "complete": "yes"}, "solvers[1].select.complete: expected true or false"),
    ({}, "solvers[1].select: selects nothing"),
    ({"candidates": 4, "keep": 1}, "solvers[1].select.keep: unknown key"),
])
def test_a_malformed_select_is_refused_before_any_work(wrbench, tmp_path, select, message):
    solvers = [SUITE["solvers"][0], {"name": "toy_uniform", "label": "picked", "select": select}]
    result = _run(wrbench, tmp_path, solvers=solvers)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_select_needs_a_problem_that_scores_candidates(wrbench, tmp_path):
    problem = {**SUITE["problem"], "name": "toy"}
    expert = {"name": "toy_expert", "samples": 2}
    solvers = [{"name": "toy_half", "select": {"candidates": 4}}, {"name": "toy_mean", "select": {"complete": True}}]
    result = _run(wrbench, tmp_path, problem=problem, expert=expert, solvers=solvers)
    assert result.exit_code == 2, result.output
    assert "problem 'toy' cannot score candidate decisions" in result.output
    assert "problem 'toy' offers no exact completion" in result.output

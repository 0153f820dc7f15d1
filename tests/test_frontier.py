"""Cost-quality frontiers: a suite sweeps policies' budget parameters over one fit, on the same networks."""
from __future__ import annotations

import json
import math

import pytest
import yaml

from wrbench.report.frontier import matched_expert, reaches_expert
from wrbench.report.ranking import RankingRule

PLUGINS = ("toy_plugin", "frontier_plugin")
SUITE = {
    "name": "toy_frontier", "seed": 0, "repetitions": 2, "rank_by": "score",
    "problem": {"name": "toy", "params": {"dim": 3}, "instances": {"train": 16, "test": 6}},
    "expert": {"name": "toy_iterative", "samples": 4},
    "solvers": [{"name": "toy_steps"}, {"name": "toy_half"}],
    "evaluation": {"samples": 3},
    "frontier": [{"policy": "toy_steps", "values": [1, 2, 4, 8]}, {"policy": "toy_iterative", "values": [1, 12, 20]}],
}


def _run(wrbench, tmp_path, **changes):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({**SUITE, **changes}, sort_keys=False))
    return wrbench("run", str(path), "-o", "out", "-q", plugins=PLUGINS)


def _records(tmp_path):
    return [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]


def test_a_sweep_reuses_one_fit_per_repetition_and_scores_every_point_on_the_same_networks(wrbench, tmp_path):
    result = _run(wrbench, tmp_path)
    assert result.exit_code == 0, result.output
    records = _records(tmp_path)
    curve = [r for r in records if r["entry"].startswith("toy_steps")]
    assert sorted({r["entry"] for r in curve}) == ["toy_steps", "toy_steps+steps=1", "toy_steps+steps=2",
                                                   "toy_steps+steps=8"]  # 4 is the solver's own row
    for rep in (0, 1):
        fitted = [r for r in curve if r["rep"] == rep]
        assert sum(not r["fit_cached"] for r in fitted) == 1, "one fit per repetition, every other point reuses it"
        assert len({r["fit_seconds"] for r in fitted}) == 1
        # common random numbers: every point of both curves is scored on the same networks and draws
        same_rep = [r for r in records if r["rep"] == rep and r["status"] == "ok"]
        assert len({json.dumps(r["fingerprints"], sort_keys=True) for r in same_rep}) == 1
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    points = [p for p in board["frontier"] if p["solver"] == "toy_steps"]
    assert sorted(p["budget"] for p in points) == [1, 2, 4, 8]
    assert all(p["single_seconds_per_network"] > 0 and p["sample_seconds_per_network"] > 0 for p in points)
    # more halvings land closer to the learned target: the score rises with the budget
    scores = {p["budget"]: p["score"] for p in points}
    assert scores[1] < scores[2] < scores[4] < scores[8]
    # budget entries are points, not rows of the ranked table
    assert not any("+" in row["label"] for row in board["rows"])
    assert (tmp_path / "out" / "plots" / "test_frontier.png").stat().st_size > 0


def test_the_speedup_is_taken_against_the_cheapest_expert_budget_that_reaches_its_quality(wrbench, tmp_path):
    assert _run(wrbench, tmp_path).exit_code == 0
    board = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    expert_points = {p["budget"]: p for p in board["frontier"] if p["solver"] == "toy_iterative (expert)"}
    assert set(expert_points) == {1, 12, 20}  # the expert's own budget (12) is an entry of its own
    # one halving leaves the expert far from its 12-halving self; 12 and 20 match it to ~1e-4
    assert not expert_points[1]["reaches_expert"]
    assert expert_points[12]["reaches_expert"] and expert_points[20]["reaches_expert"]
    matched = board["meta"]["matched_expert"]["test"]
    reaching = [p for p in expert_points.values() if p["reaches_expert"]]
    assert matched["seconds"] == min(p["sample_seconds_per_network"] for p in reaching)
    for row in board["rows"]:
        assert math.isclose(row["speedup"], matched["seconds"] / row["sample_seconds_per_network"], rel_tol=1e-9)
    assert "cheapest budget on the expert's frontier" in board["meta"]["metric_definitions"]["speedup"]
    markdown = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "### Cost-quality frontier `test`" in markdown and "toy_steps @ steps=8" in markdown
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "Cost-quality frontier" in page and "toy_steps @ steps=8" in page and "frontier-test" in page


def test_reaching_the_expert_needs_quality_within_the_interval_and_the_constraint_met():
    rule = RankingRule("mean_rate", True, "violation", 0.01)
    assert reaches_expert({"mean_rate_diff": -0.01, "mean_rate_diff_ci": [-0.03, 0.01], "violation": 0.0}, rule)
    assert not reaches_expert({"mean_rate_diff": -0.02, "mean_rate_diff_ci": [-0.03, -0.01], "violation": 0.0}, rule)
    assert not reaches_expert({"mean_rate_diff": 0.1, "mean_rate_diff_ci": [0.05, 0.15], "violation": 0.02}, rule)
    lower = RankingRule("cost", False)
    assert reaches_expert({"cost_diff": 0.01, "cost_diff_ci": [-0.01, 0.03]}, lower)
    assert not reaches_expert({"cost_diff": 0.02, "cost_diff_ci": [0.01, 0.03]}, lower)
    points = [{"solver": "e", "budget": b, "sample_seconds_per_network": s, "reaches_expert": r}
              for b, s, r in [(5, 0.1, False), (10, 0.2, True), (40, 0.8, True)]]
    assert matched_expert(points, "e").budget == 10
    assert matched_expert(points, "other") is None


@pytest.mark.parametrize("frontier, message", [
    ([{"policy": "nobody", "values": [1]}], "frontier[0].policy: 'nobody' is neither a solver label"),
    ([{"policy": "toy_half", "values": [1]}], "frontier[0].policy: solver 'toy_half' declares no budget parameter"),
    ([{"policy": "toy_steps", "values": []}], "frontier[0].values: lists no budget"),
    ([{"policy": "toy_steps", "values": [2, 2]}], "frontier[0].values: lists a budget twice"),
    ([{"policy": "toy_steps", "values": [0]}], "frontier[0].values[0].steps"),
    ([{"policy": "toy_steps", "values": [2]}, {"policy": "toy_steps", "values": [3]}],
     "frontier[1].policy: 'toy_steps' has two frontiers"),
    ({"policy": "toy_steps"}, "frontier: expected a list"),
])
def test_a_malformed_frontier_is_refused_before_any_work(wrbench, tmp_path, frontier, message):
    result = _run(wrbench, tmp_path, frontier=frontier)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_published_frontier_joins_the_board_with_its_points(wrbench, tmp_path):
    base = {**SUITE, "solvers": [{"name": "toy_half"}], "frontier": []}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    assert wrbench("run", "base.yaml", "-o", "base", "-q", plugins=PLUGINS).exit_code == 0
    assert wrbench("publish", "base", "--board", "boards/toy", plugins=PLUGINS).exit_code == 0
    submitted = {**SUITE, "solvers": [{"name": "toy_steps"}], "frontier": [{"policy": "toy_steps", "values": [1, 8]}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(submitted, sort_keys=False))
    assert wrbench("run", "run.yaml", "-o", "run", "-q", plugins=PLUGINS).exit_code == 0
    result = wrbench("publish", "run", "--board", "boards/toy", plugins=PLUGINS)
    assert result.exit_code == 0, result.output
    board = json.loads((tmp_path / "boards" / "toy" / "leaderboard.json").read_text())
    assert sorted(row["label"] for row in board["rows"]) == ["toy_half", "toy_iterative (expert)", "toy_steps"]
    assert sorted(p["budget"] for p in board["frontier"]) == [1, 4, 8]

"""Shared boards: publishing merges rows and never overwrites, mismatched runs are refused, compare pairs networks."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import EXACT_EXPERT


def said(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def board_rows(board: Path) -> dict[str, dict]:
    return {row["label"]: row for row in json.loads((board / "leaderboard.json").read_text())["rows"]}


def test_merging_a_third_party_run_keeps_every_old_row_and_adds_the_new_one(wrbench, write_suite, published, tmp_path):
    before = board_rows(published)
    assert set(before) == {"toy_expert (expert)", "toy_mean", "toy_half"}
    third_party = write_suite("theirs.yaml", expert=EXACT_EXPERT,
                              solvers=[{"name": "toy_mean", "label": "mean_shrunk", "params": {"shrink": 0.5}}])
    assert wrbench("run", str(third_party), "-o", "theirs", "-q").exit_code == 0
    result = wrbench("publish", "theirs", "--board", str(published))
    assert result.exit_code == 0, result.output
    assert "added mean_shrunk" in said(result) and "kept 3 other row(s)" in said(result)
    after = board_rows(published)
    assert set(after) == {*before, "mean_shrunk"}
    for label, row in before.items():  # old rows untouched, down to their intervals (timings aside)
        assert {k: v for k, v in after[label].items() if k != "rank"} == {k: v for k, v in row.items() if k != "rank"}
    evidence = published / "evidence"
    entries = {json.loads(line)["entry"] for line in (evidence / "results.jsonl").read_text().splitlines()}
    assert entries == {"expert", "toy_mean", "toy_half", "mean_shrunk"}
    assert (evidence / "dists").glob("mean_shrunk*") and len(list((evidence / "dists").glob("mean_shrunk*"))) == 2
    provenance = json.loads((evidence / "provenance.json").read_text())
    theirs_meta, base_meta = (json.loads((tmp_path / run / "meta.json").read_text()) for run in ("theirs", "base"))
    assert provenance["mean_shrunk"]["plugin"] == "toy_plugin" and provenance["mean_shrunk"]["name"] == "toy_mean"
    assert provenance["mean_shrunk"]["date"] == theirs_meta["date"] and provenance["toy_half"]["date"] == base_meta["date"]
    assert provenance["mean_shrunk"]["hardware"]["cpu_count"] == theirs_meta["cpu_count"]
    assert "mean_shrunk" in (published / "leaderboard.md").read_text()
    # publishing the same run again replaces its row only
    again = wrbench("publish", "theirs", "--board", str(published))
    assert again.exit_code == 0 and "replaced mean_shrunk" in said(again) and set(board_rows(published)) == set(after)


@pytest.mark.parametrize("change, reason", [
    ({"seed": 1}, "suite seed: board 0, run 1"),
    ({"repetitions": 1}, "suite repetitions: board 2, run 1"),
    ({"problem": {"name": "toy", "params": {"dim": 3, "spread": 0.3}, "instances": {"train": 16, "test": 4}}},
     "suite problem.params.spread: board 0.2, run 0.3"),
])
def test_a_run_on_other_networks_or_repetitions_is_refused_with_exit_2(wrbench, write_suite, published, change, reason):
    before = (published / "leaderboard.json").read_bytes()
    other = write_suite("other.yaml", expert=EXACT_EXPERT, solvers=[{"name": "toy_half", "label": "half2"}], **change)
    assert wrbench("run", str(other), "-o", "other", "-q").exit_code == 0
    result = wrbench("publish", "other", "--board", str(published))
    assert result.exit_code == 2 and reason in said(result), result.output
    assert (published / "leaderboard.json").read_bytes() == before  # nothing written


def test_a_record_scored_on_other_networks_is_refused(wrbench, write_suite, published, tmp_path):
    other = write_suite("other.yaml", expert=EXACT_EXPERT, solvers=[{"name": "toy_half", "label": "half2"}])
    assert wrbench("run", str(other), "-o", "other", "-q").exit_code == 0
    results = tmp_path / "other" / "results.jsonl"
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    lines[-1]["fingerprints"]["test"] = "0" * 20  # as if its networks had been generated differently
    results.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = wrbench("publish", "other", "--board", str(published))
    assert result.exit_code == 2 and "was scored on other networks or evaluation draws" in said(result)


def test_a_partial_run_and_a_board_without_evidence_are_refused(wrbench, write_suite, published, tmp_path):
    results = tmp_path / "base" / "results.jsonl"
    lines = results.read_text().splitlines()
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("suite.json", "meta.json"):
        (partial / name).write_text((tmp_path / "base" / name).read_text())
    (partial / "results.jsonl").write_text("".join(line + "\n" for line in lines if '"rep": 1' not in line))
    result = wrbench("publish", "partial", "--board", str(published))
    assert result.exit_code == 2 and "no result for repetition(s) 1 of 2" in said(result)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "leaderboard.json").write_text(json.dumps({"rows": [], "meta": {}}))
    refused = wrbench("publish", "base", "--board", str(legacy))
    assert refused.exit_code == 2 and "--replace" in said(refused)
    assert wrbench("publish", "base", "--board", str(legacy), "--replace").exit_code == 0
    assert set(board_rows(legacy)) == {"toy_expert (expert)", "toy_mean", "toy_half"}


def test_compare_finds_the_known_paired_difference(wrbench, write_suite, published, tmp_path):
    suite = write_suite(expert=EXACT_EXPERT)
    # the exact expert scores 1 + e and toy_half 1 - mean_d (0.5 - c_d)^2 + e, with the same evaluation noise e
    # (common random numbers): their difference per network is -mean_d (0.5 - c_d)^2, from the instances alone
    expected = []
    for rep in (0, 1):
        assert wrbench("export", str(suite), "--rep", str(rep), "-o", f"test{rep}.npz").exit_code == 0
        c = np.load(tmp_path / f"test{rep}.npz")["c"]
        expected.append(-((0.5 - c) ** 2).mean(axis=1))
    expected = np.concatenate(expected)
    result = wrbench("compare", "base", "--against", str(published), "--row", "toy_half", "--vs", "toy_expert (expert)",
                     "--vs", "toy_half", "--metric", "score", "--json", "diff.json")
    assert result.exit_code == 0, result.output
    found = {d["against"]: d for d in json.loads((tmp_path / "diff.json").read_text())}
    versus_expert = found["toy_expert (expert)"]
    assert versus_expert["networks"] == len(expected) == 8
    assert versus_expert["diff"] == pytest.approx(expected.mean(), abs=1e-12)
    assert versus_expert["low"] < versus_expert["diff"] < versus_expert["high"] < 0 and versus_expert["significant"]
    assert found["toy_half"]["diff"] == 0.0 and not found["toy_half"]["significant"]  # a rerun agrees exactly
    assert "toy_half" in said(result) and "score" in said(result)


def test_compare_refuses_other_networks_and_unknown_rows(wrbench, write_suite, published):
    other = write_suite("other.yaml", expert=EXACT_EXPERT, seed=3)
    assert wrbench("run", str(other), "-o", "other", "-q").exit_code == 0
    refused = wrbench("compare", "other", "--against", str(published))
    assert refused.exit_code == 2 and "suite seed: board 0, run 3" in said(refused)
    unknown = wrbench("compare", "base", "--against", str(published), "--vs", "nope")
    assert unknown.exit_code == 2 and "the board has no row 'nope'" in said(unknown) and "toy_half" in said(unknown)


def test_a_board_rerenders_from_its_evidence_alone(wrbench, published, tmp_path):
    published_json = (published / "leaderboard.json").read_text()
    (published / "leaderboard.json").unlink()
    assert wrbench("leaderboard", str(published), "-q").exit_code == 0
    assert (published / "leaderboard.json").read_text() == published_json
    assert not (published / "evidence" / "leaderboard.json").exists()  # rendered beside the evidence, not into it


def test_a_second_publish_into_a_board_in_use_is_refused_and_changes_nothing(wrbench, published):
    from wrbench.core.lock import folder_lock

    before = (published / "evidence" / "results.jsonl").read_bytes()
    with folder_lock(published):  # as if another publish were merging into it right now
        result = wrbench("publish", "base", "--board", str(published))
    assert result.exit_code == 2 and "in use by another run" in said(result)
    assert (published / "evidence" / "results.jsonl").read_bytes() == before

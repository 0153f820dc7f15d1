"""Trade-off and profile plots: built from a hand-made Leaderboard, no run needed."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from wrbench.core.fsio import artifact_name
from wrbench.report import plots
from wrbench.report.leaderboard import Leaderboard

PROFILE = ["mean_rate", "p1", "p5", "p10", "p50"]


def _board(constraint: str | None = "outage", profile: list[str] | None = None, source=None) -> Leaderboard:
    rows = [
        {"entry": "expert", "label": "expert", "kind": "expert", "status": "ok", "rank": 1,
         "sum_rate": 10.0, "sum_rate_std": 0.5, "sum_rate_ci": [9.5, 10.5],
         "outage": 0.02, "outage_std": 0.01, "outage_ci": (0.01, 0.03)},
        {"entry": "gnn", "label": "gnn", "kind": "solver", "status": "ok", "rank": 2,
         "sum_rate": 9.0, "sum_rate_std": 0.4, "sum_rate_ci": None,
         "outage": 0.04, "outage_std": math.nan, "outage_ci": math.nan},
        {"entry": "random", "label": "random", "kind": "solver", "status": "ok", "rank": 3,
         "sum_rate": 6.0, "sum_rate_std": 1.0, "sum_rate_ci": [5.0, 7.0],
         "outage": math.nan, "outage_std": math.nan, "outage_ci": None},
    ]
    for i, row in enumerate(rows):
        for j, metric in enumerate(PROFILE):
            mean = 1.0 + j + 0.3 * i
            row[metric] = mean
            row[f"{metric}_std"] = 0.1
            row[f"{metric}_ci"] = None if i == 1 else [mean - 0.1, mean + 0.1]
    meta = {"repetitions": 1, "profile_metrics": PROFILE if profile is None else profile,
            "profile_marker": ["link_rate", "f_min"]}
    board = Leaderboard("verdict", "sum_rate", frozenset({"outage"}), {"test": pd.DataFrame(rows)},
                        ["sum_rate", "outage", *PROFILE], meta)
    board.ranking = SimpleNamespace(objective="sum_rate", higher_is_better=True, constraint=constraint,
                                    tolerance=0.05)
    if source is not None:
        board.source = source
    return board


def _write_dists(outdir, entry: str, split: str = "test", f_min: float = 1.0) -> None:
    path = outdir / "dists" / f"{artifact_name(entry, 0, split)}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{"dist:link_rate": np.linspace(0.5, 3.0, 20), "marker:link_rate:f_min": np.array(f_min)})


def test_write_plots_adds_tradeoff_and_profile(tmp_path):
    _write_dists(tmp_path, "expert")
    written = plots.write_plots(_board(source=tmp_path), tmp_path)
    for name in ("test_tradeoff.png", "test_profile.png"):
        path = tmp_path / "plots" / name
        assert path in written
        assert path.exists() and path.stat().st_size > 1000


def test_no_tradeoff_without_constraint_or_ranking(tmp_path):
    assert plots._tradeoff_plots(_board(constraint=None), tmp_path) == []
    board = _board()
    board.ranking = None
    assert plots._tradeoff_plots(board, tmp_path) == []
    board = _board(constraint="latency")  # not a column of the table
    assert plots._tradeoff_plots(board, tmp_path) == []
    assert not (tmp_path / "plots" / "test_tradeoff.png").exists()


def test_profile_reads_marker_from_dists(tmp_path):
    _write_dists(tmp_path, "gnn", f_min=1.0)
    board = _board(source=tmp_path)
    assert plots._profile_marks(board, "test", board.tables["test"], 1) == {"f_min": 1.0}
    assert plots._profile_plots(board, tmp_path) == [tmp_path / "plots" / "test_profile.png"]
    assert (tmp_path / "plots" / "test_profile.png").stat().st_size > 1000


def test_profile_without_dists_still_plots(tmp_path):
    board = _board(source=tmp_path)
    assert plots._profile_marks(board, "test", board.tables["test"], 1) == {}
    path = tmp_path / "plots" / "test_profile.png"
    assert plots._profile_plots(board, tmp_path) == [path]
    assert path.stat().st_size > 1000


def test_no_profile_without_metrics(tmp_path):
    assert plots._profile_plots(_board(profile=[]), tmp_path) == []
    assert plots._profile_plots(_board(profile=["absent"]), tmp_path) == []

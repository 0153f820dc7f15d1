"""Every published board with evidence was computed from its suite file as it stands (same suite hash)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from wrbench.core.plugins import load_plugins
from wrbench.run.suite import read_suite

ROOT = Path(__file__).resolve().parents[1]
BOARDS = sorted(p.parent for p in (ROOT / "leaderboard").glob("*/evidence"))


@pytest.fixture(scope="module")
def registry():
    return load_plugins()


@pytest.mark.parametrize("board", BOARDS, ids=[b.name for b in BOARDS])
def test_a_board_matches_its_suite_file(board: Path, registry) -> None:
    """A suite edited without regenerating its board (or a schema change that moves digests) fails here."""
    meta = json.loads((board / "leaderboard.json").read_text())["meta"]
    suite = read_suite(ROOT / "suites" / f"{board.name}.yaml", registry, check_device=False)
    assert suite.digest() == meta["suite_hash"], f"leaderboard/{board.name} is stale: regenerate it (README)"

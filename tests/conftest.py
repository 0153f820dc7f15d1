"""Shared fixtures: a CLI runner confined to the toy plugin, and toy suites written to tmp_path."""
from __future__ import annotations

import os

# Tests use tiny tensors: one thread is faster and keeps a shared 2-core machine responsive
# (the variable also reaches the worker processes the harness spawns).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner, Result

from wrbench.cli import cli

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

HERE = Path(__file__).parent

TOY_SUITE: dict[str, Any] = {
    "name": "toy",
    "seed": 0,
    "repetitions": 2,
    "problem": {"name": "toy", "params": {"dim": 3}, "instances": {"train": 16, "test": 4}},
    "expert": {"name": "toy_expert", "samples": 5},
    "solvers": [{"name": "toy_mean"}, {"name": "toy_half"}],
    "evaluation": {"samples": 3, "params": {"noise": 0.01}},
    "timeout": 60,
}


@pytest.fixture
def toy_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load only -p plugins (no bundled ones): fast, and independent of them."""
    monkeypatch.setenv("WRBENCH_DISABLE_ENTRY_POINTS", "1")
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture
def wrbench(toy_only: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Call the CLI in-process with the toy plugin; returns click's Result."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, plugins: tuple[str, ...] = ("toy_plugin",)) -> Result:
        command, *rest = args
        flags = [f"-p{p}" for p in plugins]
        return CliRunner().invoke(cli, [command, *flags, *rest], catch_exceptions=False)

    return invoke


@pytest.fixture
def write_suite(tmp_path: Path):
    """Write TOY_SUITE with top-level keys replaced; returns the path."""

    def write(name: str = "suite.yaml", text: str | None = None, **changes: Any) -> Path:
        path = tmp_path / name
        path.write_text(text if text is not None else yaml.safe_dump({**TOY_SUITE, **changes}, sort_keys=False))
        return path

    return write


# the expert returns the targets exactly, so toy_half's score difference against it is known in closed form
EXACT_EXPERT = {"name": "toy_expert", "samples": 5, "params": {"noise": 0.0}}


@pytest.fixture
def published(wrbench, write_suite, tmp_path: Path) -> Path:
    """A board published from a run of the toy suite (expert, toy_mean, toy_half) into tmp_path/boards/toy."""
    suite = write_suite(expert=EXACT_EXPERT)
    assert wrbench("run", str(suite), "-o", "base", "-q").exit_code == 0
    result = wrbench("publish", "base", "--board", "boards/toy")
    assert result.exit_code == 0, result.output
    return tmp_path / "boards" / "toy"

"""`wrbench new-plugin`: the package it writes loads with -p, passes the conformance kit, and nothing is overwritten."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from wrbench.core.plugins import load_plugins
from wrbench.devkit.scaffold import ScaffoldError, names_for
from wrbench.testing import CHECKS, assert_conformant


@pytest.fixture
def package(wrbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`wrbench new-plugin fancy_policy --dir pkg`, with pkg importable (as a pip install would make it)."""
    result = wrbench("new-plugin", "fancy_policy", "--dir", "pkg", plugins=())
    assert result.exit_code == 0, result.output
    assert "pip install -e pkg" in result.output
    root = tmp_path / "pkg"
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m.startswith("wrbench_fancy_policy")]:
        del sys.modules[name]


def test_writes_an_installable_package(package: Path):
    files = {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()}
    assert files == {"pyproject.toml", "README.md", "wrbench_fancy_policy/__init__.py",
                     "wrbench_fancy_policy/solver.py", "tests/test_conformance.py"}
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == "wrbench-fancy-policy"
    assert project["project"]["entry-points"]["wrbench"] == {"fancy_policy": "wrbench_fancy_policy"}
    assert project["tool"]["setuptools"]["packages"] == ["wrbench_fancy_policy"]


def test_generated_module_loads_with_p(wrbench, package: Path):
    result = wrbench("plugins", "--json", plugins=("wrbench_fancy_policy",))
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)["plugins"]
    assert record["status"] == "loaded" and record["api_version"] == "1.0"
    assert record["components"] == [{"kind": "solver", "name": "fancy_policy", "version": "1", "problems": None}]


def test_generated_solver_passes_the_kit(toy_only, package: Path):
    registry = load_plugins(["toy_plugin", "wrbench_fancy_policy"], entry_points=False)
    results = assert_conformant("fancy_policy", registry=registry)
    assert {r.problem for r in results if r.check == "save/load" and r.status == "passed"} == {"toy"}


def test_generated_test_file_passes(package: Path, monkeypatch: pytest.MonkeyPatch):
    """The package's own test, as `pytest` in the package would run it (bundled problems via entry points)."""
    monkeypatch.setenv("WRBENCH_DISABLE_ENTRY_POINTS", "0")
    spec = importlib.util.spec_from_file_location("generated_test", package / "tests" / "test_conformance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (mark,) = module.test_fancy_policy_conforms.pytestmark
    passed = 0
    for case in mark.args[1]:  # one case per (problem, check); a failed check raises here
        try:
            module.test_fancy_policy_conforms(case.values[0])
            passed += 1
        except pytest.skip.Exception:
            continue
    assert passed >= len(CHECKS) - 1  # every check of at least one problem (a stochastic solver skips one)


def test_refuses_to_overwrite(wrbench, tmp_path: Path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = wrbench("new-plugin", "fancy_policy", "--dir", str(target), plugins=())
    assert result.exit_code == 2
    assert "already exists" in result.output and "nothing was written" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_default_folder_and_second_run_refused(wrbench, tmp_path: Path):
    assert wrbench("new-plugin", "other-one", plugins=()).exit_code == 0
    assert (tmp_path / "wrbench-other-one" / "wrbench_other_one" / "solver.py").exists()
    again = wrbench("new-plugin", "other-one", plugins=())
    assert again.exit_code == 2 and "wrbench-other-one already exists" in again.output


@pytest.mark.parametrize("name", ["9lives", "has space", "Caps", "dot.ted", "class", "x" * 41, "trailing_"])
def test_invalid_names_are_refused(wrbench, tmp_path: Path, name: str):
    result = wrbench("new-plugin", name, plugins=())
    assert result.exit_code == 2
    assert "invalid plugin name" in result.output
    assert list(tmp_path.iterdir()) == []


def test_names():
    names = names_for("my-solver")
    assert (names.solver, names.module, names.distribution, names.cls) == (
        "my_solver", "wrbench_my_solver", "wrbench-my-solver", "MySolver")
    assert names_for("wrbench_gauss").module == "wrbench_gauss"
    with pytest.raises(ScaffoldError):
        names_for("")

"""The harness's layering and its independence from the bundled plugins, checked on the source."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from wrbench.core.plugins import load_plugins

ROOT = Path(__file__).resolve().parents[1] / "wrbench"
# Each subsystem may import the ones listed (and itself); the command line sits on top of all of them.
ALLOWED = {
    "core": set(),
    "run": {"core"},
    "latency": {"core"},
    "report": {"core", "run"},
    "devkit": {"core"},
}


def _wrbench_imports(path: Path) -> set[str]:
    """The wrbench subsystems a module imports (`wrbench.run.store` -> "run")."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "wrbench" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("subsystem", sorted(ALLOWED))
def test_no_subsystem_imports_one_above_it(subsystem):
    wrong = {}
    for path in sorted((ROOT / subsystem).rglob("*.py")):
        above = (_wrbench_imports(path) & set(ALLOWED)) - ALLOWED[subsystem] - {subsystem}
        if above:
            wrong[str(path.relative_to(ROOT))] = sorted(above)
    assert not wrong, f"imports from a subsystem above: {wrong}"


def test_the_harness_names_no_bundled_component_or_parameter():
    """Plugins describe themselves: no name of a bundled problem, expert, solver or size parameter in wrbench/."""
    registry = load_plugins(entry_points=True)
    bundled = [cls for kind in ("problem", "expert", "solver") for name in registry.names(kind)
               for cls in registry.variants(kind, name) if cls.__module__.startswith("wrbench_plugins")]
    # generic words that happen to be component names (a baseline called `random`) are not evidence
    names = {cls.name for cls in bundled} - {"random", "uniform", "exhaustive"}
    names |= {cls.size_parameter for cls in bundled if getattr(cls, "size_parameter", "")}
    assert names, "no bundled components found: are the plugins installed?"
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in sorted(ROOT.rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, "\n".join(hits)

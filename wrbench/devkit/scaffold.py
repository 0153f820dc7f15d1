"""`wrbench new-plugin NAME`: write a pip-installable solver plugin package, ready to test and run.

The package (for NAME `my_solver`):

    wrbench-my-solver/
      pyproject.toml                 entry point `my_solver = "wrbench_my_solver"` in group `wrbench`
      README.md
      wrbench_my_solver/__init__.py  WRBENCH_API_VERSION and the register_solvers hook
      wrbench_my_solver/solver.py    the solver `my_solver` (a per-coordinate Gaussian to start from)
      tests/test_conformance.py      the conformance kit (wrbench.testing) on the solver

`examples/wrbench-example-solver` is a fuller package of the same shape.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from wrbench.core.hookspecs import API_VERSION


class ScaffoldError(ValueError):
    """A name the scaffold refuses, or a target that already exists."""


NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Names:
    solver: str        # my_solver: the name suites use
    module: str        # wrbench_my_solver: the import path (`-p`)
    distribution: str  # wrbench-my-solver: the PyPI name and the default folder
    cls: str           # MySolver


def names_for(name: str) -> Names:
    """The names derived from NAME, or ScaffoldError saying what a valid NAME looks like."""
    solver = name.strip().replace("-", "_")
    if keyword.iskeyword(solver):
        raise ScaffoldError(f"invalid plugin name {name!r}: it is a Python keyword; try e.g. '{solver}_solver'")
    if not NAME_PATTERN.match(solver) or len(solver) > 40 or solver.endswith("_"):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and underscores (or dashes), starting "
            "with a letter, at most 40 characters, e.g. 'my_solver'")
    base = solver[len("wrbench_"):] if solver.startswith("wrbench_") and len(solver) > len("wrbench_") else solver
    cls = "".join(part.capitalize() for part in base.split("_") if part)
    cls = cls if cls.endswith("Solver") else cls + "Solver"
    return Names(solver=base, module=f"wrbench_{base}", distribution=f"wrbench-{base.replace('_', '-')}", cls=cls)


def write_plugin(name: str, directory: str | Path | None = None) -> tuple[Path, list[Path]]:
    """Write the package for NAME into `directory` (default ./wrbench-NAME); returns (folder, files written).

    Refuses (ScaffoldError) an invalid NAME and a `directory` that exists and is not empty.
    """
    names = names_for(name)
    root = Path(directory) if directory is not None else Path(names.distribution)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ScaffoldError(f"{root} already exists{' and is not empty' if root.is_dir() else ''}; "
                            "choose another --dir or remove it first (nothing was written)")
    values = {"solver": names.solver, "module": names.module, "distribution": names.distribution,
              "cls": names.cls, "api_version": API_VERSION}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{names.module}/__init__.py": INIT,
        f"{names.module}/solver.py": SOLVER,
        "tests/test_conformance.py": TEST,
    }
    written = []
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values))
        written.append(path)
    return root, written


# ------------------------------------------------------------------------------ templates

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "wrbench plugin: the $solver solver"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["wrbench>=0.1"]

[project.optional-dependencies]
test = ["pytest>=7"]

# wrbench loads every module named in this group; the key is the plugin's name in `wrbench plugins`.
[project.entry-points.wrbench]
$solver = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
'''

README = '''\
# $distribution

A wrbench plugin that registers the solver `$solver`.

```bash
pip install -e .                 # registers the plugin (entry point group `wrbench`)
pytest                           # the wrbench conformance kit on `$solver`
wrbench plugins                  # lists `$solver` next to the bundled plugins
wrbench run SUITE.yaml --set 'solvers=[{name: $solver}]'   # any suite of a problem it supports
```

Without installing, load the module by its import path from this folder:
`wrbench run -p $module SUITE ...`.

Edit `$module/solver.py`: `fit` learns from expert samples (B, S, D), `sample`
returns allocations (B, n_samples, D) inside the problem's decision set.
Publish with `python -m build && twine upload dist/*`.
'''

INIT = '''\
"""wrbench plugin `$distribution`: registers the `$solver` solver."""
from __future__ import annotations

from wrbench import hookimpl

from .solver import $cls

# The plugin API this module targets: wrbench loads it when the major version matches
# and this minor version is not newer than the harness's (`wrbench --version` shows it).
WRBENCH_API_VERSION = "$api_version"


@hookimpl
def register_solvers(register) -> None:
    register($cls)
'''

SOLVER = '''\
"""The `$solver` solver.

A starting point: a Gaussian with the per-coordinate mean and spread of all the
expert samples, the same for every instance. Replace `fit` and `sample` with
your model; keep the contract (the conformance kit in tests/ checks it):

- fit(problem, instances, expert_samples (B, S, D) or None, ctx): learn.
- sample(problem, instances, n_samples, ctx) -> (B, n_samples, D) float tensor, inside
  problem.decision_set(instances), drawn only from ctx.generator(...) (reproducible).
- state_dict() / load_state_dict(): tensors and plain values only (saved weights-only).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from wrbench.api import Context, Instances, Problem, Solver
from wrbench.params import Param


class $cls(Solver):
    """Per-coordinate Gaussian fitted to the expert samples (ignores the instance)."""

    name = "$solver"
    version = "1"              # bump when a change alters results: cached models are keyed by it
    problems = None            # or a tuple of problem names, e.g. ("my_problem",)
    requires = frozenset()     # views the solver needs, e.g. frozenset({"graph"}) or {"flat"}
    stochastic = True          # False: the S samples of an instance must be identical
    needs_expert = True        # False: fit receives expert_samples=None
    test_params = {}           # the conformance kit's cheap overrides, e.g. {"epochs": 2} for a trained model
    parameters = (
        Param("spread", float, 1.0, "multiplies the fitted std when sampling (0: the mean)", min=0.0),
    )

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        if expert_samples is None:
            raise ValueError("solver '$solver' needs expert samples")
        x = expert_samples.detach().to("cpu", torch.float64).flatten(0, 1)    # (B * S, D)
        self.mean, self.std = x.mean(0), x.std(0, unbiased=False)

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        if self.mean is None:
            raise RuntimeError("solver '$solver' must be fitted (or loaded) before sampling")
        dim = problem.decision_dim(instances)
        if dim != self.mean.shape[0]:
            raise ValueError(f"fitted on dimension {self.mean.shape[0]}, asked for {dim}")
        noise = torch.randn((len(instances), n_samples, dim), dtype=torch.float64,
                            generator=ctx.generator("$solver", device="cpu"))
        x = (self.mean + self.params.spread * self.std * noise).float().to(ctx.device)
        return problem.decision_set(instances).project(x)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std} if self.mean is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mean, self.std = state["mean"], state["std"]
'''

TEST = '''\
"""The wrbench conformance kit on `$solver`: one test per check and installed problem it supports, small sizes."""
import pytest

from wrbench.testing import conformance_cases


# The kit builds each component with its own `test_params`; params= overrides the solver's,
# problems=[...] restricts the problems, expert= picks the expert giving training samples.
@pytest.mark.parametrize("check", conformance_cases("$solver", plugins=["$module"]))
def test_${solver}_conforms(check):
    check()
'''

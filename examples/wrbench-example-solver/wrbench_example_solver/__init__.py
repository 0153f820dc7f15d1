"""wrbench-example-solver: a third-party wrbench plugin registering the `gaussian` solver.

wrbench finds this module through the entry point in group `wrbench` (see
pyproject.toml); `wrbench -p wrbench_example_solver ...` loads it without installing.
"""
from __future__ import annotations

from wrbench import hookimpl

from .gaussian import GaussianSolver

# The plugin API this module targets: same major as the harness, minor not newer.
WRBENCH_API_VERSION = "1.0"

__version__ = "0.1.0"


@hookimpl
def register_solvers(register) -> None:
    register(GaussianSolver)

"""Deterministic regression baseline: what a non-generative policy trained on the same expert samples loses."""
from wrbench import hookimpl

from .solver import DiscriminativeSolver

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_solvers(register) -> None:
    register(DiscriminativeSolver)

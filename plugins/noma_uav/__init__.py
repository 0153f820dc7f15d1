"""Bundled plugin `noma_uav`: joint UAV placement and NOMA power split, its reference search and its baselines."""
from __future__ import annotations

from wrbench import hookimpl
from wrbench.hookspecs import Register

from .baselines import CentroidEqual, RandomPlacement
from .experts import NomaSearch
from .problem import NomaUav

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register: Register) -> None:
    register(NomaUav)


@hookimpl
def register_experts(register: Register) -> None:
    register(NomaSearch)


@hookimpl
def register_solvers(register: Register) -> None:
    register(CentroidEqual)
    register(RandomPlacement)

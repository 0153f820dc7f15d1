"""Bundled plugin `sum_rate`: the parallel-channel sum-rate problem, its experts and its baselines."""
from __future__ import annotations

from wrbench import hookimpl
from wrbench.hookspecs import Register

from .baselines import RandomBudget, Uniform
from .experts import Exhaustive, WaterFilling
from .problem import SumRate

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register: Register) -> None:
    register(SumRate)


@hookimpl
def register_experts(register: Register) -> None:
    register(WaterFilling)
    register(Exhaustive)


@hookimpl
def register_solvers(register: Register) -> None:
    register(Uniform)
    register(RandomBudget)

"""Bundled plugin `offloading`: DiffSG's computation offloading (a MINLP), its exact expert and its baselines."""
from __future__ import annotations

from wrbench import hookimpl
from wrbench.hookspecs import Register

from .baselines import AllLocal, AllOffload, Greedy, RandomDecision
from .experts import Exhaustive
from .problem import Offloading

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register: Register) -> None:
    register(Offloading)


@hookimpl
def register_experts(register: Register) -> None:
    register(Exhaustive)


@hookimpl
def register_solvers(register: Register) -> None:
    register(AllLocal)
    register(AllOffload)
    register(Greedy)
    register(RandomDecision)

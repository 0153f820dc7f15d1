"""The bundled `power_control` plugin: interference-network power control with ergodic QoS constraints.

Registers the problem, its two experts (primal-dual and exhaustive grid + LP)
and the training-free baselines.
"""
from __future__ import annotations

from wrbench import hookimpl
from wrbench.hookspecs import Register

from .baselines import WMMSE, FullPower, RandomPower
from .experts import Exhaustive, PrimalDual
from .problem import PowerControl

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register: Register) -> None:
    register(PowerControl)


@hookimpl
def register_experts(register: Register) -> None:
    register(PrimalDual)
    register(Exhaustive)


@hookimpl
def register_solvers(register: Register) -> None:
    register(FullPower)
    register(WMMSE)
    register(RandomPower)

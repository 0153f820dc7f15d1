"""The bundled `power_control` plugin: interference-network power control with ergodic QoS constraints.

Registers the problem, its experts (primal-dual, exhaustive grid + LP, the learned
state-augmented primal-dual policy sa_pd), the training-free baselines and sa_pd as a solver.
"""
from __future__ import annotations

from wrbench import hookimpl
from wrbench.hookspecs import Register

from .baselines import WMMSE, FullPower, RandomPower
from .experts import Exhaustive, PrimalDual
from .problem import PowerControl
from .sa_pd import SAPDExpert, SAPDSolver

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_problems(register: Register) -> None:
    register(PowerControl)


@hookimpl
def register_experts(register: Register) -> None:
    register(PrimalDual)
    register(Exhaustive)
    register(SAPDExpert)


@hookimpl
def register_solvers(register: Register) -> None:
    register(FullPower)
    register(WMMSE)
    register(RandomPower)
    register(SAPDSolver)

"""Pluggy hook specifications: the plugin contract.

A plugin is a module (or object) that sets `WRBENCH_API_VERSION` and implements
any of these hooks. Each hook receives a `register` callback; call it once per
component class:

    from wrbench import hookimpl

    WRBENCH_API_VERSION = "1.0"

    @hookimpl
    def register_solvers(register):
        register(MySolver)

A plugin is accepted when its major version equals the harness's and its
minor version is not newer (a plugin written for 1.0 loads in a 1.3 harness).
"""
from __future__ import annotations

from typing import Callable

import pluggy

PROJECT = "wrbench"
API_VERSION = "1.0"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[type], None]


@hookspec
def register_problems(register: Register) -> None:
    """Register `wrbench.api.Problem` subclasses."""


@hookspec
def register_experts(register: Register) -> None:
    """Register `wrbench.api.Expert` subclasses."""


@hookspec
def register_solvers(register: Register) -> None:
    """Register `wrbench.api.Solver` subclasses."""


__all__ = [
    "PROJECT",
    "API_VERSION",
    "hookspec",
    "hookimpl",
    "Register",
    "register_problems",
    "register_experts",
    "register_solvers",
]

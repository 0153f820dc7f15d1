"""Solvers that misbehave at the process level: leak global state, raise BaseExceptions, print, hold unpicklables.

Load with `plugins=("toy_plugin", "faulty_process_plugin")`; each answers like toy_half unless it fails.
"""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch
from toy_plugin import Half

from wrbench import hookimpl
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class LeakState(Half):
    """Changes every process-wide setting a later job could depend on, and leaves it so."""

    name = "leak_state"

    def sample(self, problem, instances, n_samples, ctx):
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(123)
        np.random.seed(123)
        random.seed(123)
        torch.set_grad_enabled(False)
        torch.set_num_threads(max(torch.get_num_threads() + 1, 2))
        torch.use_deterministic_algorithms(True)
        return super().sample(problem, instances, n_samples, ctx)


class StateProbe(Half):
    """Samples with the global RNGs and default dtype, and reports the global state it sees as diagnostics."""

    name = "state_probe"

    def sample(self, problem, instances, n_samples, ctx):
        shape = (len(instances), n_samples, problem.decision_dim(instances))
        self.diagnostics = {
            "dtype_bits": float(torch.empty(()).element_size() * 8),
            "grad": float(torch.is_grad_enabled()),
            "threads": float(torch.get_num_threads()),
            "deterministic": float(torch.are_deterministic_algorithms_enabled()),
            "numpy_draw": float(np.random.rand()),
            "python_draw": random.random(),
        }
        return (0.4 + 0.2 * torch.rand(shape)).double()


class BadDiagnostics(Half):
    """Diagnostics that neither JSON nor pickle can carry."""

    name = "bad_diagnostics"

    def sample(self, problem, instances, n_samples, ctx):
        self.diagnostics = {"fn": lambda: 1}
        return super().sample(problem, instances, n_samples, ctx)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no words")


class Raiser(Half):
    """Raises what `mode` says: a KeyboardInterrupt, sys.exit, or an exception whose __str__ raises."""

    name = "raiser"
    parameters = (Param("mode", str, "keyboard", choices=("keyboard", "exit", "unprintable", "markup")),)

    def sample(self, problem, instances, n_samples, ctx):
        mode = self.params.mode
        if mode == "keyboard":
            raise KeyboardInterrupt
        if mode == "exit":
            sys.exit(4)
        if mode == "unprintable":
            raise Unprintable()
        raise RuntimeError("broke [/] the [bold]board")


class Chatty(Half):
    """Prints a lot from Python and writes to the file descriptors directly, as C code would."""

    name = "chatty"

    def sample(self, problem, instances, n_samples, ctx):
        print("chatty says hello\n" * 20000)
        print("chatty complains", file=sys.stderr)
        os.write(1, b"chatty from C\n")
        return super().sample(problem, instances, n_samples, ctx)


@hookimpl
def register_solvers(register):
    for cls in (LeakState, StateProbe, BadDiagnostics, Raiser, Chatty):
        register(cls)

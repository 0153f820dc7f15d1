"""Solvers that strain the result store and the cache: awkward diagnostics, a numpy state_dict.

Loaded next to toy_plugin (`plugins=("toy_plugin", "faulty_store_plugin")`); each misbehaves in one way only.
"""
from __future__ import annotations

import numpy as np
import torch
from toy_plugin import Half, MeanSolver

from wrbench import hookimpl
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"


class OddDiagnostics(Half):
    """Half, whose diagnostics hold the value `kind` names: tensors and numpy values, or a lambda or an object."""

    name = "odd_diagnostics"
    parameters = (Param("kind", str, "tensor", choices=("tensor", "numpy", "vector", "lambda", "object")),)

    def sample(self, problem, instances, n_samples, ctx):
        value = {
            "tensor": torch.tensor(0.25),
            "numpy": np.float32(0.25),
            "vector": torch.arange(3, dtype=torch.float64),
            "lambda": lambda: 0.25,
            "object": object(),
        }[self.params.kind]
        self.diagnostics = {"clamped": value}
        return super().sample(problem, instances, n_samples, ctx)


class NumpyState(MeanSolver):
    """toy_mean whose state_dict holds a numpy array, which torch.load(weights_only=True) refuses."""

    name = "numpy_state"

    def state_dict(self):
        return {"offset": self.offset.numpy()}

    def load_state_dict(self, state):
        self.offset = torch.as_tensor(state["offset"])


@hookimpl
def register_solvers(register):
    for cls in (OddDiagnostics, NumpyState):
        register(cls)

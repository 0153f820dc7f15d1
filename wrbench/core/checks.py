"""The contract a solver's raw samples must meet, checked by the run and by the conformance kit alike."""
from __future__ import annotations

import torch

from wrbench.core.api import Instances, Problem


class CellInvalid(Exception):
    """A solver's raw output broke the contract; `code` names how (one of the constants below, or "invalid")."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


NOT_A_TENSOR, WRONG_SHAPE, NOT_FLOATING = "not_a_tensor", "wrong_shape", "not_floating"
NOT_FINITE, OUTSIDE_SET = "not_finite", "outside_set"


def check_samples(problem: Problem, instances: Instances, samples: torch.Tensor, n_samples: int, who: str) -> None:
    """Raise CellInvalid unless raw samples have the right shape, are finite, and lie in the decision set."""
    expected = (len(instances), n_samples, problem.decision_dim(instances))
    if tuple(samples.shape) != expected:
        raise CellInvalid(f"{who} returned samples of shape {tuple(samples.shape)}, expected {expected} (instances, samples, dim)",
                          WRONG_SHAPE)
    if not samples.is_floating_point():
        raise CellInvalid(f"{who} returned {samples.dtype} samples, expected a floating-point tensor", NOT_FLOATING)
    bad = ~torch.isfinite(samples)
    if bad.any():
        raise CellInvalid(f"{who} returned {int(bad.sum())} NaN/inf values", NOT_FINITE)
    decision_set = problem.decision_set(instances)
    if decision_set.enforce == "invalid":
        inside = decision_set.contains(samples)
        if not bool(inside.all()):
            outside = int((~inside).sum())
            raise CellInvalid(f"{outside} of {inside.numel()} samples lie outside the decision set ({decision_set.describe()})",
                              OUTSIDE_SET)

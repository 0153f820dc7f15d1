"""The contract a policy's raw output must meet, checked by the run and by the conformance kit alike."""
from __future__ import annotations

from typing import Any

import torch

from wrbench.core.api import Instances, Problem
from wrbench.core.weights import WeightedSamples, normalized


class CellInvalid(Exception):
    """A solver's raw output broke the contract; `code` names how (one of the constants below, or "invalid")."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


NOT_A_TENSOR, WRONG_SHAPE, NOT_FLOATING = "not_a_tensor", "wrong_shape", "not_floating"
NOT_FINITE, OUTSIDE_SET, BAD_WEIGHTS = "not_finite", "outside_set", "bad_weights"


def checked_output(
    problem: Problem, instances: Instances, output: Any, n_samples: int, who: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(samples, weights or None) on the CPU from what `sample`/`solve` returned: a tensor or WeightedSamples.

    Raise CellInvalid unless the samples meet `check_samples` and any weights are (B, S), finite, >= 0 with
    a positive sum per row, for a problem that scores weights; the weights come back normalized (float64).
    """
    weights = None
    if isinstance(output, WeightedSamples):
        output, weights = output.samples, output.weights
    if not isinstance(output, torch.Tensor):
        raise CellInvalid(f"{who} returned {type(output).__name__}, expected a torch.Tensor or WeightedSamples", NOT_A_TENSOR)
    samples = output.detach().cpu()
    check_samples(problem, instances, samples, n_samples, who)
    if weights is None:
        return samples, None
    if not problem.scores_weights:
        raise CellInvalid(f"{who} returned weighted samples, but problem '{problem.name}' does not score weights "
                          "(Problem.scores_weights is False)", BAD_WEIGHTS)
    if not isinstance(weights, torch.Tensor) or tuple(weights.shape) != tuple(samples.shape[:2]):
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise CellInvalid(f"{who} returned weights {shape}, expected a tensor of shape {tuple(samples.shape[:2])}", BAD_WEIGHTS)
    weights = weights.detach().cpu().to(torch.float64)
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()) or not bool((weights.sum(-1) > 0).all()):
        raise CellInvalid(f"{who} returned weights that are not finite and >= 0 with a positive sum per instance", BAD_WEIGHTS)
    return samples, normalized(weights)


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

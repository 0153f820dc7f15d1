"""A policy's best of several candidates: the harness's `select:` step after a solver's sampling.

A generative policy can draw many decisions for one instance at once; where the
problem can score a decision without its reference (`Problem.candidate_scores`),
keeping the best of K draws is the policy's own (timed) work, as in DiffSG's
"parallel sampling ... to obtain multiple solutions". Where the problem offers
an exact completion of a decision's continuous part (`Problem.complete`), it can
be applied first. Both run inside the policy's measured sampling time.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from wrbench.core.api import Context, Instances, Problem, Solver, overrides
from wrbench.core.checks import CellInvalid
from wrbench.core.params import Params
from wrbench.core.weights import WeightedSamples

MAX_CANDIDATES = 1024


@dataclass(frozen=True)
class Selection:
    """Draw `candidates` decisions per requested sample and keep the best; `complete` them first."""

    candidates: int = 1
    complete: bool = False


def unsupported(problem_cls: type[Problem], selection: Selection) -> str | None:
    """Why `problem_cls` cannot apply `selection`, or None."""
    if selection.candidates > 1 and not overrides(problem_cls, "candidate_scores"):
        return f"problem '{problem_cls.name}' cannot score candidate decisions (no candidate_scores), so it " \
               f"cannot keep the best of {selection.candidates}"
    if selection.complete and not overrides(problem_cls, "complete"):
        return f"problem '{problem_cls.name}' offers no exact completion of a decision (no complete)"
    return None


def sample_selected(solver: Solver, problem: Problem, instances: Instances, n_samples: int, ctx: Context,
                    selection: Selection, params: Params) -> torch.Tensor:
    """`n_samples` decisions per instance: each the best of `selection.candidates` of the solver's draws."""
    k = selection.candidates
    drawn = solver.sample(problem, instances, n_samples * k, ctx)
    if isinstance(drawn, WeightedSamples):
        raise CellInvalid(f"solver '{solver.name}' returned weighted samples; `select:` needs plain draws")
    if selection.complete:
        drawn = problem.complete(instances, drawn)
    if k == 1:
        return drawn
    merit, feasible = problem.candidate_scores(instances, drawn, params)
    return drawn.gather(1, best_of(merit, feasible, k).unsqueeze(-1).expand(-1, -1, drawn.shape[-1]))


def best_of(merit: torch.Tensor, feasible: torch.Tensor, k: int) -> torch.Tensor:
    """(B, S) indices into the (B, S * k) candidates: per group of k consecutive ones, the feasible one of
    highest merit, or the one of highest merit where none is feasible."""
    B, total = merit.shape
    merit = torch.nan_to_num(merit.double(), nan=-torch.inf).view(B, total // k, k)
    feasible = feasible.view(B, total // k, k)
    allowed = feasible | ~feasible.any(-1, keepdim=True)
    by_merit = torch.sort(merit, dim=-1, descending=True, stable=True).indices
    first_allowed = allowed.gather(-1, by_merit).to(torch.uint8).argmax(-1, keepdim=True)
    pick = by_merit.gather(-1, first_allowed).squeeze(-1)
    return pick + k * torch.arange(total // k, device=pick.device)

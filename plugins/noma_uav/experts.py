"""Expert for `noma_uav`: the reference search, exact in the powers for each position."""
from __future__ import annotations

import torch

from wrbench.api import Context, Expert, Instances, Problem, repeat_samples
from wrbench.params import Param

from .search import search


class NomaSearch(Expert):
    """Grid (<= 5 m) plus compass search over the UAV position, with the exact power split at every position.

    Tolerance: for each position the split is exact (a certified bisection on the
    strongest user's power, to float64 resolution; see `power`). The position is
    a local optimum to `tol` metres, refined from the best `starts` points of the
    grid; on the tested instances (K = 3, r_min 0 and 1) a 1 m grid refined the
    same way never beat the 5 m default by more than 1e-9 relative. Where r_min
    is unattainable at every grid point the instance is placed as without r_min;
    `diagnostics["rmin_unattainable_frac"]` counts such instances.
    """

    name = "noma_search"
    problems = ("noma_uav",)
    stochastic = False
    test_params = {"grid_step": 25.0}
    parameters = (
        Param("grid_step", float, 5.0, "largest grid spacing over the square (m)", min=1e-3),
        Param("starts", int, 4, "best grid points refined by the compass search", min=1),
        Param("tol", float, 1e-3, "compass search stops below this step (m)", min=1e-9),
        Param("max_iterations", int, 500, "compass search iterations at most", min=1),
    )

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        users, P = instances.arrays["users"].double(), instances.arrays["P"].double()
        found = search(users, P, problem.params.side, problem.link, problem.params.r_min, self.params.grid_step,
                       self.params.starts, self.params.tol, self.params.max_iterations)
        self.diagnostics = {"rmin_unattainable_frac": float((~found.attainable).double().mean())}
        return repeat_samples(found.decisions(), n_samples)

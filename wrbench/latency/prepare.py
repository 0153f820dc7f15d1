"""Turning a case into the call a benchmark times: the problem, its networks and a component ready to sample.

Latency is measured on sampling only, so a learned solver does not need good
weights: it samples with random weights when it can, and otherwise is fitted
with the cheap parameters it declares for this (`Solver.bench_fit_params`), on
targets drawn uniformly from the decision set. Fitted solvers are reused across
batch sizes; the expert is built with its default parameters, as the
reference. `extra_info` records which of these happened.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import torch

from wrbench.core.api import Context, Instances, Problem, Solver, WeightedSamples, derive_seed
from wrbench.core.clock import timed
from wrbench.core.errors import one_line
from wrbench.core.plugins import Registry
from wrbench.latency.calibration import CalibrationKernel, PairedCalibration
from wrbench.latency.cases import Case

SEED = 0
FIT_NETWORKS, FIT_TARGETS = 2, 4


@dataclass
class Prepared:
    """What a benchmark times: `call()` produces S samples for each network of the case."""

    call: Callable[[], torch.Tensor | WeightedSamples]
    extra_info: dict[str, Any]
    first_seconds: float


class Bench:
    """Builds benchmark calls from a registry."""

    def __init__(self, registry: Registry, seed: int = SEED):
        self.registry, self.seed = registry, seed
        self._solvers: dict[tuple[str, str, int, str], tuple[Solver, str]] = {}
        self._kernels: dict[str, CalibrationKernel] = {}

    def calibration(self, device: str, round_seconds: float) -> PairedCalibration:
        """A fresh recorder of the calibration of one benchmark whose first call took `round_seconds`;
        the kernel is built once per device."""
        if device not in self._kernels:
            self._kernels[device] = CalibrationKernel(device)
        return PairedCalibration(self._kernels[device], round_seconds)

    def problem(self, case: Case) -> Problem:
        return self.registry.get("problem", case.problem)({case.size_param: case.n})

    def instances(self, problem: Problem, case: Case) -> Instances:
        """The same networks for every component at (n, batch): the expert's reference is on the solver's networks."""
        return problem.make_instances("bench", case.batch, derive_seed(self.seed, "bench", case.problem, case.n, case.batch))

    def prepare(self, case: Case) -> Prepared:
        if case.error:
            raise RuntimeError(f"{case.name}: {case.error}")
        problem = self.problem(case)
        instances = self.instances(problem, case).to(case.device)
        solver, weights = self._solver(case, problem)
        ctx = Context(derive_seed(self.seed, "bench-sample", case.id), case.device)

        def call() -> torch.Tensor | WeightedSamples:
            return solver.sample(problem, instances, case.samples, ctx)

        out, first = timed(call, case.device)
        expected = (case.batch, case.samples, problem.decision_dim(instances))
        samples = out.samples if isinstance(out, WeightedSamples) else out  # a mixture policy's support
        if not isinstance(samples, torch.Tensor) or tuple(samples.shape) != expected:
            got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(out).__name__
            raise RuntimeError(f"{case.name} returned samples of shape {got}, expected {expected}")
        info = {**case.info(), "weights": weights, "version": str(getattr(solver, "version", "")),
                "first_call_seconds": first, "torch_threads": torch.get_num_threads()}
        return Prepared(call, info, first)

    def _solver(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        key = (case.problem, case.name, case.budget, case.n, case.device)
        if key not in self._solvers:
            self._solvers[key] = self._build(case, problem)
        return self._solvers[key]

    def _build(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        """The component ready to sample, and how its weights came about (for `extra_info`)."""
        solver = self.registry.make_solver(case.name, case.params, case.problem)
        if case.role == "expert":
            return solver, "expert (no learned weights)"
        probe = self.instances(problem, replace(case, batch=1))
        ctx = Context(derive_seed(self.seed, "bench-probe", case.name), case.device)
        try:
            solver.sample(problem, probe.to(case.device), 2, ctx)
            return solver, "random weights (samples unfitted)" if solver.state_dict() else "no learned weights"
        except Exception as unfitted:  # noqa: BLE001 - most likely "must be fitted first"
            if type(solver).fit is Solver.fit:
                raise
            try:
                return self._fit_cheaply(case, problem)
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(f"{case.name} cannot sample unfitted ({one_line(unfitted)}) and a cheap fit "
                                   f"failed ({one_line(exc)})") from exc

    def _fit_cheaply(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        """Fit with the solver's `bench_fit_params` on uniform random targets: random weights, real sampling cost."""
        overrides = dict(getattr(self.registry.solver_class(case.name, case.problem), "bench_fit_params", {}))
        solver = self.registry.make_solver(case.name, {**overrides, **case.params}, case.problem)
        train = problem.make_instances("bench-train", FIT_NETWORKS, derive_seed(self.seed, "bench-train", case.n))
        targets = None
        if solver.needs_expert:
            gen = torch.Generator().manual_seed(derive_seed(self.seed, "bench-targets", case.n))
            targets = problem.decision_set(train).uniform(FIT_TARGETS, problem.decision_dim(train), gen).to(case.device)
        ctx = Context(derive_seed(self.seed, "bench-fit", case.name, case.n), case.device)
        solver.fit(problem, train.to(case.device), targets, ctx)
        shown = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "its default parameters (no bench_fit_params)"
        return solver, f"random weights (fit with {shown} on {FIT_NETWORKS} networks of uniform random targets)"

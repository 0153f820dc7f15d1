"""Conformance kit: check that a solver honours the plugin contract, from any plugin's tests.

    from wrbench.devkit.testing import assert_conformant

    def test_my_solver_conforms():
        assert_conformant("my_solver", plugins=["my_plugin"], params={"epochs": 2})

For every registered problem the solver supports, the kit makes small instances
with the problem itself, fits the solver (on samples of a cheap expert when the
solver needs one) and checks what the harness relies on:

- `fit`: fit runs (with `expert_samples=None` when the solver declares
  `needs_expert = False`, as the harness does);
- `output`: raw samples have shape (B, S, D), a floating dtype, are finite and
  lie in the decision set when the problem's set has `enforce == "invalid"`
  (the harness's own `check_samples`);
- `determinism`: two calls with the same `ctx` seed give identical samples;
- `batch of one` and `one sample`: B = 1 and S = 1 work;
- `inputs not mutated`: instances and expert samples are unchanged by fit and sample;
- `save/load`: `state_dict` -> `torch.save` -> `torch.load(weights_only=True)` ->
  a fresh instance's `load_state_dict` samples exactly the same under the same seed;
- `deterministic policy`: a solver declaring `stochastic = False` returns S
  identical samples per instance;
- `diagnostics`: `solver.diagnostics` holds real numbers;
- `reproducible fit`: a fresh instance fitted with the same `ctx` seed samples identically.

`check_solver` returns every result; `assert_conformant` raises an
AssertionError listing each failed check with what to fix.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import torch

from wrbench.core.api import Context, Expert, Instances, Problem, Solver, derive_seed
from wrbench.core.checks import (BAD_WEIGHTS, NOT_A_TENSOR, NOT_FINITE, NOT_FLOATING, OUTSIDE_SET, WRONG_SHAPE, CellInvalid,
                                 checked_output)
from wrbench.core.weights import plain_samples
from wrbench.core.errors import one_line
from wrbench.core.plugins import DISABLE_ENV, Registry, UnresolvedComponent, load_plugins

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
# The reasons a check fails (`CheckResult.code`); `output` failures carry the sample contract's own codes.
NOT_REGISTERED, SUPPORTS_NONE, UNKNOWN_PROBLEM, PROBLEM_FAILED = "not_registered", "supports_none", "unknown_problem", "problem_failed"
NO_EXPERT, EXPERT_FAILED, CONSTRUCT_FAILED, FIT_RAISED = "no_expert", "expert_failed", "construct_failed", "fit_raised"
MUTATES_INPUTS, SAMPLE_RAISED, NOT_DETERMINISTIC = "mutates_inputs", "sample_raised", "not_deterministic"
SMALL_BATCH_FAILED, SAMPLES_DIFFER, DIAGNOSTIC_NOT_NUMBER = "small_batch_failed", "samples_differ", "diagnostic_not_number"
STATE_FAILED, STATE_NOT_RESTORED, REFIT_FAILED, FIT_NOT_REPRODUCIBLE = ("state_failed", "state_not_restored", "refit_failed",
                                                                      "fit_not_reproducible")
REASONS = (NOT_REGISTERED, SUPPORTS_NONE, UNKNOWN_PROBLEM, PROBLEM_FAILED, NO_EXPERT, EXPERT_FAILED, CONSTRUCT_FAILED,
           FIT_RAISED, MUTATES_INPUTS, SAMPLE_RAISED, NOT_DETERMINISTIC, SMALL_BATCH_FAILED, SAMPLES_DIFFER,
           DIAGNOSTIC_NOT_NUMBER, STATE_FAILED, STATE_NOT_RESTORED, REFIT_FAILED, FIT_NOT_REPRODUCIBLE,
           NOT_A_TENSOR, WRONG_SHAPE, NOT_FLOATING, NOT_FINITE, OUTSIDE_SET, BAD_WEIGHTS)
SETUP_CHECKS = ("registered", "problem", "expert", "construct")
#: The checks of one solver on one problem, in the order they run; a check runs only if those before it
#: that it builds on (fit, output) passed.
CHECKS = ("fit", "inputs not mutated (fit)", "output", "inputs not mutated (sample)", "determinism", "batch of one",
          "one sample", "deterministic policy", "diagnostics", "save/load", "reproducible fit")


@dataclass
class CheckResult:
    """The outcome of one check of one solver on one problem."""

    solver: str
    problem: str
    check: str
    status: str
    message: str = ""
    fix: str = ""
    code: str = ""  # a failure's stable reason (see REASONS): what tests assert on, never the message

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    def __str__(self) -> str:
        where = f"[{self.problem}] " if self.problem else ""
        text = f"{self.status.upper():7} {where}{self.check}"
        if self.message:
            text += f": {self.message}"
        if self.fix and self.status == FAILED:
            text += f"\n          fix: {self.fix}"
        return text


# ---------------------------------------------------------------------------- public API


def check_solver(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    problems: Iterable[str] | None = None,
    problem_params: Mapping[str, Mapping[str, Any]] | None = None,
    expert: Any = None,
    registry: Registry | None = None,
    plugins: Sequence[str] = (),
    n_train: int = 16,
    n_test: int = 4,
    n_samples: int = 4,
    expert_samples: int = 8,
    seed: int = 0,
    device: str = "cpu",
) -> list[CheckResult]:
    """Run every conformance check of solver `name`; returns one result per check and problem.

    Components describe their own cheap configuration: the solver's and the problem's
    `test_params`, and the problem's `test_expert` (built with that expert's `test_params`).

    - `params`: solver parameters, merged over the solver's `test_params` (e.g. `{"epochs": 2}`).
    - `problems`: problem names to check (default: every registered problem the solver supports).
    - `problem_params`: per-problem parameter overrides, merged over each problem's `test_params`.
    - `expert`: the expert giving training samples: a name, `(name, params)`, or a mapping
      problem name -> either (default: the problem's `test_expert`, else the first supporting expert).
    - `registry`: loaded plugins (default: entry points plus the `plugins` modules, as `-p`).
    - sizes: `n_train` training instances with `expert_samples` samples each, `n_test` test
      instances with `n_samples` samples each.
    """
    registry = registry if registry is not None else load_plugins(tuple(plugins))
    if not registry.has("solver", name):
        return [_missing_solver(name, registry)]
    selected = sorted(registry.names("problem")) if problems is None else list(problems)
    results: list[CheckResult] = []
    supported = 0
    for problem_name in selected:
        checker = _ProblemChecks(name, problem_name, params, problem_params, expert, registry,
                                 n_train, n_test, n_samples, expert_samples, seed, device)
        results.extend(checker.run())
        supported += checker.supported
    if supported == 0 and all(r.ok for r in results):
        results.append(CheckResult(
            name, "", "supported problems", FAILED,
            f"supports none of the problems checked ({', '.join(selected) or 'none registered'})"
            + (" (entry points are disabled by WRBENCH_DISABLE_ENTRY_POINTS)" if not selected and
               os.environ.get(DISABLE_ENV, "") in ("1", "true", "yes") else ""),
            "install the plugin of a problem it supports, pass problems=[...], or check `problems` / "
            "`requires` / `supports()` of the solver class", SUPPORTS_NONE))
    return results


def assert_conformant(name: str, **kwargs: Any) -> list[CheckResult]:
    """`check_solver(name, **kwargs)`, raising an AssertionError that lists every failed check."""
    results = check_solver(name, **kwargs)
    failed = [r for r in results if not r.ok]
    if failed:
        raise AssertionError(format_results(name, results, only_failed=True))
    return results


def format_results(name: str, results: Sequence[CheckResult], only_failed: bool = False) -> str:
    """A readable report: a header line, then one line (plus a fix) per shown result."""
    failed = [r for r in results if not r.ok]
    counted = [r for r in results if r.status != SKIPPED]
    head = (f"solver '{name}' failed {len(failed)} of {len(counted)} conformance checks:" if failed
            else f"solver '{name}' passed all {len(counted)} conformance checks")
    shown = failed if only_failed else results
    return "\n".join([head, *("  " + str(r) for r in shown)])


def conformance_cases(name: str, **kwargs: Any) -> list[Any]:
    """One pytest case per (problem, check) of solver `name`, each a callable that passes, fails with the
    check's message and fix, or skips with its reason:

        @pytest.mark.parametrize("check", conformance_cases("my_solver", plugins=["my_plugin"]))
        def test_conformance(check):
            check()

    `kwargs` are those of `check_solver`. The cases are listed without running anything; the first
    case to run runs every check once (a fit per problem), and the others read its results.
    """
    import pytest

    registry = kwargs.pop("registry", None)
    registry = registry if registry is not None else load_plugins(tuple(kwargs.pop("plugins", ())))
    run = _SharedRun(name, registry, kwargs)
    problems = run.problems()
    if not problems:
        return [pytest.param(_Case(run, "", "registered"), id=f"{name}-registered")]
    return [pytest.param(_Case(run, problem, check), id=f"{name}-{problem}-{check}")
            for problem in problems for check in CHECKS]


class _SharedRun:
    """`check_solver` run once, on the first case that needs it."""

    def __init__(self, name: str, registry: Registry, kwargs: dict[str, Any]):
        self.name, self.registry, self.kwargs = name, registry, kwargs
        self._results: list[CheckResult] | None = None

    def problems(self) -> list[str]:
        if not self.registry.has("solver", self.name):
            return []
        wanted = self.kwargs.get("problems")
        return list(wanted) if wanted is not None else sorted(self.registry.names("problem"))

    def results(self) -> list[CheckResult]:
        if self._results is None:
            self._results = check_solver(self.name, registry=self.registry, **self.kwargs)
        return self._results


@dataclass
class _Case:
    run: _SharedRun
    problem: str
    check: str

    def __call__(self) -> None:
        import pytest

        # what stopped the kit before fitting (problem, expert, constructor) is the fit case's failure
        checks = {self.check, *SETUP_CHECKS} if self.check == CHECKS[0] else {self.check}
        found = [r for r in self.run.results() if r.problem in (self.problem, "") and r.check in checks]
        failed = [r for r in found if r.status == FAILED]
        if failed:
            raise AssertionError("\n".join(str(r) for r in failed))
        if not found:
            before = [r for r in self.run.results() if r.problem == self.problem and r.status != PASSED]
            reason = before[0] if before else "the check does not apply"
            pytest.skip(f"not run: {reason}")
        skipped = [r for r in found if r.status == SKIPPED]
        if skipped and len(skipped) == len(found):
            pytest.skip(skipped[0].message)

    def __repr__(self) -> str:  # the case's id in pytest's listing
        return f"{self.run.name}[{self.problem}] {self.check}"


# ---------------------------------------------------------------------------- internals


def _missing_solver(name: str, registry: Registry) -> CheckResult:
    failures = "; ".join(f"plugin '{r.name}' failed to load: {r.error}" for r in registry.failures()
                         if "already loaded" not in (r.error or ""))
    known = ", ".join(registry.names("solver")) or "none"
    message = f"no solver '{name}' is registered (known: {known})"
    if failures:
        message += f"; {failures}"
    return CheckResult(name, "", "registered", FAILED, message, code=NOT_REGISTERED, fix=
                       "install the plugin (`pip install -e .`) or pass plugins=['your_module'], and check that "
                       "its register_solvers hook registers a class with this `name`")


def _declared_test_params(registry: Registry, kind: str, name: str, problem: str) -> dict[str, Any]:
    """A component's own `test_params` (none when it is not registered or its name is ambiguous)."""
    try:
        cls = registry.solver_class(name, problem) if kind == "solver" else registry.get(kind, name, problem)
    except LookupError:  # not registered, or a name whose variants serve other problems
        return {}
    return dict(getattr(cls, "test_params", {}) or {})


class _Setup(Exception):
    """The kit could not prepare a check (not the solver's fault, or the solver's constructor)."""

    def __init__(self, check: str, code: str, message: str, fix: str = ""):
        super().__init__(message)
        self.check, self.code, self.message, self.fix = check, code, message, fix


class _ProblemChecks:
    """All checks of one solver on one problem."""

    def __init__(self, name, problem_name, params, problem_params, expert, registry, n_train, n_test, n_samples,
                 expert_samples, seed, device):
        self.name, self.problem_name, self.registry = name, problem_name, registry
        self.params = {**_declared_test_params(registry, "solver", name, problem_name), **dict(params or {})}
        self.problem_params = {**_declared_test_params(registry, "problem", problem_name, problem_name),
                               **dict((problem_params or {}).get(problem_name, {}))}
        self.expert_choice = expert
        self.n_train, self.n_test, self.S, self.n_expert = n_train, n_test, n_samples, expert_samples
        self.seed, self.device = seed, device
        self.results: list[CheckResult] = []
        self.supported = False

    # ---- bookkeeping
    def _add(self, check: str, status: str, message: str = "", fix: str = "", code: str = "") -> None:
        self.results.append(CheckResult(self.name, self.problem_name, check, status, message, fix, code))

    def _ctx(self, *parts: Any) -> Context:
        return Context(derive_seed(self.seed, "conformance", self.problem_name, *parts), self.device)

    def new_solver(self) -> Solver:
        try:
            return self.registry.make_solver(self.name, self.params, self.problem_name)
        except UnresolvedComponent:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _Setup("construct", CONSTRUCT_FAILED, f"{self.name}({self.params}) raised {one_line(exc)}",
                         "the solver must be constructible from its declared `parameters` (check `params=`)") from exc

    # ---- driver
    def run(self) -> list[CheckResult]:
        try:
            self._run()
        except _Setup as exc:
            self._add(exc.check, FAILED, exc.message, exc.fix, exc.code)
        return self.results

    def _run(self) -> None:
        if not self.registry.has("problem", self.problem_name):
            raise _Setup("problem", UNKNOWN_PROBLEM, f"no problem '{self.problem_name}' is registered "
                         f"(known: {', '.join(self.registry.names('problem')) or 'none'})",
                         "install the problem's plugin or drop it from problems=[...]")
        try:
            problem: Problem = self.registry.get("problem", self.problem_name)(self.problem_params)
        except Exception as exc:  # noqa: BLE001
            raise _Setup("problem", PROBLEM_FAILED, f"{self.problem_name}({self.problem_params}) raised {one_line(exc)}",
                         "fix problem_params= for this problem") from exc
        try:
            solver = self.new_solver()
        except UnresolvedComponent as exc:  # a name with variants for other problems only
            self._add("supports", SKIPPED, str(exc))
            return
        reason = solver.supports(problem)
        if reason:
            self._add("supports", SKIPPED, reason)
            return
        self.supported = True
        train = problem.make_instances("train", self.n_train, derive_seed(self.seed, "train"))
        test = problem.make_instances("test", self.n_test, derive_seed(self.seed, "test"))
        expert_x = self._expert_samples(problem, train) if solver.needs_expert else None

        if not self._check_fit(solver, problem, train, expert_x):
            return
        samples = self._check_output(solver, problem, test)
        if samples is None:
            return
        self._check_determinism(solver, problem, test, samples)
        self._check_small(solver, problem, test)
        self._check_deterministic_policy(solver, samples)
        self._check_diagnostics(solver)
        self._check_round_trip(problem, test, solver, samples)
        self._check_refit(problem, train, test, expert_x, samples)

    # ---- setup
    def _expert(self, problem: Problem) -> Expert:
        choice = self.expert_choice
        if isinstance(choice, Mapping):
            choice = choice.get(self.problem_name)
        if choice is None and problem.test_expert and self.registry.has("expert", problem.test_expert):
            choice = problem.test_expert
        if choice is None:
            choice = self.registry.first_expert_for(problem)
        if choice is None:
            raise _Setup("expert", NO_EXPERT, f"the solver needs expert samples, but no registered expert supports "
                         f"'{self.problem_name}'", "install the problem's plugin (with its experts) or pass expert=")
        expert_name, expert_params = (choice, None) if isinstance(choice, str) else choice
        if expert_params is None:  # named without parameters: its own cheap configuration
            expert_params = _declared_test_params(self.registry, "expert", expert_name, self.problem_name)
        try:
            expert = self.registry.get("expert", expert_name, self.problem_name)(dict(expert_params))
        except Exception as exc:  # noqa: BLE001
            raise _Setup("expert", EXPERT_FAILED, f"cannot make expert '{expert_name}': {one_line(exc)}", "fix expert=") from exc
        reason = expert.supports(problem)
        if reason:
            raise _Setup("expert", NO_EXPERT, reason, "pass an expert that supports this problem with expert=")
        return expert

    def _expert_samples(self, problem: Problem, train: Instances) -> torch.Tensor:
        expert = self._expert(problem)
        try:
            ctx = self._ctx("expert")
            output = expert.solve(problem, train.to(self.device), self.n_expert, ctx)
            x, weights = checked_output(problem, train, output, self.n_expert, f"expert '{expert.name}'")
            x = plain_samples(x, weights, ctx.generator("kit", "resample", device="cpu"))
        except Exception as exc:  # noqa: BLE001
            raise _Setup("expert", EXPERT_FAILED, f"expert '{expert.name}' failed: {one_line(exc)}",
                         "pass a working expert with expert=") from exc
        return x

    # ---- checks
    def _check_fit(self, solver: Solver, problem: Problem, train: Instances, expert_x: torch.Tensor | None) -> bool:
        before = train.fingerprint()
        expert_copy = expert_x.clone() if expert_x is not None else None
        on_device = expert_x.to(self.device) if expert_x is not None else None
        try:
            solver.fit(problem, train.to(self.device), on_device, self._ctx("fit"))
        except Exception as exc:  # noqa: BLE001
            if expert_x is None:
                fix = ("the solver declares needs_expert = False, so the harness calls fit(..., expert_samples=None): "
                       "handle None, or set needs_expert = True")
            else:
                fix = f"fit(problem, instances, expert_samples {tuple(expert_x.shape)}, ctx) must not raise"
            self._add("fit", FAILED, f"fit raised {one_line(exc)}", fix, code=FIT_RAISED)
            return False
        self._add("fit", PASSED, "with expert samples" if expert_x is not None else "with expert_samples=None")
        mutated = []
        if train.fingerprint() != before:
            mutated.append("the training instances")
        if expert_x is not None and not torch.equal(expert_x, expert_copy):
            mutated.append("the expert samples")
        self._mutation_result("fit", mutated)
        return True

    def _mutation_result(self, stage: str, mutated: list[str]) -> None:
        if mutated:
            self._add(f"inputs not mutated ({stage})", FAILED, f"{stage} modified {' and '.join(mutated)} in place",
                      "the harness shares its inputs between solvers: clone before editing "
                      "(instances.clone(), tensor.clone()) and never use in-place ops (add_, clamp_, x[...] =) on them",
                      code=MUTATES_INPUTS)
        else:
            self._add(f"inputs not mutated ({stage})", PASSED)

    def _sample(self, solver: Solver, problem: Problem, instances: Instances, n: int, ctx: Context) -> torch.Tensor:
        x, _ = checked_output(problem, instances, solver.sample(problem, instances.to(self.device), n, ctx), n, "solver")
        return x

    def _check_output(self, solver: Solver, problem: Problem, test: Instances) -> torch.Tensor | None:
        before = test.fingerprint()
        try:
            x = self._sample(solver, problem, test, self.S, self._ctx("sample"))
        except CellInvalid as exc:
            self._add("output", FAILED, str(exc), _output_fix(str(exc)), code=exc.code)
            return None
        except Exception as exc:  # noqa: BLE001
            self._add("output", FAILED, f"sample raised {one_line(exc)}",
                      "sample(problem, instances, n_samples, ctx) must return a (B, n_samples, D) tensor", code=SAMPLE_RAISED)
            return None
        D = problem.decision_dim(test)
        self._add("output", PASSED, f"shape {tuple(x.shape)} (B, S, D={D}), {x.dtype}, finite, "
                  f"decision set ({problem.decision_set(test).describe()}, enforce={problem.decision_set(test).enforce})")
        self._mutation_result("sample", [] if test.fingerprint() == before else ["the test instances"])
        return x

    def _check_determinism(self, solver: Solver, problem: Problem, test: Instances, first: torch.Tensor) -> None:
        try:
            again = self._sample(solver, problem, test, self.S, self._ctx("sample"))
        except Exception as exc:  # noqa: BLE001
            self._add("determinism", FAILED, f"a second sample() call failed: {one_line(exc)}",
                      "sample() must work when called repeatedly on a fitted solver", code=SAMPLE_RAISED)
            return
        if torch.equal(first, again):
            self._add("determinism", PASSED, "same ctx seed, same samples")
        else:
            diff = float((first.double() - again.double()).abs().max())
            self._add("determinism", FAILED, f"two sample() calls with the same ctx seed differ (max |diff| {diff:.3g})",
                      "draw all randomness from ctx.generator(...) or ctx.rng(...), never from the global "
                      "torch/numpy/random state, and keep no state that changes between sample() calls", code=NOT_DETERMINISTIC)

    def _check_small(self, solver: Solver, problem: Problem, test: Instances) -> None:
        for check, instances, n in (("batch of one", test.select(slice(0, 1)), self.S), ("one sample", test, 1)):
            try:
                self._sample(solver, problem, instances, n, self._ctx("small", check))
            except Exception as exc:  # noqa: BLE001
                self._add(check, FAILED, f"B={len(instances)}, S={n}: {one_line(exc) if not isinstance(exc, CellInvalid) else exc}",
                          "avoid squeeze() and shape assumptions that break when B or S is 1 (the harness warms "
                          "up on one instance)", code=SMALL_BATCH_FAILED)
            else:
                self._add(check, PASSED, f"B={len(instances)}, S={n}")

    def _check_deterministic_policy(self, solver: Solver, samples: torch.Tensor) -> None:
        if solver.stochastic:
            self._add("deterministic policy", SKIPPED, "declares stochastic = True")
            return
        if torch.equal(samples, samples[:, :1].expand_as(samples)):
            self._add("deterministic policy", PASSED, "stochastic = False and the S samples of each instance are identical")
        else:
            self._add("deterministic policy", FAILED, "declares stochastic = False but the samples of an instance differ",
                      "set stochastic = True on the class, or return the same allocation for every sample", code=SAMPLES_DIFFER)

    def _check_diagnostics(self, solver: Solver) -> None:
        diagnostics = getattr(solver, "diagnostics", None)
        bad = None
        if not isinstance(diagnostics, Mapping):
            bad = f"diagnostics is {type(diagnostics).__name__}, expected a dict"
        else:
            for key, value in diagnostics.items():
                try:
                    float(value)
                except (TypeError, ValueError):
                    bad = f"diagnostics['{key}'] = {value!r} is not a number"
                    break
        if bad:
            self._add("diagnostics", FAILED, bad,
                      "diagnostics feed the leaderboard: a dict of metric name -> float (call super().__init__)", code=DIAGNOSTIC_NOT_NUMBER)
        else:
            self._add("diagnostics", PASSED, ", ".join(diagnostics) or "none")

    def _check_round_trip(self, problem: Problem, test: Instances, solver: Solver, samples: torch.Tensor) -> None:
        check = "save/load"
        step = "state_dict()"
        try:
            state = solver.state_dict()
            if not state:
                self._add(check, SKIPPED, "state_dict() is empty: the harness refits the solver for every cell "
                          "(fine for a solver without fitted state)")
                return
            step = "torch.save(state_dict())"
            buffer = io.BytesIO()
            torch.save(state, buffer)
            buffer.seek(0)
            step = "torch.load(weights_only=True)"
            loaded = torch.load(buffer, weights_only=True)
            step = "load_state_dict() on a fresh instance"
            fresh = self.new_solver()
            fresh.load_state_dict(loaded)
            step = "sample() after load_state_dict()"
            again = self._sample(fresh, problem, test, self.S, self._ctx("sample"))
        except _Setup:
            raise
        except Exception as exc:  # noqa: BLE001
            fixes = {
                "torch.load(weights_only=True)": "state_dict() must hold only tensors, numbers, strings, None, and "
                                                 "lists/tuples/dicts of them (no numpy arrays, modules or custom objects)",
                "sample() after load_state_dict()": "state_dict() must hold everything sample() needs: the harness "
                                                    "loads a cached model into a fresh instance and never calls fit",
            }
            self._add(check, FAILED, f"{step} failed: {one_line(exc)}",
                      fixes.get(step, f"make {step} work with what state_dict() returns"), code=STATE_FAILED)
            return
        if torch.equal(samples, again):
            self._add(check, PASSED, "a fresh instance loaded from the saved state samples identically")
        else:
            diff = float((samples.double() - again.double()).abs().max())
            self._add(check, FAILED, f"a fresh instance loaded from state_dict() samples differently (max |diff| {diff:.3g})",
                      "state_dict() must hold everything sample() uses (weights, normalization statistics, "
                      "parameters) and load_state_dict() must restore all of it", code=STATE_NOT_RESTORED)


    def _check_refit(self, problem: Problem, train: Instances, test: Instances, expert_x: torch.Tensor | None,
                     samples: torch.Tensor) -> None:
        check = "reproducible fit"
        try:
            fresh = self.new_solver()
            fresh.fit(problem, train.to(self.device), expert_x.to(self.device) if expert_x is not None else None,
                      self._ctx("fit"))
            again = self._sample(fresh, problem, test, self.S, self._ctx("sample"))
        except _Setup:
            raise
        except Exception as exc:  # noqa: BLE001
            self._add(check, FAILED, f"a second fit + sample on a fresh instance failed: {one_line(exc)}",
                      "fit must work on every fresh instance (no class-level or module-level state)", code=REFIT_FAILED)
            return
        if torch.equal(samples, again):
            self._add(check, PASSED, "a fresh instance fitted with the same ctx seed samples identically")
        else:
            diff = float((samples.double() - again.double()).abs().max())
            self._add(check, FAILED, f"two fits with the same ctx seed give different samples (max |diff| {diff:.3g})",
                      "seed everything in fit from ctx (ctx.generator(...) for data order and noise; for weight "
                      "initialization, torch.manual_seed(ctx.generator('init').initial_seed()) inside "
                      "torch.random.fork_rng()), so results are reproducible from the suite seed", code=FIT_NOT_REPRODUCIBLE)


def _output_fix(message: str) -> str:
    if "shape" in message:
        return "return a tensor of shape (len(instances), n_samples, problem.decision_dim(instances))"
    if "floating" in message:
        return "return a floating-point tensor (float32 or float64)"
    if "NaN" in message:
        return "guard divisions and logs against 0, and check training for divergence"
    if "decision set" in message:
        return "map raw samples into the set: x = problem.decision_set(instances).project(x)"
    if "torch.Tensor" in message:
        return "return a torch.Tensor, not a numpy array or list"
    return "see the message"


__all__ = ["CHECKS", "REASONS", "CheckResult", "check_solver", "assert_conformant", "conformance_cases", "format_results",
           "NOT_REGISTERED", "SUPPORTS_NONE", "UNKNOWN_PROBLEM", "PROBLEM_FAILED", "NO_EXPERT", "EXPERT_FAILED", "CONSTRUCT_FAILED", "FIT_RAISED", "MUTATES_INPUTS", "SAMPLE_RAISED", "NOT_DETERMINISTIC", "SMALL_BATCH_FAILED", "SAMPLES_DIFFER", "DIAGNOSTIC_NOT_NUMBER", "STATE_FAILED", "STATE_NOT_RESTORED", "REFIT_FAILED", "FIT_NOT_REPRODUCIBLE", "NOT_A_TENSOR", "WRONG_SHAPE", "NOT_FLOATING", "NOT_FINITE", "OUTSIDE_SET", "BAD_WEIGHTS"]

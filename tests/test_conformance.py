"""The conformance kit (`wrbench.testing`): it catches broken solvers, and every bundled solver passes it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wrbench import testing
from wrbench.api import Solver
from wrbench.core.plugins import load_plugins
from wrbench.params import Param
from wrbench.testing import CHECKS, CheckResult, assert_conformant, check_solver, conformance_cases

# ------------------------------------------------------------------ deliberately broken solvers


class GlobalRandom(Solver):
    """Claims to be deterministic but draws from the global torch RNG."""

    name = "t_global_random"
    needs_expert = False
    stochastic = False

    def sample(self, problem, instances, n_samples, ctx):
        x = torch.rand(len(instances), 1, problem.decision_dim(instances), dtype=torch.float64)
        return x.expand(-1, n_samples, -1).clone()


class VariesPerSample(Solver):
    """Seeded, but declares stochastic = False and returns different samples per instance."""

    name = "t_varies"
    needs_expert = False
    stochastic = False

    def sample(self, problem, instances, n_samples, ctx):
        shape = (len(instances), n_samples, problem.decision_dim(instances))
        return torch.rand(shape, generator=ctx.generator("x"), dtype=torch.float64)


class RefusesNone(Solver):
    """Declares needs_expert = False, yet fit needs expert samples."""

    name = "t_refuses_none"
    needs_expert = False
    stochastic = False

    def fit(self, problem, instances, expert_samples, ctx):
        self.level = float(expert_samples.mean())

    def sample(self, problem, instances, n_samples, ctx):
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), 0.5, dtype=torch.float64)


class Squeezes(VariesPerSample):
    """Breaks on a batch of one (squeeze)."""

    name = "t_squeezes"
    stochastic = True

    def sample(self, problem, instances, n_samples, ctx):
        return super().sample(problem, instances, n_samples, ctx).squeeze()


class EditsExpert(Solver):
    """Clamps the expert samples in place during fit."""

    name = "t_edits_expert"
    stochastic = False

    def fit(self, problem, instances, expert_samples, ctx):
        expert_samples.clamp_(0.4, 0.6)

    def sample(self, problem, instances, n_samples, ctx):
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), 0.5, dtype=torch.float64)


class ForgetfulState(Solver):
    """Fits a level but its state_dict leaves it out."""

    name = "t_forgetful"
    stochastic = False
    parameters = (Param("level", float, 0.1, "unfitted level"),)

    def __init__(self, params=None, **overrides):
        super().__init__(params, **overrides)
        self.level = self.params.level

    def fit(self, problem, instances, expert_samples, ctx):
        self.level = float(expert_samples.mean())

    def sample(self, problem, instances, n_samples, ctx):
        return torch.full((len(instances), n_samples, problem.decision_dim(instances)), self.level, dtype=torch.float64)

    def state_dict(self):
        return {"version": 1}


class NumpyState(ForgetfulState):
    """Saves a numpy array, which torch.load(weights_only=True) refuses."""

    name = "t_numpy_state"

    def state_dict(self):
        return {"level": np.array([self.level])}

    def load_state_dict(self, state):
        self.level = float(state["level"][0])


class TextDiagnostics(VariesPerSample):
    """Leaves a string in diagnostics."""

    name = "t_text_diag"
    stochastic = True

    def sample(self, problem, instances, n_samples, ctx):
        self.diagnostics = {"note": "hello"}
        return super().sample(problem, instances, n_samples, ctx)


class OnlyElsewhere(VariesPerSample):
    """Supports a problem nobody registered."""

    name = "t_elsewhere"
    problems = ("nowhere",)


BROKEN = (GlobalRandom, VariesPerSample, RefusesNone, Squeezes, EditsExpert, ForgetfulState, NumpyState,
          TextDiagnostics, OnlyElsewhere)


@pytest.fixture
def registry(toy_only):
    reg = load_plugins(["toy_plugin"], entry_points=False)
    for cls in BROKEN:
        reg.add("solver", cls, "test_conformance")
    return reg


def failed(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results if not r.ok}


def test_good_toy_solvers_pass(registry):
    for name in ("toy_mean", "toy_half"):
        results = assert_conformant(name, registry=registry)
        checks = {r.check for r in results if r.status == "passed"}
        assert {"fit", "output", "determinism", "batch of one", "one sample", "inputs not mutated (sample)"} <= checks


@pytest.mark.parametrize("name, params, check, code", [
    ("toy_bad", {"mode": "nan"}, "output", testing.NOT_FINITE),
    ("toy_bad", {"mode": "shape"}, "output", testing.WRONG_SHAPE),
    ("toy_bad", {"mode": "outside"}, "output", testing.OUTSIDE_SET),
    ("toy_bad", {"mode": "raise"}, "output", testing.SAMPLE_RAISED),
    ("toy_bad", {"mode": "mutate"}, "inputs not mutated (sample)", testing.MUTATES_INPUTS),
    ("t_global_random", None, "determinism", testing.NOT_DETERMINISTIC),
    ("t_varies", None, "deterministic policy", testing.SAMPLES_DIFFER),
    ("t_refuses_none", None, "fit", testing.FIT_RAISED),
    ("t_squeezes", None, "batch of one", testing.SMALL_BATCH_FAILED),
    ("t_edits_expert", None, "inputs not mutated (fit)", testing.MUTATES_INPUTS),
    ("t_forgetful", None, "save/load", testing.STATE_NOT_RESTORED),
    ("t_numpy_state", None, "save/load", testing.STATE_FAILED),
    ("t_text_diag", None, "diagnostics", testing.DIAGNOSTIC_NOT_NUMBER),
    ("t_elsewhere", None, "supported problems", testing.SUPPORTS_NONE),
])
def test_contract_breaches_are_caught_with_their_reason_and_a_fix(registry, name, params, check, code):
    bad = failed(check_solver(name, params=params, registry=registry, problems=None if params else ["toy"]))
    assert check in bad, bad
    assert bad[check].code == code and bad[check].fix


def test_every_failure_carries_a_declared_reason(registry):
    results = [r for name in ("t_global_random", "t_varies", "t_refuses_none", "t_forgetful", "t_numpy_state")
               for r in check_solver(name, registry=registry, problems=["toy"]) if not r.ok]
    assert results and all(r.code in testing.REASONS for r in results), [(r.check, r.code) for r in results]


def test_needs_expert_false_gets_none_and_the_fix_says_so(registry):
    bad = failed(check_solver("t_refuses_none", registry=registry, problems=["toy"]))
    assert "needs_expert = False" in bad["fit"].fix


def test_assert_conformant_lists_every_failure_with_a_fix(registry):
    with pytest.raises(AssertionError) as info:
        assert_conformant("t_global_random", registry=registry, problems=["toy"])
    text = str(info.value)
    assert "solver 't_global_random' failed" in text
    assert "determinism" in text and "fix: draw all randomness from ctx.generator" in text


def test_unknown_solver_and_unknown_problem(registry):
    (missing,) = check_solver("no_such_solver", registry=registry)
    assert missing.check == "registered" and "toy_mean" in missing.message
    bad = failed(check_solver("toy_half", registry=registry, problems=["nowhere"]))
    assert "no problem 'nowhere'" in bad["problem"].message


def test_unsupported_problems_are_skipped_not_failed(toy_only):
    reg = load_plugins(["toy_plugin", "noflat_plugin"], entry_points=False)
    results = check_solver("toy_mean", registry=reg)
    skipped = [r for r in results if r.status == "skipped" and r.check == "supports"]
    assert [r.problem for r in skipped] == ["toy_noflat"]
    assert all(r.ok for r in results)


# ------------------------------------------------------------------ every bundled solver passes

#: Tiny budgets; each solver gets the keys it declares (the parameter lists are still evolving).
TINY = {"train_steps": 3, "epochs": 2, "steps": 3, "iterations": 5, "hidden": 16, "layers": 1, "depth": 1,
        "diffusion_steps": 8, "sample_steps": 2, "batch_size": 16, "batch_samples": 4}
BUNDLED = ("full_power", "wmmse", "random", "uniform", "random_budget", "gdm", "cfg", "discriminative")


@pytest.fixture(scope="module")
def bundled():
    return load_plugins(entry_points=True)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_solver_is_conformant(bundled, name):
    if not bundled.has("solver", name):
        pytest.skip(f"bundled solver '{name}' is not registered (yet)")
    declared = {p.name for cls in bundled.variants("solver", name) for p in cls.parameters}  # one per problem
    params = {k: v for k, v in TINY.items() if k in declared}
    results = assert_conformant(name, registry=bundled, params=params, n_train=8, n_test=3, n_samples=3,
                                expert_samples=4)
    assert any(r.check == "output" and r.status == "passed" for r in results)


class UnseededFit(ForgetfulState):
    """Fits a level from the global RNG."""

    name = "t_unseeded_fit"

    def fit(self, problem, instances, expert_samples, ctx):
        self.level = float(torch.rand(()))

    def state_dict(self):
        return {"level": self.level}

    def load_state_dict(self, state):
        self.level = state["level"]


def test_unseeded_fit_is_caught(registry):
    registry.add("solver", UnseededFit, "test_conformance")
    bad = failed(check_solver("t_unseeded_fit", registry=registry, problems=["toy"]))
    assert list(bad) == ["reproducible fit"]
    assert "torch.random.fork_rng" in bad["reproducible fit"].fix


def test_example_package_is_conformant(bundled, monkeypatch):
    """examples/wrbench-example-solver, loaded with -p next to the bundled plugins (CI also pip-installs it)."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "examples" / "wrbench-example-solver"))
    registry = load_plugins(["wrbench_example_solver"], entry_points=True)
    assert registry.owners[registry.get("solver", "gaussian")] in ("wrbench_example_solver", "example_solver")
    assert {"gdm", "full_power", "uniform"} <= set(registry.names("solver"))
    results = assert_conformant("gaussian", registry=registry, n_train=8, n_test=3, n_samples=3, expert_samples=4)
    assert {r.problem for r in results if r.check == "save/load" and r.status == "passed"} >= {"power_control", "sum_rate"}


# ------------------------------------------------------------------ one pytest case per check


def _outcome(case) -> str:
    try:
        case.values[0]()
    except AssertionError as exc:
        return f"failed: {exc}"
    except pytest.skip.Exception as exc:
        return f"skipped: {exc}"
    return "passed"


def test_each_check_is_its_own_case_and_only_the_breached_ones_fail(registry):
    cases = conformance_cases("t_global_random", registry=registry, problems=["toy"])
    outcomes = {case.id: _outcome(case) for case in cases}
    assert list(outcomes) == [f"t_global_random-toy-{check}" for check in CHECKS]
    failed_ids = [case_id for case_id, outcome in outcomes.items() if outcome.startswith("failed")]
    # global randomness breaks exactly the two checks that sample twice with one seed
    assert failed_ids == ["t_global_random-toy-determinism", "t_global_random-toy-reproducible fit"], outcomes
    assert "fix: draw all randomness" in outcomes["t_global_random-toy-determinism"]
    assert outcomes["t_global_random-toy-fit"] == "passed"


def test_a_failed_fit_fails_its_case_and_skips_the_checks_that_need_it(registry):
    outcomes = {case.id: _outcome(case) for case in conformance_cases("t_refuses_none", registry=registry,
                                                                          problems=["toy"])}
    assert outcomes["t_refuses_none-toy-fit"].startswith("failed") and "fit raised" in outcomes["t_refuses_none-toy-fit"]
    assert outcomes["t_refuses_none-toy-output"].startswith("skipped: not run")


def test_an_unknown_solver_is_one_failing_case(registry):
    (case,) = conformance_cases("no_such_solver", registry=registry)
    assert case.id == "no_such_solver-registered" and "no solver 'no_such_solver'" in _outcome(case)

"""Components' self-descriptions (smoke-test and latency settings) are checked when their plugin loads."""
from __future__ import annotations

import pytest

from wrbench.core.plugins import load_plugins

HEADER = '''
from wrbench import hookimpl
from wrbench.api import Problem, Solver
from wrbench.params import Param

WRBENCH_API_VERSION = "1.0"
'''

COMPONENT = '''
class Declares({base}):
    name = "declares"
    parameters = (Param("{param}", int, 3, "a size or a budget", min=1),)
    {{attr}}

@hookimpl
def register_{kind}s(register):
    register(Declares)
'''
SOLVER = COMPONENT.format(base="Solver", param="steps", kind="solver")
PROBLEM = COMPONENT.format(base="Problem", param="dim", kind="problem")


def _load(tmp_path, monkeypatch, template: str, attr: str):
    module = f"declares_{abs(hash(attr))}"
    (tmp_path / f"{module}.py").write_text(HEADER + template.format(attr=attr))
    monkeypatch.syspath_prepend(str(tmp_path))
    (record,) = load_plugins([module], entry_points=False).records
    return record


@pytest.mark.parametrize("template, attr, message", [
    (SOLVER, 'test_params = {"stepz": 2}', "solver 'declares': `test_params` {'stepz': 2} do not resolve"),
    (SOLVER, 'bench_fit_params = {"steps": 0}', "solver 'declares': `bench_fit_params` {'steps': 0} do not resolve"),
    (PROBLEM, 'test_params = {"dim": "three"}', "problem 'declares': `test_params`"),
    (PROBLEM, 'test_expert = 3', "problem 'declares': `test_expert` must be an expert's name, got 3"),
    (PROBLEM, 'size_parameter = "n"; bench_sizes = {"cpu": (2, 4)}',
     "problem 'declares': `bench_sizes` needs `size_parameter` to name one of its parameters (dim), got 'n'"),
    (PROBLEM, 'size_parameter = "dim"; bench_sizes = {"cpu": (2, -4)}',
     "problem 'declares': `bench_sizes` must map a device kind to positive integer sizes"),
    (PROBLEM, 'size_parameter = "dim"; bench_sizes = (2, 4)',
     "problem 'declares': `bench_sizes` must map a device kind to positive integer sizes"),
    (SOLVER, 'budget_parameter = "steps"',  # a budget that changes the fit: a frontier could not reuse one fit
     "solver 'declares': budget parameter 'steps' must be declared sampling_only=True"),
    (SOLVER, 'budget_parameter = "stepz"', "solver 'declares': `budget_parameter` must name one of its int parameters"),
    (SOLVER, 'bench_budgets = (2, 4)', "solver 'declares': `bench_budgets` needs a `budget_parameter`"),
])
def test_a_wrong_self_description_fails_the_plugin_naming_it(tmp_path, monkeypatch, toy_only, template, attr, message):
    record = _load(tmp_path, monkeypatch, template, attr)
    assert record.status == "failed" and record.error.startswith(message), record.error


@pytest.mark.parametrize("template, attr", [
    (SOLVER, 'test_params = {"steps": 2}; bench_fit_params = {"steps": 1}'),
    (SOLVER, 'parameters = (Param("steps", int, 3, "calls", min=1, sampling_only=True),); budget_parameter = "steps"; '
             'bench_budgets = (1, 4)'),
    (PROBLEM, 'test_params = {"dim": 2}; test_expert = "any"; size_parameter = "dim"; bench_sizes = {"cpu": (2, 4)}'),
])
def test_valid_self_descriptions_load(tmp_path, monkeypatch, toy_only, template, attr):
    assert _load(tmp_path, monkeypatch, template, attr).status == "loaded"

"""Options and parametrization of the sampling-latency benchmarks (run with `wrbench bench` or `pytest benchmarks/`).

The options are those of `wrbench bench` (`wrbench.latency.options`); each
also reads an environment variable, WRBENCH_BENCH_<NAME> (lists comma-separated),
so `WRBENCH_BENCH_SOLVERS=NAME WRBENCH_BENCH_SIZES=20 pytest benchmarks/` works too.
"""
from __future__ import annotations

from typing import Any

import pytest
import torch

from wrbench.core.plugins import load_plugins
from wrbench.latency.cases import discover
from wrbench.latency.options import add_pytest_options, settings_from_pytest
from wrbench.latency.prepare import Bench

BENCH_KEY = pytest.StashKey[tuple]()
THREADS_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config.option, "wrbench_plugins"):
        return
    settings: dict[str, Any] = settings_from_pytest(config.getoption)
    if settings["threads"] > 0:
        config.stash[THREADS_KEY] = torch.get_num_threads()
        torch.set_num_threads(settings["threads"])
    registry = load_plugins(settings["plugins"], strict=settings["strict_plugins"])
    found = discover(registry, problem=settings["problem"], solvers=settings["solvers"], sizes=settings["sizes"],
                     batches=settings["batches"], samples=settings["samples"], device=settings["device"],
                     include_expert=not settings["no_expert"])
    config.stash[BENCH_KEY] = (Bench(registry), found, settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    if THREADS_KEY in config.stash:  # `wrbench bench` runs pytest in its own process: leave it as it was
        torch.set_num_threads(config.stash[THREADS_KEY])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        _, found, _ = metafunc.config.stash[BENCH_KEY]
        metafunc.parametrize("case", found.cases, ids=[c.id for c in found.cases])


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest) -> Bench:
    return request.config.stash[BENCH_KEY][0]


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.config.stash[BENCH_KEY][2]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if BENCH_KEY not in config.stash:
        return []
    bench_, found, settings_ = config.stash[BENCH_KEY]
    lines = [f"wrbench latency: {len(found.cases)} cases ({', '.join(found.names()) or 'none'}), "
             f"samples={settings_['samples']}, device={settings_['device']}, torch threads={torch.get_num_threads()}"]
    lines += [f"wrbench: plugin '{r.name}' not loaded: {r.error}" for r in bench_.registry.failures()]
    lines += [f"wrbench: not benchmarked: {name}: {reason}" for name, reason in found.skipped]
    return lines

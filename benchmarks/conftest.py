"""Options and parametrization of the sampling-latency benchmarks (run with `wrbench bench` or `pytest benchmarks/`).

Every option also reads an environment variable (comma-separated lists), so
`WRBENCH_BENCH_SOLVERS=gdm WRBENCH_BENCH_SIZES=20 pytest benchmarks/` works too.
"""
from __future__ import annotations

import os

import pytest
import torch

from wrbench.core.plugins import load_plugins
from wrbench.latency.bench import DEFAULT_BATCHES, DEFAULT_SAMPLES, Bench, discover


def _env_list(name: str) -> list[str]:
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wrbench", "wrbench latency benchmarks")
    group.addoption("--solver", action="append", default=None, metavar="NAME",
                    help="Benchmark only this solver (repeatable; env WRBENCH_BENCH_SOLVERS). Default: all that support the problem.")
    group.addoption("--size", action="append", type=int, default=None, metavar="N",
                    help="Network size N (repeatable; env WRBENCH_BENCH_SIZES). Default: 20, 50, 200 on cpu; up to 1000 on cuda.")
    group.addoption("--batch", action="append", type=int, default=None, metavar="B",
                    help=f"Networks per call (repeatable; env WRBENCH_BENCH_BATCHES). Default: {', '.join(map(str, DEFAULT_BATCHES))}.")
    group.addoption("--samples", type=int, default=int(os.environ.get("WRBENCH_BENCH_SAMPLES", DEFAULT_SAMPLES)),
                    metavar="S", help=f"Samples per network (default {DEFAULT_SAMPLES}).")
    group.addoption("--device", default=os.environ.get("WRBENCH_BENCH_DEVICE", "cpu"), help="cpu or cuda.")
    group.addoption("--no-expert", action="store_true", default=False, help="Skip the expert reference.")
    group.addoption("--wrbench-plugin", action="append", default=None, metavar="MODULE",
                    help="Also load this wrbench plugin (repeatable; env WRBENCH_BENCH_PLUGINS).")
    group.addoption("--wrbench-strict-plugins", action="store_true", default=False)
    group.addoption("--max-time", type=float, default=float(os.environ.get("WRBENCH_BENCH_MAX_TIME", 2.0)),
                    help="Rounds fill about this many seconds per benchmark (default 2).")
    group.addoption("--min-rounds", type=int, default=int(os.environ.get("WRBENCH_BENCH_MIN_ROUNDS", 5)),
                    help="At least this many timed rounds (default 5; a significance test at p < 0.01 needs >= 5).")
    group.addoption("--max-rounds", type=int, default=int(os.environ.get("WRBENCH_BENCH_MAX_ROUNDS", 50)))
    group.addoption("--threads", type=int, default=int(os.environ.get("WRBENCH_BENCH_THREADS", 0)), metavar="T",
                    help="torch.set_num_threads(T) for the run (default 0: torch's default). On a shared machine, "
                         "fewer threads than cores avoid the slowdowns of oversubscribed OpenMP threads.")


def _settings(config: pytest.Config) -> dict:
    opt = config.getoption
    return {
        "solvers": opt("solver") or _env_list("WRBENCH_BENCH_SOLVERS"),
        "sizes": opt("size") or [int(v) for v in _env_list("WRBENCH_BENCH_SIZES")],
        "batches": opt("batch") or [int(v) for v in _env_list("WRBENCH_BENCH_BATCHES")] or list(DEFAULT_BATCHES),
        "samples": opt("samples"),
        "device": opt("device"),
        "include_expert": not opt("no_expert"),
    }


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config.option, "wrbench_plugin"):
        return
    plugins = (config.getoption("wrbench_plugin") or []) + _env_list("WRBENCH_BENCH_PLUGINS")
    threads = config.getoption("threads")
    if threads and threads > 0:
        config.stash[THREADS_KEY] = torch.get_num_threads()
        torch.set_num_threads(threads)
    registry = load_plugins(plugins, strict=config.getoption("wrbench_strict_plugins"))
    settings = _settings(config)
    config.stash[BENCH_KEY] = (Bench(registry), discover(registry, **settings), settings)


BENCH_KEY = pytest.StashKey[tuple]()
THREADS_KEY = pytest.StashKey[int]()


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


def pytest_report_header(config: pytest.Config) -> list[str]:
    if BENCH_KEY not in config.stash:
        return []
    bench_, found, settings = config.stash[BENCH_KEY]
    lines = [f"wrbench latency: {len(found.cases)} cases ({', '.join(found.names()) or 'none'}), "
             f"samples={settings['samples']}, device={settings['device']}, torch threads={torch.get_num_threads()}"]
    lines += [f"wrbench: plugin '{r.name}' not loaded: {r.error}" for r in bench_.registry.failures()]
    lines += [f"wrbench: not benchmarked: {name}: {reason}" for name, reason in found.skipped]
    return lines

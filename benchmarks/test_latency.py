"""Sampling latency of every registered solver that supports the benchmark problem, and of the expert.

Each case times `solver.sample(problem, networks, S, ctx)` for one network
(B=1) or a batch of networks, at size N, with `wrbench.timing.clock` as the
pytest-benchmark timer (it synchronizes CUDA before reading the clock, like
the leaderboard's latency columns). Rounds: one untimed first call (which also
validates the output shape), one warm-up round, then enough rounds to fill
`--max-time`, at least `--min-rounds`. Right before each round (as the
benchmark's untimed `setup`) the fixed calibration kernel is timed under the
same load, for about as long as the previous round took (at most 10 ms);
`extra_info["calibration"]` keeps its seconds per kernel step, one per timed
round, for `wrbench bench --compare`. `extra_info` also records whether the
solver ran with random weights or needed no weights.
"""
from __future__ import annotations

import pytest

from wrbench.bench import rounds_for
from wrbench.timing import clock

pytestmark = pytest.mark.benchmark(timer=clock, group="latency", disable_gc=False)


def test_latency(benchmark, bench, case, request):
    if case.error:
        pytest.skip(f"{case.name}: {case.error}")
    prepared = bench.prepare(case)
    opt = request.config.getoption
    rounds = rounds_for(prepared.first_seconds, opt("max_time"), opt("min_rounds"), opt("max_rounds"))
    benchmark.extra_info.update(prepared.extra_info)
    benchmark.group = f"N={case.n} B={case.batch}"
    calibration = bench.calibration(case.device, prepared.first_seconds)
    benchmark.pedantic(prepared.call, setup=calibration, rounds=rounds, warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(calibration.info(rounds))

"""Sampling latency of every registered solver on every problem that declares bench sizes, and of its expert.

Each case times `solver.sample(problem, networks, S, ctx)` for one network
(B=1) or a batch of networks, at size N, with `wrbench.core.clock.clock` as the
pytest-benchmark timer (it synchronizes CUDA before reading the clock, like
the leaderboard's latency columns). Rounds: one untimed first call (which also
validates the output shape), one warm-up round, then enough rounds to fill
`--max-time`, at least `--min-rounds`. A call faster than 10 ms is repeated
within each round until the round lasts about 10 ms (`calls_per_round` in
`extra_info`; saved rounds are divided back to seconds per call). Right
before each round (as the benchmark's untimed `setup`) the fixed calibration
kernel is timed under the
same load, for about as long as the previous round took (at most 10 ms);
`extra_info["calibration"]` keeps its seconds per kernel step, one per timed
round, for `wrbench bench --compare`. `extra_info` also records whether the
solver ran with random weights or needed no weights.
"""
from __future__ import annotations

import pytest

from wrbench.core.clock import clock
from wrbench.latency.calibration import calls_per_round, repeated, rounds_for

pytestmark = pytest.mark.benchmark(timer=clock, group="latency", disable_gc=False)


def test_latency(benchmark, bench, case, settings):
    if case.error:
        pytest.skip(f"{case.name}: {case.error}")
    prepared = bench.prepare(case)
    calls = calls_per_round(prepared.first_seconds)
    round_seconds = prepared.first_seconds * calls
    rounds = rounds_for(round_seconds, settings["max_time"], settings["min_rounds"], settings["max_rounds"])
    benchmark.extra_info.update(prepared.extra_info, calls_per_round=calls)
    benchmark.group = f"{case.problem} N={case.n} B={case.batch}"
    calibration = bench.calibration(case.device, round_seconds)
    benchmark.pedantic(repeated(prepared.call, calls), setup=calibration, rounds=rounds, warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(calibration.info(rounds))

"""Wall-clock timing shared by the runner's latency columns and the benchmarks.

One primitive, `clock(device)`: wait for queued GPU work, then read
`time.perf_counter()`. `timed` and `measure` (the runner) and the
pytest-benchmark latency benchmarks (`benchmarks/`, which use `clock` as their
timer) all read time through it, so a leaderboard latency and a tracked
benchmark latency mean the same thing.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

import torch

T = TypeVar("T")


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so the clock measures it (no-op on the CPU)."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize(device)


def clock(device: str | torch.device | None = None) -> float:
    """Seconds from `time.perf_counter()`, read after the device's queued work has finished.

    With `device=None` (how pytest-benchmark calls its timer), the current CUDA
    device is synchronized if CUDA has been initialized in this process, so the
    same function times CPU and GPU work correctly without being told the device.
    """
    if device is None:
        if torch.cuda.is_initialized():
            torch.cuda.synchronize()
    else:
        synchronize(device)
    return time.perf_counter()


def timed(fn: Callable[[], T], device: str | torch.device = "cpu") -> tuple[T, float]:
    """Run `fn` once and return (result, wall seconds), synchronizing the device around it."""
    start = clock(device)
    result = fn()
    return result, clock(device) - start


def measure(
    fn: Callable[[], T],
    *,
    warmup: Callable[[], object] | int | None = 1,
    rounds: int = 1,
    device: str | torch.device = "cpu",
) -> tuple[T, list[float]]:
    """Time `rounds` calls of `fn` after a warm-up; returns (last result, raw seconds of each round).

    `warmup` is a number of untimed calls of `fn`, or a callable run once untimed
    (e.g. the same call on one instance). Report the median of the rounds; keep
    the raw rounds when a later comparison needs a significance test.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if callable(warmup):
        warmup()
    else:
        for _ in range(int(warmup or 0)):
            fn()
    seconds: list[float] = []
    result: T
    for _ in range(rounds):
        result, elapsed = timed(fn, device)
        seconds.append(elapsed)
    return result, seconds

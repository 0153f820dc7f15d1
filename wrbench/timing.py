"""Wall-clock timing shared by the runner's latency columns and the benchmarks."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

import torch

T = TypeVar("T")


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so the clock measures it (no-op on the CPU)."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], T], device: str | torch.device = "cpu") -> tuple[T, float]:
    """Run `fn` once and return (result, wall seconds), synchronizing the device around it."""
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def timed_after_warmup(
    fn: Callable[[], T], warmup: Callable[[], object] | None, device: str | torch.device = "cpu"
) -> tuple[T, float]:
    """Run `warmup` (e.g. the same call on one instance) untimed, then time `fn`."""
    if warmup is not None:
        warmup()
    return timed(fn, device)

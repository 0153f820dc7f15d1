"""How the latency benchmarks time a call on a shared machine: rounds, repeated calls, paired calibration.

pytest-benchmark times the rounds; what it lacks is a measure of how fast the
machine itself was during each round. Right before each round (as the
benchmark's untimed `setup`) a fixed `CalibrationKernel` is timed for about as
long as the previous round lasted (`PairedCalibration`), so `wrbench bench
--compare` can tell a machine that got slower from code that got slower
(`wrbench.latency.stats`). Calls shorter than MIN_ROUND_SECONDS are repeated
within a round so that rounds share the CPU like everything else.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch

from wrbench.core.clock import clock, timed

# Names the kernel below: change it with the kernel, so that runs timed with another kernel are compared raw.
CALIBRATION_KERNEL = "mlp-spmm-64-v1"
MAX_CALIBRATION_SECONDS = 0.01
KERNEL_SEED = 0
# Shortest round: faster calls are repeated within a round (see `calls_per_round`).
MIN_ROUND_SECONDS = 0.01
MAX_CALLS_PER_ROUND = 10_000


class CalibrationKernel:
    """A fixed workload shaped like solver sampling, in steps: a small MLP over 64 nodes followed by a sparse
    neighbourhood aggregation (about 0.25 ms per step on one CPU thread).

    It uses only torch, never plugin code, and the same seeded data on every
    commit, so its time measures the machine (load, clock speed, threads), not
    the code under test.
    """

    NODES, WIDTH, HIDDEN, DEGREE = 64, 32, 128, 8

    def __init__(self, device: str = "cpu"):
        self.device = device
        gen = torch.Generator().manual_seed(KERNEL_SEED)

        def weights(rows: int, cols: int) -> torch.Tensor:
            return (torch.randn(rows, cols, generator=gen) / math.sqrt(rows)).to(device)

        self.x = weights(self.NODES, self.WIDTH)
        self.layers = [weights(self.WIDTH, self.HIDDEN), weights(self.HIDDEN, self.HIDDEN),
                       weights(self.HIDDEN, self.WIDTH)]
        edges = self.NODES * self.DEGREE
        index = torch.stack([torch.arange(self.NODES).repeat_interleave(self.DEGREE),
                             torch.randint(self.NODES, (edges,), generator=gen)])
        self.adjacency = torch.sparse_coo_tensor(index, torch.full((edges,), 1.0 / self.DEGREE),
                                                 (self.NODES, self.NODES), check_invariants=True).coalesce().to(device)
        self.run(2)  # first call: allocations and lazy initialization stay out of the timings
        self.step_seconds = min(self.seconds(1) for _ in range(5))  # the fastest: least disturbed by other work

    @torch.no_grad()
    def run(self, steps: int) -> torch.Tensor:
        x = self.x
        for _ in range(steps):
            h = x
            for w in self.layers[:-1]:
                h = torch.tanh(h @ w)
            x = x + 0.1 * torch.sparse.mm(self.adjacency, h @ self.layers[-1])
        return x

    def seconds(self, steps: int) -> float:
        return timed(lambda: self.run(steps), self.device)[1]

    def steps_for(self, round_seconds: float) -> int:
        """Steps that last about as long as a round, at most MAX_CALIBRATION_SECONDS.

        On a time-shared CPU, a call much shorter than the scheduler's time
        slice mostly runs between two preemptions and keeps its speed, while a
        longer one shares the CPU and slows down with the load; a kernel of
        about the round's length sees the load the round sees.
        """
        return max(1, round(min(round_seconds, MAX_CALIBRATION_SECONDS) / self.step_seconds))


class PairedCalibration:
    """Times the kernel right before every benchmark round, as pytest-benchmark's `setup` (called before each
    round, warm-up rounds included, outside the timed call); records seconds per step.

    The kernel runs for about as long as the previous round lasted (the time
    since the last call ended), so a round is calibrated under the load it
    sees, and it disturbs the caches before an unchanged round alike in both runs.
    """

    def __init__(self, kernel: CalibrationKernel, round_seconds: float):
        self.kernel, self.round_seconds = kernel, round_seconds  # the estimate for the first (warm-up) round
        self.seconds: list[float] = []
        self.steps: list[int] = []
        self._ended: float | None = None

    def __call__(self) -> None:
        if self._ended is not None:
            self.round_seconds = clock(self.kernel.device) - self._ended
        steps = self.kernel.steps_for(self.round_seconds)
        self.seconds.append(self.kernel.seconds(steps) / steps)
        self.steps.append(steps)
        self._ended = clock(self.kernel.device)

    def info(self, rounds: int) -> dict[str, Any]:
        """`extra_info` entries: the calibration of the last `rounds` rounds (the timed ones), in order."""
        return {"calibration": self.seconds[-rounds:], "calibration_steps": self.steps[-rounds:],
                "calibration_kernel": CALIBRATION_KERNEL}


def calls_per_round(first_seconds: float) -> int:
    """Calls timed together in one round so that a round lasts at least MIN_ROUND_SECONDS.

    A call of tens of microseconds mostly runs between two scheduler preemptions, so its
    rounds keep their speed on a loaded machine while the calibration kernel slows down,
    and its few-microsecond jitter reads as a significant change; ~10 ms rounds share the
    CPU like everything else. Saved rounds are divided back to seconds per call.
    """
    if first_seconds <= 0:
        return 1
    return int(min(MAX_CALLS_PER_ROUND, max(1, math.ceil(MIN_ROUND_SECONDS / first_seconds))))


def repeated(call: Callable[[], torch.Tensor], times: int) -> Callable[[], torch.Tensor]:
    """`call` run `times` times per invocation (returns the last output)."""
    if times == 1:
        return call

    def run() -> torch.Tensor:
        for _ in range(times - 1):
            call()
        return call()

    return run


def rounds_for(first_seconds: float, max_time: float, min_rounds: int, max_rounds: int) -> int:
    """Enough rounds to fill about `max_time` seconds, within [min_rounds, max_rounds]."""
    if first_seconds <= 0:
        return max_rounds
    return int(min(max_rounds, max(min_rounds, math.ceil(max_time / first_seconds))))

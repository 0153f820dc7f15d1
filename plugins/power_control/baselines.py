"""Baselines for `power_control` that need no training: full power, sum-rate WMMSE and uniform random powers."""
from __future__ import annotations

import torch

from wrbench.api import Context, Instances, Problem, Solver
from wrbench.params import Param

from .wmmse import wmmse


class _Baseline(Solver):
    """Shared declaration: power_control only, no expert samples needed."""

    problems = ("power_control",)
    needs_expert = False

    @staticmethod
    def _repeat(power: torch.Tensor, n_samples: int, instances: Instances) -> torch.Tensor:
        """One deterministic allocation (B, N) in units of P_max, repeated as (B, n_samples, N) watts."""
        return (power * instances.attrs["p_max"]).unsqueeze(1).expand(-1, n_samples, -1).float().contiguous()


class FullPower(_Baseline):
    """Every transmitter at P_max: the no-coordination reference."""

    name = "full_power"
    stochastic = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        shape = instances.arrays["H"].shape[:2]
        return self._repeat(torch.ones(shape, device=ctx.device), n_samples, instances)


class WMMSE(_Baseline):
    """Sum-rate WMMSE on the long-term gains from full power: best deterministic effort, blind to f_min."""

    name = "wmmse"
    stochastic = False
    test_params = {"iterations": 5}
    parameters = (Param("iterations", int, 100, "WMMSE rounds from full power", min=1),)

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        gains = problem.snr_gains(instances, ctx.device)
        power = wmmse(gains, torch.ones(gains.shape[:2], dtype=gains.dtype, device=gains.device), self.params.iterations)
        return self._repeat(power, n_samples, instances)


class RandomPower(_Baseline):
    """Powers uniform in [0, P_max]^N, independent per sample: what an uninformed stochastic policy gets."""

    name = "random"
    stochastic = True

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        n_networks, n = instances.arrays["H"].shape[:2]
        generator = ctx.generator("random", "powers")
        unit = torch.rand(n_networks, n_samples, n, generator=generator, device=generator.device)
        return unit * instances.attrs["p_max"]

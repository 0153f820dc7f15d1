"""Two power-control policies that game a single-metric board, written to test the ranking rule.

`tdma`: one link on per sample, round robin: every link's rate is tiny but no
constraint of the mixture need fail at a low f_min, and under "rank by
violation" it beat the exact optimum. `wmmse_mixture`: WMMSE from random
starts with random link weights, a high sum rate that leaves links below f_min.
"""
from __future__ import annotations

import torch

from wrbench import hookimpl
from wrbench.api import Context, Instances, Problem, Solver
from wrbench_plugins.power_control.wmmse import wmmse_step

WRBENCH_API_VERSION = "1.0"


class RoundRobin(Solver):
    """Sample s switches on link s mod N alone, at full power."""

    name = "tdma"
    problems = ("power_control",)
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        n_networks, n = instances.arrays["H"].shape[:2]
        on = torch.nn.functional.one_hot(torch.arange(n_samples) % n, n).double()
        return (on * instances.attrs["p_max"]).expand(n_networks, -1, -1).contiguous()


class WMMSEMixture(Solver):
    """Each sample: 30 WMMSE rounds from random amplitudes with random link weights (blind to f_min)."""

    name = "wmmse_mixture"
    problems = ("power_control",)
    needs_expert = False

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        gains = problem.snr_gains(instances).unsqueeze(1)
        generator = ctx.generator("wmmse_mixture")
        shape = (gains.shape[0], n_samples, gains.shape[-1])
        weights = torch.rand(shape, generator=generator, dtype=torch.float64)
        v = torch.rand(shape, generator=generator, dtype=torch.float64)
        for _ in range(30):
            v = wmmse_step(gains, weights, v)
        return v.square() * instances.attrs["p_max"]


@hookimpl
def register_solvers(register) -> None:
    register(RoundRobin)
    register(WMMSEMixture)

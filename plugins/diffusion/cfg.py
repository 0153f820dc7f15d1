"""Solver `cfg`: DiffSG's classifier-free-guided conditional DDPM on the flattened instance."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wrbench.api import Instances, Problem
from wrbench.fitting import affine_stats
from wrbench.params import Param

from .base import DiffusionSolver, diffusion_parameters
from .mlp import CFGDenoiser
from .schedules import Schedule
from .training import diffusion_loss


class CFGSolver(DiffusionSolver):
    """Classifier-free-guided diffusion (DiffSG) with an MLP denoiser; any problem with a fixed-size flat view."""

    name = "cfg"
    version = "2"  # 2: sampling noise drawn per network
    test_params = {"train_steps": 3, "diffusion_steps": 10, "sample_steps": 3, "hidden": 8, "depth": 1}
    requires = frozenset({"flat"})
    # An MLP step is cheap, and the 80-channel map needs ~2000 steps (exceed ratio 0.995 vs water-filling).
    parameters = diffusion_parameters(train_steps=2000) + (
        Param("hidden", int, 256, "hidden width of the MLP denoiser", min=1),
        Param("depth", int, 3, "residual MLP blocks", min=1),
        Param("p_uncond", float, 0.1, "probability of dropping the condition in training (DiffSG: 0.1)", min=0.0, max=1.0),
        # DiffSG's w = 500 (with T = 20) over-sharpens unless x0 is clipped
        Param("guidance", float, 1.0, "guidance weight w in eps = (1 + w) eps(y, x, t) - w eps(y, t); 0 = purely "
              "conditional (DiffSG: 500 with T = 20)", min=0.0, sampling_only=True),
        Param("batch_size", int, 256, "(instance, expert sample) pairs per training step", min=1),
    )

    def _flat(self, problem: Problem, instances: Instances, device: str) -> torch.Tensor:
        """The instances' flat view, standardized with the training statistics (never batch statistics)."""
        flat = problem.flat(instances).to(device).float()
        return (flat - self.meta["c_mean"].to(device)) / self.meta["c_std"].to(device)

    def _prepare(self, problem: Problem, instances: Instances, y0: torch.Tensor, device: str) -> None:
        flat = problem.flat(instances).float()
        mean, std = affine_stats(flat)
        self.meta = {"dim": int(y0.shape[-1]), "cond_dim": int(flat.shape[-1]), "c_mean": mean, "c_std": std}

    def _build(self) -> nn.Module:
        return CFGDenoiser(self.meta["dim"], self.meta["cond_dim"], self.params.hidden, self.params.depth)

    def _loss(self, problem: Problem, instances: Instances, y0: torch.Tensor, schedule: Schedule, device: str) -> Any:
        cond = self._flat(problem, instances, device)
        B, S, _ = y0.shape
        n = self.params.batch_size

        def batch_loss(gen: torch.Generator) -> torch.Tensor:
            b = torch.randint(B, (n,), generator=gen, device=device)
            s = torch.randint(S, (n,), generator=gen, device=device)
            keep = (torch.rand((n, 1), generator=gen, device=device) >= self.params.p_uncond).float()
            t = torch.randint(schedule.T, (n, 1), generator=gen, device=device)
            x0 = y0[b, s]
            noise = torch.randn(x0.shape, generator=gen, device=device)
            return diffusion_loss(lambda x_t, tt: self.net(x_t, tt, cond[b], keep), x0, t, noise, schedule,
                                  self.params.prediction, self.params.weighting, self.params.gamma)

        return batch_loss

    def guided(self, cond: torch.Tensor, w: float) -> Any:
        """model(x_t, t) = (1 + w) f(x_t, t, cond) - w f(x_t, t, null); w = 0 skips the unconditional pass.

        Combining network outputs equals combining eps: every parametrization maps to eps affinely.
        """
        ones = torch.ones(cond.shape[0], 1, device=cond.device)

        def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = self.net(x_t, t, cond, ones)
            if w == 0.0:
                return out
            return (1.0 + w) * out - w * self.net(x_t, t, cond, torch.zeros_like(ones))

        return model

    def _model(self, problem: Problem, instances: Instances, n_samples: int, device: str) -> tuple[Any, tuple[int, ...]]:
        cond = self._flat(problem, instances, device).repeat_interleave(n_samples, dim=0)
        return self.guided(cond, self.params.guidance), (cond.shape[0], self.meta["dim"])

    def _unlayout(self, y: torch.Tensor, n_instances: int, n_samples: int) -> torch.Tensor:
        return y.reshape(n_instances, n_samples, -1)

    def _layout(self, y: torch.Tensor) -> torch.Tensor:
        return y.reshape(-1, y.shape[-1])

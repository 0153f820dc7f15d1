"""What solvers that fit one torch network share, so each plugin does not re-derive it: input
standardization with training statistics, a training loop that reports progress and an ETA, and
a fitted state of plain values and CPU tensors that loads with `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, Mapping

import torch
from torch import nn

from wrbench.core.api import Context, Solver
from wrbench.core.params import resolve

REPORT_EVERY = 10  # optimizer steps between two progress reports


def affine_stats(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std over all leading axes, to standardize inputs with training statistics.

    A feature constant in training (e.g. a single f_min) keeps unit scale, so other values at
    test time are shifted, not blown up.
    """
    flat = z.reshape(-1, z.shape[-1]).float()
    std = flat.std(0) if flat.shape[0] > 1 else torch.ones(flat.shape[-1], device=flat.device)
    return flat.mean(0), torch.where(std > 1e-3, std, torch.ones_like(std))


def train(net: nn.Module, batch_loss: Callable[[torch.Generator], torch.Tensor], steps: int, lr: float, ctx: Context,
          stage: str = "train", *, lr_factor: Callable[[int], float] | None = None, grad_clip: float | None = None,
          ema_decay: float | None = None) -> list[float]:
    """Adam on `batch_loss(generator)` for `steps` steps; returns the loss of every step.

    The generator comes from `ctx`, so a fit with random minibatches is reproducible. Options:
    `lr_factor(step)` scales the learning rate (a LambdaLR schedule), `grad_clip` caps the gradient
    norm, `ema_decay` keeps an exponential moving average of the weights, copied into `net` at the end.
    Reports `ctx.progress(stage, step, steps, loss=, eta_s=)` every REPORT_EVERY steps and at the end,
    the loss smoothed over about 20 steps. Leaves `net` in eval mode.
    """
    gen = ctx.generator(stage, "batches")
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = None if lr_factor is None else torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    ema = None if ema_decay is None else copy.deepcopy(net).requires_grad_(False)
    losses: list[float] = []
    smooth, start = None, time.perf_counter()
    net.train()
    for step in range(steps):
        loss = batch_loss(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        opt.step()
        if sched is not None:
            sched.step()
        if ema is not None:
            with torch.no_grad():
                for p_ema, p in zip(ema.parameters(), net.parameters()):
                    p_ema.lerp_(p, 1 - ema_decay)
        value = float(loss.detach())
        losses.append(value)
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        if (step + 1) % REPORT_EVERY == 0 or step + 1 == steps:
            elapsed = time.perf_counter() - start
            ctx.progress(stage, step + 1, steps, loss=smooth, eta_s=elapsed / (step + 1) * (steps - step - 1))
    if ema is not None:
        net.load_state_dict(ema.state_dict())
    net.eval()
    return losses


class NetSolver(Solver):
    """A solver whose fitted state is one network, built by `_build` from `params` and `meta`.

    `meta` holds what the rebuild needs (sizes, input statistics) as plain values and tensors;
    the state is {"params", "meta", "net"} on the CPU. Loading takes the fit's parameters from
    the state but keeps this instance's sampling-only ones: how to sample stays the caller's choice.
    """

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.net: nn.Module | None = None
        self.meta: dict[str, Any] = {}

    def _build(self) -> nn.Module:
        """A freshly initialized network from `self.params` and `self.meta`."""
        raise NotImplementedError

    def _init_net(self, ctx: Context, device: str) -> None:
        """`self.net = _build()` with initial weights drawn from ctx's "init" seed, leaving the global RNG as it was."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.generator("init", device="cpu").initial_seed())
            self.net = self._build().to(device)

    def _fitted_net(self) -> nn.Module:
        """The network, or an error saying the solver needs a fit or a load first."""
        if self.net is None:
            raise RuntimeError(f"solver '{self.name}' must be fitted (or loaded) before sampling")
        return self.net

    def state_dict(self) -> dict[str, Any]:
        if self.net is None:
            raise RuntimeError(f"solver '{self.name}' has no fitted state")
        net_state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        meta = {k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in self.meta.items()}
        return {"params": dict(self.params), "meta": meta, "net": net_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        sampling = {p.name: self.params[p.name] for p in self.parameters if p.sampling_only}
        self.params = resolve(self.parameters, {**state["params"], **sampling})
        self.meta = dict(state["meta"])
        self.net = self._build()
        self.net.load_state_dict(state["net"])
        self.net.eval()


__all__ = ["REPORT_EVERY", "affine_stats", "train", "NetSolver"]

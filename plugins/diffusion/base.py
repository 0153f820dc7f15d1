"""What the diffusion solvers share: the map between decision sets and diffusion space, common
parameters, and the fit / sample / save skeleton. `gdm` and `cfg` only supply a network, a
minibatch loss and a batched sampling layout.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from wrbench.api import Context, DecisionSet, Instances, Problem
from wrbench.fitting import NetSolver, train
from wrbench.params import Param

from .noise import NetworkNoise
from .samplers import SAMPLERS, run_sampler
from .schedules import SCHEDULES, Schedule, make_schedule
from .training import PREDICTIONS, WEIGHTINGS, eps_function, warmup_cosine


BOUNDARY_TOL = 0.01


@dataclass
class Codec:
    """Affine map of a decision set's unit coordinates (its `to_unit`) to a centred diffusion space.

    A unit coordinate u becomes scale * (k u - 1), 1/k the domain's centre coordinate, so the centre
    sits at 0. Cube (k = 2; a box: [low, high] -> [-scale, scale], the paper's [0, P_max] ->
    [-1/2, 1/2] at scale 1/2): expert samples on a bound (within BOUNDARY_TOL) are pushed `push`
    (in unit coordinates) beyond it, so the model's blur around a bound lands outside, where
    decoding snaps it exactly onto the bound, instead of inside, which softens on/off decisions.
    Simplex (k = D'; a budget: shares plus slack): the equal split sits at 0 and shares are O(1) for
    any D. Decoding is the set's `from_unit`, so bounds, zero powers and the full budget are
    reachable and every decoded sample is feasible.
    """

    dset: DecisionSet
    scale: float
    push: float = 0.0

    def _spread(self, dim: int) -> float:
        """k = 1 / the unit domain's centre coordinate (dim = D')."""
        if self.dset.unit_domain == "cube":
            return 2.0
        if self.dset.unit_domain == "simplex":
            return float(dim)
        raise TypeError(f"diffusion has no map for the unit domain '{self.dset.unit_domain}'")

    def _push(self) -> float:
        """The boundary push: only a cube's bounds are a coordinate's own (a zero share is a face of the simplex)."""
        return self.push if self.dset.unit_domain == "cube" else 0.0

    def clip(self, dim: int) -> tuple[float, float]:
        """Range of diffusion coordinates (dim = D') that decode inside the set (u in [0, 1], plus the push)."""
        push = self._push()
        return (-self.scale * (1 + 2 * push), self.scale * (self._spread(dim) - 1.0 + 2 * push))

    def dim(self, d: int) -> int:
        return self.dset.unit_dim(d)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, S, D) in the decision set -> (B, S, D') in diffusion space, the domain's centre at 0."""
        u = self.dset.to_unit(x)
        push = self._push()
        if push:
            u = u + push * ((u >= 1 - BOUNDARY_TOL).to(u) - (u <= BOUNDARY_TOL).to(u))
        return self.scale * (self._spread(u.shape[-1]) * u - 1.0)

    def decode(self, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """y (B, S, D') -> (allocations in the set, the share of raw values `from_unit` repaired, e.g. clamped_frac)."""
        u = (y / self.scale + 1.0) / self._spread(y.shape[-1])
        violations = self.dset.unit_violations(u)
        return self.dset.from_unit(u), {f"{kind}_frac": float(mask.float().mean()) for kind, mask in violations.items()}


DIFFUSION_PARAMETERS: tuple[Param, ...] = (
    Param("diffusion_steps", int, 100, "diffusion timesteps T (paper: 500)", min=2),  # 100 keeps CPU sampling cheap
    Param("schedule", str, "cosine", "noise schedule (paper: cosine)", choices=SCHEDULES),
    # v keeps the target O(1) at every noise level (eps is unidentifiable near t = 0, x0 near t = T)
    Param("prediction", str, "v", "what the network outputs: eps (paper), x0 or v; the loss is in eps space either "
          "way", choices=PREDICTIONS),
    Param("weighting", str, "min_snr", "timestep weighting of the eps loss: none, min_snr (w = min(SNR, gamma)/SNR) or "
          "log_snr (w = sigmoid(gamma - log SNR)); the paper uses a log-SNR weighting", choices=WEIGHTINGS),
    Param("gamma", float, 5.0, "gamma of the min_snr / log_snr weighting"),
    # the paper's 0.5 leaves the signal a quarter of the noise's variance at every step and blurs two-valued policies
    Param("data_scale", float, 1.0, "decisions are mapped affinely to [-data_scale, data_scale] (paper: 0.5)",
          min=1e-3),
    Param("boundary_push", float, 0.05, "expert samples within 1% of a bound of a cube coordinate (a box) are moved "
          "this far (unit coordinates) beyond it before diffusion, so decoding puts them exactly on it (0: the "
          "paper's plain affine map)", min=0.0),
    Param("train_steps", int, 400, "optimizer steps (paper: 1000 epochs of 32 graphs)", min=0),
    Param("lr", float, 2e-3, "peak Adam learning rate, cosine-decayed to a tenth (paper: 1e-2 at batch 1 graph)", min=0.0),
    Param("ema_decay", float, 0.99, "decay of the exponential moving average of weights used for sampling", min=0.0, max=1.0),
    Param("sampler", str, "ddim", "reverse process: ddpm (all T steps, posterior variance), ddim, or dpm_solver "
          "(DPM-Solver++ 2M, few steps)", choices=SAMPLERS, sampling_only=True),
    Param("sample_steps", int, 50, "denoiser calls for ddim / dpm_solver", min=1, sampling_only=True),
    # on power_control, eta = 1 lifted feasibility and p5 over eta = 0
    Param("eta", float, 1.0, "DDIM eta (0: deterministic given the initial noise; 1: DDPM-like)", min=0.0,
          sampling_only=True),
    Param("clip_x0", bool, True, "clamp each step's predicted clean sample to the decision set's range, narrowed to "
          "the range of the expert samples (diffusion space)"),
)


def diffusion_parameters(**defaults: Any) -> tuple[Param, ...]:
    """The shared parameters with some defaults changed for one solver."""
    unknown = set(defaults) - {p.name for p in DIFFUSION_PARAMETERS}
    if unknown:
        raise KeyError(f"not shared diffusion parameters: {sorted(unknown)}")
    return tuple(replace(p, default=defaults.get(p.name, p.default)) for p in DIFFUSION_PARAMETERS)


class DiffusionSolver(NetSolver):
    """Skeleton of a conditional diffusion policy: subclasses build the network (`_build`) and define the layouts."""

    stochastic = True
    needs_expert = True
    bench_fit_params = {"train_steps": 0}  # sampling costs the same with untrained weights
    budget_parameter = "sample_steps"  # denoiser calls (ddim, dpm_solver; ddpm always makes T)

    # ---- to implement -------------------------------------------------------------------
    def _prepare(self, problem: Problem, instances: Instances, y0: torch.Tensor, device: str) -> None:
        """Set `self.meta` (plain values and tensors needed to rebuild the net and its input scaling)."""
        raise NotImplementedError

    def _loss(self, problem: Problem, instances: Instances, y0: torch.Tensor, schedule: Schedule,
              device: str) -> Any:
        """A function generator -> minibatch loss over the training data (y0: (B, S, D'))."""
        raise NotImplementedError

    def _model(self, problem: Problem, instances: Instances, n_samples: int, device: str) -> tuple[Any, tuple[int, ...]]:
        """(model(x_t, t) -> net output for the sampler layout, that layout's shape)."""
        raise NotImplementedError

    def _unlayout(self, y: torch.Tensor, n_instances: int, n_samples: int) -> torch.Tensor:
        """Sampler-layout tensor -> (B, S, D')."""
        raise NotImplementedError

    def _layout(self, y: torch.Tensor) -> torch.Tensor:
        """(B, S, D') -> the sampler's layout (the inverse of `_unlayout`), for per-network noise."""
        raise NotImplementedError

    # ---- shared -------------------------------------------------------------------------
    @property
    def schedule(self) -> Schedule:
        return make_schedule(self.params.schedule, self.params.diffusion_steps)

    def _codec(self, problem: Problem, instances: Instances) -> Codec:
        return Codec(problem.decision_set(instances), self.params.data_scale, self.params.boundary_push)

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        if expert_samples is None:
            raise ValueError(f"solver '{self.name}' imitates an expert and needs expert samples")
        device = ctx.device
        instances = instances.to(device)
        y0 = self._codec(problem, instances).encode(expert_samples.to(device).float())
        self._prepare(problem, instances, y0, device)
        # Clamp x0 predictions to the range the expert actually used (within the set's range): for budget
        # shares the set allows (D+1)x the equal split, far beyond any sample, and eps models overshoot there.
        self.meta["y_range"] = [float(y0.min()), float(y0.max())]
        self._init_net(ctx, device)
        batch_loss = self._loss(problem, instances, y0, self.schedule, device)
        steps = self.params.train_steps
        self.losses = train(self.net, batch_loss, steps, self.params.lr, ctx, stage=f"fit {self.name}",
                            lr_factor=warmup_cosine(steps), grad_clip=1.0, ema_decay=self.params.ema_decay)

    @torch.no_grad()
    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        device = ctx.device
        instances = instances.to(device)
        self._fitted_net().to(device).eval()
        codec = self._codec(problem, instances)
        model, shape = self._model(problem, instances, n_samples, device)
        p = self.params
        eps_fn = eps_function(model, self.schedule, p.prediction)
        low, high = codec.clip(shape[-1])
        clip = (max(low, self.meta["y_range"][0]), min(high, self.meta["y_range"][1])) if p.clip_x0 else None
        dim = codec.dim(problem.decision_dim(instances))
        noise = NetworkNoise(instances, ctx.child("sample").seed, n_samples, dim, self._layout, device)
        y = run_sampler(p.sampler, eps_fn, self.schedule, shape, noise, steps=p.sample_steps, eta=p.eta,
                        device=device, clip=clip).clone()  # the samplers run in inference mode: a plain tensor
        x, diagnostics = codec.decode(self._unlayout(y, len(instances), n_samples))
        self.diagnostics = diagnostics
        return x

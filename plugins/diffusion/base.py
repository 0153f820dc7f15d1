"""What the diffusion solvers share: the map between decision sets and diffusion space, common
parameters, and the fit / sample / save skeleton. `gdm` and `cfg` only supply a network, a
minibatch loss and a batched sampling layout.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import torch
from torch import nn

from wrbench.api import Box, Budget, Context, DecisionSet, Instances, Problem, Solver
from wrbench.params import Param, resolve

from .samplers import SAMPLERS, run_sampler
from .schedules import SCHEDULES, Schedule, make_schedule
from .training import PREDICTIONS, WEIGHTINGS, eps_function, train


def project_simplex(u: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of the last axis onto the probability simplex (sort-based; reaches exact zeros)."""
    srt, _ = torch.sort(u, dim=-1, descending=True)
    csum = srt.cumsum(-1) - 1.0
    k = torch.arange(1, u.shape[-1] + 1, device=u.device, dtype=u.dtype)
    support = (srt - csum / k) > 0
    rho = support.to(u.dtype).cumsum(-1).argmax(-1, keepdim=True)
    theta = csum.gather(-1, rho) / (rho + 1).to(u.dtype)
    return torch.clamp(u - theta, min=0.0)


BOUNDARY_TOL = 0.01


@dataclass
class Codec:
    """Affine map of a decision set to a centred diffusion space.

    Box: each coordinate from [low, high] to [-scale, scale] (the paper's [0, P_max] -> [-1/2, 1/2]
    at scale 1/2). Expert samples on a bound (within BOUNDARY_TOL) are pushed `push` (in box
    units) beyond it: the model's blur around a bound then lands outside, where the final
    clamp snaps it exactly onto the bound, instead of inside, which softens on/off decisions. Budget: the shares x / total plus the slack 1 - sum(x) / total form a point u of
    the (D+1)-simplex, diffused as scale * ((D+1) u - 1) so that the equal split sits at 0 and
    shares are O(1) for any D; decoding projects onto the simplex, so zero powers and the full
    budget are reachable and every decoded sample is feasible.
    """

    dset: DecisionSet
    scale: float
    push: float = 0.0

    def clip(self, dim: int) -> tuple[float, float]:
        """Range of diffusion coordinates (dim = D') that decode inside the set (u in [0, 1], plus the box push)."""
        if isinstance(self.dset, Budget):
            return (-self.scale, self.scale * (dim - 1.0))
        return (-self.scale * (1 + 2 * self.push), self.scale * (1 + 2 * self.push))

    def dim(self, d: int) -> int:
        return d + 1 if isinstance(self.dset, Budget) else d

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, S, D) in the decision set -> (B, S, D') in diffusion space."""
        if isinstance(self.dset, Box):
            low, high = self.dset.low.to(x).unsqueeze(-2), self.dset.high.to(x).unsqueeze(-2)
            u = (x - low) / torch.clamp(high - low, min=1e-30)
            u = u + self.push * ((u >= 1 - BOUNDARY_TOL).to(u) - (u <= BOUNDARY_TOL).to(u))
            return self.scale * (2.0 * u - 1.0)
        if isinstance(self.dset, Budget):
            u = x / self.dset.total.to(x)[:, None, None]
            u = torch.cat([u, 1.0 - u.sum(-1, keepdim=True)], dim=-1)
            return self.scale * (u.shape[-1] * u - 1.0)
        raise TypeError(f"unsupported decision set {type(self.dset).__name__}")

    def decode(self, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """y (B, S, D') -> (allocations in the set, diagnostics about the raw samples)."""
        if isinstance(self.dset, Box):
            u = (y / self.scale + 1.0) / 2.0
            outside = (u < -1e-6) | (u > 1 + 1e-6)  # includes the pushed boundary samples the clamp snaps back
            low, high = self.dset.low.to(y).unsqueeze(-2), self.dset.high.to(y).unsqueeze(-2)
            x = self.dset.project(low + u.clamp(0.0, 1.0) * (high - low))
            return x, {"clamped_frac": float(outside.float().mean())}
        u = (y / self.scale + 1.0) / y.shape[-1]
        raw = u[..., :-1]
        bad = (raw < -1e-6).any(-1) | (raw.sum(-1) > 1 + 1e-6)
        x = project_simplex(u)[..., :-1] * self.dset.total.to(y)[:, None, None]
        return x, {"infeasible_frac": float(bad.float().mean())}


def affine_stats(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std over all leading axes, to standardize conditioning inputs with training statistics.

    A feature constant in training (e.g. a single f_min) keeps unit scale, so other values at
    test time are shifted, not blown up.
    """
    flat = z.reshape(-1, z.shape[-1]).float()
    std = flat.std(0) if flat.shape[0] > 1 else torch.ones(flat.shape[-1], device=flat.device)
    return flat.mean(0), torch.where(std > 1e-3, std, torch.ones_like(std))


DIFFUSION_PARAMETERS: tuple[Param, ...] = (
    Param("diffusion_steps", int, 100, "diffusion timesteps T (paper: 500; 100 keeps CPU sampling cheap)", min=2),
    Param("schedule", str, "cosine", "noise schedule (paper: cosine)", choices=SCHEDULES),
    Param("prediction", str, "v", "what the network outputs: eps (paper), x0 or v; the loss is in eps space either "
          "way. v keeps the target O(1) at every noise level (eps is unidentifiable near t = 0, x0 near t = T)",
          choices=PREDICTIONS),
    Param("weighting", str, "min_snr", "timestep weighting of the eps loss: none, min_snr (w = min(SNR, gamma)/SNR) or "
          "log_snr (w = sigmoid(gamma - log SNR)); the paper uses a log-SNR weighting", choices=WEIGHTINGS),
    Param("gamma", float, 5.0, "gamma of the min_snr / log_snr weighting"),
    Param("data_scale", float, 1.0, "decisions are mapped affinely to [-data_scale, data_scale] (paper: 0.5, which "
          "leaves the signal a quarter of the noise's variance at every step and blurs two-valued policies)", min=1e-3),
    Param("boundary_push", float, 0.05, "box samples within 1% of a bound are moved this far (box units) beyond it "
          "before diffusion, so the final clamp puts them exactly on it (0: the paper's plain affine map)", min=0.0),
    Param("train_steps", int, 400, "optimizer steps (paper: 1000 epochs of 32 graphs)", min=0),
    Param("lr", float, 2e-3, "peak Adam learning rate, cosine-decayed to a tenth (paper: 1e-2 at batch 1 graph)", min=0.0),
    Param("ema_decay", float, 0.99, "decay of the exponential moving average of weights used for sampling", min=0.0, max=1.0),
    Param("sampler", str, "ddim", "reverse process: ddpm (all T steps, posterior variance), ddim, or dpm_solver "
          "(DPM-Solver++ 2M, few steps)", choices=SAMPLERS, sampling_only=True),
    Param("sample_steps", int, 50, "denoiser calls for ddim / dpm_solver", min=1, sampling_only=True),
    Param("eta", float, 1.0, "DDIM eta (0: deterministic given the initial noise; 1: DDPM-like, which lifted "
          "power_control feasibility 0.9625 -> 0.975 and p5 1.15 -> 1.28 over eta = 0)", min=0.0, sampling_only=True),
    Param("clip_x0", bool, True, "clamp each step's predicted clean sample to the decision set's range, narrowed to "
          "the range of the expert samples (diffusion space)"),
)


def diffusion_parameters(**defaults: Any) -> tuple[Param, ...]:
    """The shared parameters with some defaults changed for one solver."""
    unknown = set(defaults) - {p.name for p in DIFFUSION_PARAMETERS}
    if unknown:
        raise KeyError(f"not shared diffusion parameters: {sorted(unknown)}")
    return tuple(replace(p, default=defaults.get(p.name, p.default)) for p in DIFFUSION_PARAMETERS)


class DiffusionSolver(Solver):
    """Skeleton of a conditional diffusion policy: subclasses build the network and define the layouts."""

    stochastic = True
    needs_expert = True
    bench_fit_params = {"train_steps": 0}  # sampling costs the same with untrained weights

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.net: nn.Module | None = None
        self.meta: dict[str, Any] = {}

    # ---- to implement -------------------------------------------------------------------
    def _prepare(self, problem: Problem, instances: Instances, y0: torch.Tensor, device: str) -> None:
        """Set `self.meta` (plain values and tensors needed to rebuild the net and its input scaling)."""
        raise NotImplementedError

    def _build(self) -> nn.Module:
        """A freshly initialized network from `self.params` and `self.meta`."""
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
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.generator("init", device="cpu").initial_seed())
            self.net = self._build().to(device)
        batch_loss = self._loss(problem, instances, y0, self.schedule, device)
        self.losses = train(self.net, batch_loss, self.params.train_steps, self.params.lr, ctx,
                            stage=f"fit {self.name}", ema_decay=self.params.ema_decay)

    @torch.no_grad()
    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        if self.net is None:
            raise RuntimeError(f"solver '{self.name}' must be fitted (or loaded) before sampling")
        device = ctx.device
        instances = instances.to(device)
        self.net.to(device).eval()
        codec = self._codec(problem, instances)
        model, shape = self._model(problem, instances, n_samples, device)
        p = self.params
        eps_fn = eps_function(model, self.schedule, p.prediction)
        low, high = codec.clip(shape[-1])
        clip = (max(low, self.meta["y_range"][0]), min(high, self.meta["y_range"][1])) if p.clip_x0 else None
        y = run_sampler(p.sampler, eps_fn, self.schedule, shape, ctx.generator("sample", device=device),
                        steps=p.sample_steps, eta=p.eta, device=device, clip=clip)
        x, diagnostics = codec.decode(self._unlayout(y, len(instances), n_samples))
        self.diagnostics = diagnostics
        return x

    def state_dict(self) -> dict[str, Any]:
        if self.net is None:
            raise RuntimeError(f"solver '{self.name}' has no fitted state")
        net_state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        meta = {k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in self.meta.items()}
        return {"params": dict(self.params), "meta": meta, "net": net_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        # the fit's hyper-parameters come from the state; how to sample stays this instance's choice
        sampling = {p.name: self.params[p.name] for p in self.parameters if p.sampling_only}
        self.params = resolve(self.parameters, {**state["params"], **sampling})
        self.meta = dict(state["meta"])
        self.net = self._build()
        self.net.load_state_dict(state["net"])
        self.net.eval()

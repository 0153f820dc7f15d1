"""The `gaussian` solver: a Gaussian policy whose per-coordinate mean and log-std are affine in the instance.

Fit: for each training instance b and coordinate d, the expert samples give a
mean m[b, d] and a spread s[b, d]. Two ridge regressions map the instance's
features to m and to log(s):

- flat view (B, F): one affine map per coordinate, m[b, :] = f[b] @ W + c;
- graph view (node i <-> coordinate i, node features (F_node,)): one affine map
  shared by all nodes, m[b, i] = x[b, i] @ w + c (works for any network size).

Sample: x = m + spread * exp(log s) * z with z ~ N(0, I) from the context's
generator, mapped onto the decision set with `problem.decision_set(instances).project`.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from wrbench.api import Context, Instances, Problem, Solver
from wrbench.params import Param


class GaussianSolver(Solver):
    """Gaussian policy: per-coordinate mean and log-std affine in the instance's features, fitted to expert samples."""

    name = "gaussian"
    version = "1"
    stochastic = True
    needs_expert = True
    parameters = (
        Param("view", str, "auto", "instance features: flat, graph, or auto (flat if offered, else graph)",
              choices=("auto", "flat", "graph")),
        Param("ridge", float, 1e-2, "ridge penalty per training row on standardized features", min=0.0),
        Param("spread", float, 1.0, "multiplies the fitted std when sampling (0: always the mean)", min=0.0),
        Param("min_std", float, 1e-3, "floor of the fitted std, relative to the expert samples' mean magnitude",
              min=1e-12),
    )

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.state: dict[str, Any] | None = None

    # ------------------------------------------------------------------ contract

    def supports(self, problem: Problem) -> str | None:
        reason = super().supports(problem)
        if reason is None and self._view(problem) is None:
            wanted = "flat or graph" if self.params.view == "auto" else self.params.view
            reason = f"solver '{self.name}' needs the {wanted} view, which '{problem.name}' does not offer"
        return reason

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        if expert_samples is None:
            raise ValueError(f"solver '{self.name}' imitates an expert and needs expert samples")
        view = self._view(problem)
        x = expert_samples.detach().to("cpu", torch.float64)                     # (B, S, D)
        floor = self.params.min_std * float(x.abs().mean().clamp(min=1e-12))
        mean, log_std = x.mean(1), torch.log(x.std(1, unbiased=False) + floor)   # (B, D) each
        features = self._features(problem, instances, view)                      # (B, D or 1, F)
        rows = features.reshape(-1, features.shape[-1])                          # (R, F)
        feat_mean, feat_std = rows.mean(0), rows.std(0, unbiased=False).clamp(min=1e-8)
        z = (rows - feat_mean) / feat_std
        gram = z.T @ z + (self.params.ridge * len(z) + 1e-9) * torch.eye(z.shape[1], dtype=z.dtype)  # SPD even if ridge = 0
        y = torch.cat([_targets(features, mean), _targets(features, log_std)], dim=1)  # (R, 2T)
        y_mean = y.mean(0)
        coef = torch.linalg.solve(gram, z.T @ (y - y_mean))
        self.state = {"view": view, "dim": int(mean.shape[1]), "feat_mean": feat_mean, "feat_std": feat_std,
                      "coef": coef, "intercept": y_mean}
        ctx.progress(f"fit {self.name}", 1, 1)

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor:
        if self.state is None:
            raise RuntimeError(f"solver '{self.name}' must be fitted (or loaded) before sampling")
        mean, log_std = self._predict(problem, instances)                        # (B, D) each
        noise = torch.randn((*mean.shape[:1], n_samples, mean.shape[1]), dtype=torch.float64,
                            generator=ctx.generator(self.name, "noise", device="cpu"))
        raw = (mean.unsqueeze(1) + self.params.spread * log_std.exp().unsqueeze(1) * noise).float()
        x = problem.decision_set(instances).project(raw.to(ctx.device))
        self.diagnostics = {"projected_frac": float((x.cpu() != raw).any(-1).float().mean())}
        return x

    def state_dict(self) -> dict[str, Any]:
        return dict(self.state or {})

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.state = dict(state)

    # ------------------------------------------------------------------ internals

    def _view(self, problem: Problem) -> str | None:
        wanted = ("flat", "graph") if self.params.view == "auto" else (self.params.view,)
        return next((v for v in wanted if v in problem.views), None)

    def _features(self, problem: Problem, instances: Instances, view: str) -> torch.Tensor:
        """(B, 1, F) flat features, or (B, D, F_node) per-node features."""
        instances = instances.to("cpu")
        if view == "flat":
            return problem.flat(instances).detach().to(torch.float64).unsqueeze(1)
        batch = problem.graph(instances)
        n, d = len(instances), problem.decision_dim(instances)
        if batch.x.shape[0] != n * d:
            raise ValueError(f"graph view has {batch.x.shape[0]} nodes for {n} instances of dimension {d}")
        return batch.x.detach().to(torch.float64).reshape(n, d, -1)

    def _predict(self, problem: Problem, instances: Instances) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.state
        features = self._features(problem, instances, s["view"])
        if features.shape[-1] != s["feat_mean"].shape[0]:
            raise ValueError(f"instances have {features.shape[-1]} features, the solver was fitted on "
                             f"{s['feat_mean'].shape[0]} (fit and sample on the same problem configuration)")
        if s["view"] == "flat" and problem.decision_dim(instances) != s["dim"]:
            raise ValueError(f"decision dimension {problem.decision_dim(instances)}, fitted on {s['dim']}")
        z = (features.reshape(-1, features.shape[-1]) - s["feat_mean"]) / s["feat_std"]
        out = z @ s["coef"] + s["intercept"]                                      # (R, 2T)
        half = out.shape[1] // 2
        n = len(instances)
        return out[:, :half].reshape(n, -1), out[:, half:].reshape(n, -1)


def _targets(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Regression targets: (B, D), one row per instance, for flat features; (B * D, 1), one row per node, for graph ones."""
    return target if features.shape[1] == 1 else target.reshape(-1, 1)

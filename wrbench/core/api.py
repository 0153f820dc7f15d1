"""The plugin contract: base classes for problems, experts and solvers and the data they pass.

Shapes used throughout:
- B: instances in a batch (networks), S: samples per instance, D: decision dimension.
- An allocation batch is a float tensor (B, S, D).

The harness only ever talks to plugins through these classes, so a problem,
expert or solver is one subclass with a `name`, typed `parameters` and a few
methods; see `docs/plugins.md` for a walkthrough.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import torch

from wrbench.core.geometry import project_simplex, uniform_simplex
from wrbench.core.params import Param, Params, resolve
from wrbench.core.weights import WeightedSamples, systematic_counts

# --------------------------------------------------------------------------- data


@dataclass
class Instances:
    """A batch of problem instances: named tensors with a leading batch dimension.

    `arrays` hold per-instance data (e.g. `H` of shape (B, N, N)); `attrs` hold
    JSON-able values shared by the whole batch (e.g. the split's `f_min`).
    """

    arrays: dict[str, torch.Tensor]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return next(iter(self.arrays.values())).shape[0] if self.arrays else 0

    def select(self, index: slice | list[int] | torch.Tensor) -> "Instances":
        """The sub-batch at `index` (same attrs)."""
        return Instances({k: v[index] for k, v in self.arrays.items()}, dict(self.attrs))

    def to(self, device: str | torch.device) -> "Instances":
        return Instances({k: v.to(device) for k, v in self.arrays.items()}, dict(self.attrs))

    def clone(self) -> "Instances":
        return Instances({k: v.clone() for k, v in self.arrays.items()}, dict(self.attrs))

    def fingerprint(self) -> str:
        """A content hash, used to key caches and to detect mutation by a solver."""
        digest = hashlib.sha256(repr(sorted(self.attrs.items())).encode())
        for key in sorted(self.arrays):
            digest.update(key.encode())
            digest.update(self.arrays[key].detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]


class DecisionSet:
    """The allocations a problem accepts, for each instance of a batch.

    `enforce` says what the harness does with a raw solver sample outside the set:
    "invalid" marks the cell invalid; "score" lets the problem count such samples
    as infeasible and project them for scoring (its protocol says so).
    """

    enforce: str = "invalid"

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        """Boolean (B, S): which samples of x (B, S, D) lie in the set."""
        raise NotImplementedError

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, S, D) mapped onto the set."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # Geometry, so that solvers and the harness never branch on the type of a set. Unit coordinates
    # live in the set's unit domain, named by `unit_domain`: "cube" ([0, 1]^D') or "simplex" (the
    # probability simplex of D' coordinates); a solver may pick its output squashing by it.

    unit_domain: ClassVar[str] = "cube"

    def unit_dim(self, dim: int) -> int:
        """Size D' of the unit coordinates of a decision of size D (`to_unit`)."""
        raise NotImplementedError

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, S, D) in the set -> its unit coordinates (B, S, D'), in the set's unit domain."""
        raise NotImplementedError

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        """Unit coordinates (B, S, D') -> decisions (B, S, D). With `repair`, u outside the unit domain is
        first mapped onto it (clamped or projected), so every output is feasible; without, only the
        affine inverse of `to_unit` is applied, for a caller that repairs the decisions itself."""
        raise NotImplementedError

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """Boolean masks of where unit coordinates u (B, S, D') leave the unit domain, by what `from_unit`
        then repairs (e.g. {"clamped": per coordinate}), so a solver can report how often its raw output
        needed repair."""
        raise NotImplementedError

    def uniform(self, n_samples: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n_samples decisions (B, n_samples, dim) drawn uniformly from the set of each instance."""
        raise NotImplementedError


@dataclass
class Box(DecisionSet):
    """Coordinate-wise bounds `low <= x <= high`; low/high broadcast to (B, D). Unit domain: the cube."""

    low: torch.Tensor
    high: torch.Tensor
    enforce: str = "invalid"

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        low, high = self._bounds(x)
        scale = torch.clamp(high - low, min=1e-30)
        return ((x >= low - atol * scale) & (x <= high + atol * scale)).all(dim=-1)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self._bounds(x)
        return torch.maximum(torch.minimum(x, high), low)

    def describe(self) -> str:
        return f"box [{float(self.low.min()):g}, {float(self.high.max()):g}]^D"

    def _bounds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """low and high as (B, 1, D) in x's dtype and device."""
        return self.low.to(x).unsqueeze(-2), self.high.to(x).unsqueeze(-2)

    def unit_dim(self, dim: int) -> int:
        return dim

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Each coordinate's position between its bounds, (x - low) / (high - low)."""
        low, high = self._bounds(x)
        return (x - low) / torch.clamp(high - low, min=1e-30)

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        low, high = self._bounds(u)
        if not repair:
            return low + u * (high - low)
        return self.project(low + u.clamp(0.0, 1.0) * (high - low))

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """{"clamped": (B, S, D')}: the coordinates outside [0, 1], which `from_unit` clamps onto a bound."""
        return {"clamped": (u < -atol) | (u > 1 + atol)}

    def uniform(self, n_samples: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        low, high = self.low.double().unsqueeze(-2), self.high.double().unsqueeze(-2)
        low, high = low.expand(-1, -1, dim), high.expand(-1, -1, dim)  # bounds given per instance broadcast
        u = torch.rand(low.shape[0], n_samples, dim, generator=generator, dtype=torch.float64, device=low.device)
        return (low + (high - low) * u).to(self.low.dtype)


@dataclass
class Budget(DecisionSet):
    """Nonnegative vectors whose sum stays within a per-instance `total` (B,).

    Unit domain: the simplex of D + 1 coordinates, the shares x / total plus the unused slack.
    """

    total: torch.Tensor
    enforce: str = "score"
    unit_domain: ClassVar[str] = "simplex"

    def contains(self, x: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
        total = self.total.to(x).unsqueeze(-1)
        return (x >= -atol * total.unsqueeze(-1)).all(dim=-1) & (x.sum(-1) <= total * (1 + atol))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Clip at zero, then scale down onto the budget where it is exceeded."""
        x = torch.clamp(x, min=0.0)
        total = self.total.to(x).unsqueeze(-1)
        scale = torch.clamp(total / torch.clamp(x.sum(-1), min=1e-30), max=1.0)
        return x * scale.unsqueeze(-1)

    def describe(self) -> str:
        return "x >= 0, sum(x) <= P"

    def _total(self, x: torch.Tensor) -> torch.Tensor:
        """total as (B, 1, 1) in x's dtype and device."""
        return self.total.to(x)[:, None, None]

    def unit_dim(self, dim: int) -> int:
        return dim + 1  # the shares plus the unused slack

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """The shares x / total plus the slack 1 - sum(x) / total: a point of the (D+1)-simplex."""
        u = x / self._total(x)
        return torch.cat([u, 1.0 - u.sum(-1, keepdim=True)], dim=-1)

    def from_unit(self, u: torch.Tensor, repair: bool = True) -> torch.Tensor:
        """The shares (after the Euclidean projection onto the simplex, with `repair`) times total; the slack is dropped."""
        return (project_simplex(u) if repair else u)[..., :-1] * self._total(u)

    def unit_violations(self, u: torch.Tensor, atol: float = 1e-6) -> dict[str, torch.Tensor]:
        """{"infeasible": (B, S)}: points whose shares (the slack coordinate aside) are not a feasible
        decision, a negative share or shares summing past 1, which `from_unit`'s projection moves."""
        shares = u[..., :-1]
        return {"infeasible": (shares < -atol).any(-1) | (shares.sum(-1) > 1 + atol)}

    def uniform(self, n_samples: int, dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The shares of points drawn uniformly from the (dim + 1)-simplex, times total."""
        total = self.total.double()
        u = uniform_simplex((total.shape[0], n_samples), dim + 1, generator, total.device)
        return (u[..., :-1] * total[:, None, None]).to(self.total.dtype)


@dataclass
class Evaluation:
    """What a problem's evaluation protocol reports for one policy on one split.

    - `metrics`: pooled scalars, named by the problem (e.g. `mean_rate`, `p5`) and listed in its `metrics`.
    - `per_instance`: arrays of length B, one per metric that is a mean over
      instances (e.g. each network's mean rate): the board's intervals, paired
      differences and shared ranks are computed from them, and a later
      evaluation uses the reference's as the denominator of ratios.
    - `distributions`: samples (e.g. per-link ergodic rates) for CDF plots, one
      row per instance ((B, K) arrays) where the problem's `quantile_metrics`
      are read from them.
    - `markers`: reference values to draw on a distribution's plot (e.g. f_min).
    """

    metrics: dict[str, float]
    per_instance: dict[str, np.ndarray] = field(default_factory=dict)
    distributions: dict[str, np.ndarray] = field(default_factory=dict)
    markers: dict[str, dict[str, float]] = field(default_factory=dict)


ProgressFn = Callable[..., None]


def _no_progress(stage: str, done: float = 0, total: float | None = None, **info: Any) -> None:
    return None


@dataclass
class Context:
    """What the harness hands to every plugin call: seeds, device and a progress sink.

    `progress(stage, done, total, **info)` updates the run display (e.g. training
    epochs with the current loss); it is cheap and may be called often.
    """

    seed: int
    device: str = "cpu"
    progress: ProgressFn = _no_progress

    def generator(self, *parts: Any, device: str | None = None) -> torch.Generator:
        """A torch generator seeded from this context's seed and `parts`."""
        gen = torch.Generator(device=device or self.device)
        gen.manual_seed(derive_seed(self.seed, *parts))
        return gen

    def rng(self, *parts: Any) -> np.random.Generator:
        """A numpy generator seeded from this context's seed and `parts`."""
        return np.random.default_rng(derive_seed(self.seed, *parts))

    def child(self, *parts: Any) -> "Context":
        return Context(derive_seed(self.seed, *parts), self.device, self.progress)


def instance_arrays(
    arrays: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """The named arrays as float64 numpy arrays, for a problem's `load_instances`.

    A ValueError names what is wrong: a missing or unknown key (a typo would
    otherwise silently fall back to a default), a non-numeric array, no
    instances, a NaN or an inf. Shapes and value ranges are the problem's to check.
    """
    missing = [key for key in required if key not in arrays]
    unknown = sorted(str(key) for key in arrays if key not in (*required, *optional))
    if missing or unknown:
        raise ValueError(f"expected arrays {', '.join(required)}" + (f" (optional: {', '.join(optional)})" if optional else "")
                         + (f"; missing {', '.join(missing)}" if missing else "") + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    out = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise ValueError(f"'{key}' must hold real numbers, got dtype {array.dtype}")
        array = array.astype(np.float64, copy=False)
        if array.ndim == 0 or len(array) == 0:
            raise ValueError(f"'{key}' holds no instances (shape {array.shape})")
        if not np.isfinite(array).all():
            raise ValueError(f"'{key}' holds NaN or inf values")
        out[key] = array
    return out


def repeat_samples(decision: torch.Tensor, n_samples: int) -> torch.Tensor:
    """A deterministic policy's samples: n_samples copies of decision (B, D) as (B, n_samples, D)."""
    return decision.unsqueeze(1).repeat(1, n_samples, 1)


def derive_seed(seed: int, *parts: Any) -> int:
    """A 63-bit seed that depends on `seed` and every part, stable across runs and machines."""
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


# ------------------------------------------------------------------- components


class Component:
    """Common ground of problems, experts and solvers: a name, a version and typed parameters.

    Bump `version` when a change alters results: caches are keyed by it.
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    parameters: ClassVar[tuple[Param, ...]] = ()
    # Parameter overrides for a cheap smoke test (a small size, a tiny budget): the conformance kit builds
    # the component with them. Loading the plugin checks that they resolve.
    test_params: ClassVar[Mapping[str, Any]] = {}
    # The integer parameter that sets the work of one call (a sampler's denoiser calls, an iterative expert's
    # rounds): a suite's `frontier` sweeps it and `wrbench bench` times each of `bench_budgets`. A solver's
    # budget parameter must be `sampling_only`, so every point of its frontier reuses one fit.
    budget_parameter: ClassVar[str] = ""
    bench_budgets: ClassVar[tuple[int, ...]] = ()

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        self.params: Params = resolve(self.parameters, {**dict(params or {}), **overrides})
        self.check_params(self.params)

    @classmethod
    def check_params(cls, params: Params) -> None:
        """Reject combinations of individually valid values (raise `ParamError`); suites call it before any work."""

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.params)})"


class Problem(Component):
    """Makes instances, owns the decision set and the evaluation protocol.

    Subclasses set `primary_metric`, the metrics where lower is better, the
    evaluation parameters, and the views they offer to solvers ("graph": a
    torch-geometric batch from `graph()`, "flat": a (B, F) tensor from `flat()`).
    """

    kind = "problem"
    primary_metric: ClassVar[str] = ""
    lower_is_better: ClassVar[frozenset[str]] = frozenset()
    eval_parameters: ClassVar[tuple[Param, ...]] = ()
    views: ClassVar[frozenset[str]] = frozenset()
    export_arrays: ClassVar[dict[str, str]] = {}
    leaderboard_note: ClassVar[str] = ""  # printed under the leaderboard (e.g. how infeasible samples are scored)
    headline_metrics: ClassVar[tuple[str, ...]] = ()  # the metrics the terminal table shows first
    # every metric `evaluate` may report: suites may rank by and plot only these and the harness's timings
    # (empty: undeclared, and suites' metric names are not checked before the run)
    metrics: ClassVar[tuple[str, ...]] = ()
    # one line per metric, shown in the board's legend (the full definitions live in the plugin's docs)
    metric_definitions: ClassVar[Mapping[str, str]] = {}
    # The board's ranking rule (docs/metrics.md): rows whose `constraint_metric` (lower is better, 0 = every
    # constraint met) is at most `constraint_tolerance` meet the constraints and rank first, by `objective`;
    # the others follow by the constraint metric. A suite may set its own tolerance (`qos_tolerance`) or
    # rank by one metric (`rank_by`). No objective: the board ranks by `primary_metric`.
    objective: ClassVar[str] = ""
    constraint_metric: ClassVar[str] = ""
    constraint_tolerance: ClassVar[float] = 0.0
    # Metrics that are quantiles of a distribution pooled over instances, {metric: (distribution, q)}: the
    # board computes their interval by resampling instances (the distribution's rows).
    quantile_metrics: ClassVar[Mapping[str, tuple[str, float]]] = {}
    # Metrics in one unit drawn side by side as grouped bars per policy (e.g. mean rate and rate
    # percentiles), with the markers of distribution `profile_marker[0]` named `profile_marker[1]`.
    profile_metrics: ClassVar[tuple[str, ...]] = ()
    profile_marker: ClassVar[tuple[str, str] | None] = None
    # Whether `evaluate` takes `weights` (a policy returning WeightedSamples); a problem that does not
    # makes such a policy's cell invalid rather than resampling it.
    scores_weights: ClassVar[bool] = False
    # The expert that smoke tests and the latency bench use as the reference ("": the first registered
    # expert, by name, that supports the problem); built with its own `test_params`.
    test_expert: ClassVar[str] = ""
    # The latency bench times every solver at these sizes of `size_parameter`, per device kind
    # ("cpu", "cuda"); a problem without sizes gets no latency benchmark.
    size_parameter: ClassVar[str] = ""
    bench_sizes: ClassVar[Mapping[str, tuple[int, ...]]] = {}

    def make_instances(self, split: str, n: int, seed: int) -> Instances:
        """n fresh instances for `split`, fully determined by `seed` and the parameters."""
        raise NotImplementedError

    def load_instances(self, arrays: Mapping[str, np.ndarray]) -> Instances:
        """Instances from arrays named as in `export_arrays` (the inverse of `export_instances`)."""
        raise NotImplementedError

    def export_instances(self, instances: Instances) -> dict[str, np.ndarray]:
        """Arrays named as in `export_arrays`, enough for `load_instances` to rebuild the batch."""
        raise NotImplementedError

    def decision_set(self, instances: Instances) -> DecisionSet:
        raise NotImplementedError

    def decision_dim(self, instances: Instances) -> int:
        raise NotImplementedError

    def evaluate(
        self,
        instances: Instances,
        samples: torch.Tensor,
        ctx: Context,
        params: Params,
        reference: Evaluation | None = None,
        weights: torch.Tensor | None = None,
    ) -> Evaluation:
        """Run the evaluation protocol on samples (B, S, D) of one policy.

        `ctx.seed` is the same for every policy on a split (common random
        numbers); `reference` is the expert's evaluation on the same instances,
        or None when evaluating the expert itself. `weights` (B, S), rows
        summing to 1, are the probabilities of a mixture policy's samples (None:
        uniform); only problems with `scores_weights` receive them.
        """
        raise NotImplementedError

    def candidate_scores(self, instances: Instances, samples: torch.Tensor,
                         params: Params) -> tuple[torch.Tensor, torch.Tensor]:
        """(merit (B, S), feasible (B, S) bool) of each decision, read as `evaluate` scores it.

        Optional: it lets a suite keep each policy's best of several candidates (`select:`).
        Merit is higher-is-better (the negated cost of a cost problem) and feasible says whether
        every constraint holds; neither may use the reference, which a deployed policy lacks.
        """
        raise NotImplementedError(f"problem '{self.name}' cannot score candidate decisions")

    def complete(self, instances: Instances, samples: torch.Tensor) -> torch.Tensor:
        """Decisions (B, S, D) with their continuous part re-solved exactly for the rest of the decision.

        Optional: for problems where a policy's hard part is discrete or outer (a selection of
        devices, a position) and the remainder has a cheap exact solution; `select: {complete: true}`
        applies it to a policy's samples, inside the policy's timed sampling.
        """
        raise NotImplementedError(f"problem '{self.name}' offers no exact completion of a decision")

    def graph(self, instances: Instances) -> Any:
        """A torch_geometric Batch, one graph per instance, node i <-> coordinate i."""
        raise NotImplementedError(f"problem '{self.name}' offers no graph view")

    def flat(self, instances: Instances) -> torch.Tensor:
        """A fixed-size description (B, F) of each instance."""
        raise NotImplementedError(f"problem '{self.name}' offers no flat view")

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"views": sorted(cls.views), "primary_metric": cls.primary_metric,
                "candidate_scores": overrides(cls, "candidate_scores"), "complete": overrides(cls, "complete")}


def overrides(cls: type[Problem], method: str) -> bool:
    """Whether a problem class implements one of the Problem base's optional methods."""
    return getattr(cls, method) is not getattr(Problem, method)


class Expert(Component):
    """Produces reference allocations: samples of an (optimal) policy for given instances.

    After `solve`, `diagnostics` may hold scalars about that solve (e.g. whether an iterative
    method converged); they land in the expert's row like a solver's diagnostics.
    """

    kind = "expert"
    problems: ClassVar[tuple[str, ...] | None] = None
    stochastic: ClassVar[bool] = True

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.diagnostics: dict[str, float] = {}

    def supports(self, problem: Problem) -> str | None:
        """None if this expert can solve `problem`, else the reason it cannot."""
        return _problem_reason(self, problem, ())

    def solve(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor | WeightedSamples:
        """Samples (B, n_samples, D) of the expert's policy for each instance (or WeightedSamples of that shape)."""
        raise NotImplementedError

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {"problems": list(cls.problems) if cls.problems else "any", "stochastic": cls.stochastic,
                **_budget_capability(cls)}


class Solver(Component):
    """Learns (or not) from expert samples and samples allocations for new instances.

    After `sample`, `diagnostics` may hold extra scalars for the leaderboard
    (e.g. the share of raw samples a policy had to clamp).
    """

    kind = "solver"
    problems: ClassVar[tuple[str, ...] | None] = None
    requires: ClassVar[frozenset[str]] = frozenset()
    stochastic: ClassVar[bool] = True
    needs_expert: ClassVar[bool] = True
    # Parameter overrides for the cheapest fit that leaves the cost of `sample` unchanged (a training
    # budget, never the architecture): the latency bench fits with them when the solver cannot sample unfitted.
    bench_fit_params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, params: Mapping[str, Any] | None = None, **overrides: Any):
        super().__init__(params, **overrides)
        self.diagnostics: dict[str, float] = {}

    def supports(self, problem: Problem) -> str | None:
        """None if this solver can run on `problem`, else the reason it cannot."""
        return _problem_reason(self, problem, self.requires)

    def fit(self, problem: Problem, instances: Instances, expert_samples: torch.Tensor | None, ctx: Context) -> None:
        """Learn from expert samples (B, S, D) for the training instances (no-op by default)."""

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor | WeightedSamples:
        """Allocations (B, n_samples, D) for each instance, reproducible from `ctx.seed`; a mixture policy
        may return WeightedSamples (its support and probabilities) instead."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Fitted state as tensors and plain values (saved with torch.save, loaded weights-only)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {
            "problems": list(cls.problems) if cls.problems else "any",
            "requires": sorted(cls.requires),
            "stochastic": cls.stochastic,
            "needs_expert": cls.needs_expert,
            **_budget_capability(cls),
        }


def _budget_capability(cls: type[Component]) -> dict[str, Any]:
    """The budget parameter a frontier sweeps and the budgets the bench times, where the component declares one."""
    return {"budget_parameter": cls.budget_parameter, "bench_budgets": list(cls.bench_budgets)} if cls.budget_parameter else {}


def _problem_reason(component: Component, problem: Problem, requires: frozenset[str] | tuple) -> str | None:
    allowed = getattr(component, "problems", None)
    if allowed is not None and problem.name not in allowed:
        return f"{component.kind} '{component.name}' supports problems {list(allowed)}, not '{problem.name}'"
    missing = sorted(set(requires) - set(problem.views))
    if missing:
        return f"{component.kind} '{component.name}' needs the {', '.join(missing)} view, which '{problem.name}' does not offer"
    return None


class ExpertSolver(Solver):
    """An expert listed under `solvers`: it solves each test instance itself and is scored like any policy."""

    needs_expert = False

    def __init__(self, expert: Expert):
        self.expert = expert
        self.params = expert.params

    @property  # type: ignore[override]
    def diagnostics(self) -> dict[str, float]:
        return self.expert.diagnostics

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.expert.name

    @property  # type: ignore[override]
    def version(self) -> str:
        return self.expert.version

    @property  # type: ignore[override]
    def stochastic(self) -> bool:
        return self.expert.stochastic

    @property  # type: ignore[override]
    def budget_parameter(self) -> str:
        return self.expert.budget_parameter

    def supports(self, problem: Problem) -> str | None:
        return self.expert.supports(problem)

    def sample(self, problem: Problem, instances: Instances, n_samples: int, ctx: Context) -> torch.Tensor | WeightedSamples:
        return self.expert.solve(problem, instances, n_samples, ctx)


__all__ = [
    "Instances",
    "DecisionSet",
    "Box",
    "Budget",
    "project_simplex",
    "repeat_samples",
    "uniform_simplex",
    "Evaluation",
    "WeightedSamples",
    "systematic_counts",
    "ProgressFn",
    "Context",
    "instance_arrays",
    "derive_seed",
    "Component",
    "Problem",
    "Expert",
    "Solver",
    "ExpertSolver",
]

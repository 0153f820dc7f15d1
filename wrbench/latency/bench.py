"""Sampling-latency benchmarks (`benchmarks/`, `wrbench bench`): cases, preparation, storage and comparison.

A *case* is one component (a registered solver, or the expert as the
reference) at one size N and one batch of networks, producing S samples per
network. `discover` lists the cases from a plugin registry, so bundled and
third-party solvers are benchmarked alike; a solver that cannot be built is
listed with its error instead of breaking the list. `Bench.prepare` builds the
problem, the networks and the component (fitting a learned solver with the
smallest training budget its parameters allow when it cannot sample unfitted:
random weights) and returns the call that the pytest-benchmark benchmark times
with `wrbench.core.clock.clock`. Right before each round the benchmark also times a
fixed `CalibrationKernel` for about as long as the previous round lasted
(`PairedCalibration`, pytest-benchmark's `setup` hook, untimed itself), so every
round has a paired measure of how fast the machine was at that moment.

Saved runs live in `STORAGE/<fingerprint id>/<name>.json`, where the
fingerprint id hashes `wrbench.machine.fingerprint(device)`; each run keeps the
raw seconds of every round and its paired `calibration` seconds, which
`compare_runs` tests with `wrbench.benchstats.compare_rounds`.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from wrbench.core.api import Box, Context, Instances, Problem, Solver, derive_seed
from wrbench.core.clock import clock, timed
from wrbench.core.errors import one_line
from wrbench.core.fsio import safe_name, write_json
from wrbench.core.machine import fingerprint, git_commit
from wrbench.core.plugins import Registry
from wrbench.latency.stats import ALPHA, Comparison, compare_rounds

BENCH_PROBLEM = "power_control"
SIZE_PARAM = "n_pairs"
EXPERT = "primal_dual"
DEFAULT_SIZES = {"cpu": (20, 50, 200), "cuda": (20, 50, 200, 1000)}
DEFAULT_BATCHES = (1, 8)
DEFAULT_SAMPLES = 50
DEFAULT_STORAGE = Path(".benchmarks") / "wrbench"
# training-budget parameters set to their minimum when a solver must be fitted before it can sample
FIT_BUDGET_PARAMS = ("train_steps", "epochs", "train_epochs", "max_epochs", "fit_steps")
# Shortest round: faster calls are repeated within a round (see `calls_per_round`).
MIN_ROUND_SECONDS = 0.01
MAX_CALLS_PER_ROUND = 10_000
SEED = 0


def default_sizes(device: str) -> tuple[int, ...]:
    return DEFAULT_SIZES["cuda" if str(device).startswith("cuda") else "cpu"]


# ----------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One benchmark: `name` (role `solver`, or `expert` for the reference) at size n, batch networks, S samples."""

    role: str
    name: str
    n: int
    batch: int
    samples: int
    device: str = "cpu"
    problem: str = BENCH_PROBLEM
    size_param: str = SIZE_PARAM
    error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.name}-N{self.n}-B{self.batch}"

    def info(self) -> dict[str, Any]:
        return {"case": self.id, "role": self.role, "component": self.name, "n": self.n, "batch": self.batch,
                "samples": self.samples, "device": self.device, "problem": self.problem}


@dataclass
class Discovery:
    cases: list[Case] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (component, reason): unsupported or unknown

    def names(self) -> list[str]:
        return sorted({c.name for c in self.cases})


def discover(
    registry: Registry,
    *,
    solvers: Sequence[str] = (),
    sizes: Sequence[int] = (),
    batches: Sequence[int] = DEFAULT_BATCHES,
    samples: int = DEFAULT_SAMPLES,
    device: str = "cpu",
    include_expert: bool = True,
    problem: str = BENCH_PROBLEM,
    size_param: str = SIZE_PARAM,
    expert: str = EXPERT,
) -> Discovery:
    """The benchmark cases for every registered solver that supports `problem` (or those named in `solvers`).

    Never raises for a broken component: a solver whose construction or
    `supports` raises becomes cases carrying the error (the benchmark reports
    it); an unsupported or unknown one is listed in `skipped` with the reason.
    """
    found = Discovery()
    sizes = tuple(sizes) or default_sizes(device)
    if not registry.has("problem", problem):
        found.skipped.append(("*", f"problem '{problem}' is not registered (did its plugin fail to load?)"))
        return found
    try:
        probe = registry.get("problem", problem)({size_param: sizes[0]})
    except Exception as exc:  # noqa: BLE001
        found.skipped.append(("*", f"problem '{problem}' cannot be built: {one_line(exc)}"))
        return found
    known = set(registry.names("solver")) | set(registry.names("expert"))
    wanted = list(dict.fromkeys(solvers)) if solvers else registry.names("solver")
    entries: list[tuple[str, str]] = [("solver", name) for name in wanted if name != expert or not include_expert]
    if include_expert:
        entries.insert(0, ("expert", expert))
    for role, name in entries:
        if name not in known:
            found.skipped.append((name, f"not registered (known: {', '.join(sorted(known)) or 'none'})"))
            continue
        error = None
        try:
            reason = registry.make_solver(name, None, problem).supports(probe)
        except Exception as exc:  # noqa: BLE001 - a solver still being written must not break the list
            reason, error = None, f"construction failed: {one_line(exc)}"
        if reason:
            found.skipped.append((name, reason))
            continue
        for n in sizes:
            for batch in batches:
                found.cases.append(Case(role, name, int(n), int(batch), int(samples), device, problem, size_param, error))
    return found


# ----------------------------------------------------------------- calibration

# Names the kernel below: change it with the kernel, so that runs timed with another kernel are compared raw.
CALIBRATION_KERNEL = "mlp-spmm-64-v1"
MAX_CALIBRATION_SECONDS = 0.01


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
        gen = torch.Generator().manual_seed(SEED)

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


# ----------------------------------------------------------------- preparation


@dataclass
class Prepared:
    """What a benchmark times: `call()` produces S samples for each network of the case."""

    call: Callable[[], torch.Tensor]
    extra_info: dict[str, Any]
    first_seconds: float


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


class Bench:
    """Builds benchmark calls from a registry; fitted (or random-weight) solvers are reused across batch sizes."""

    def __init__(self, registry: Registry, seed: int = SEED):
        self.registry, self.seed = registry, seed
        self._solvers: dict[tuple[str, int, str], tuple[Solver, str]] = {}
        self._kernels: dict[str, CalibrationKernel] = {}

    def calibration(self, device: str, round_seconds: float) -> PairedCalibration:
        """A fresh recorder of the calibration of one benchmark whose first call took `round_seconds`;
        the kernel is built once per device."""
        if device not in self._kernels:
            self._kernels[device] = CalibrationKernel(device)
        return PairedCalibration(self._kernels[device], round_seconds)

    def problem(self, case: Case) -> Problem:
        return self.registry.get("problem", case.problem)({case.size_param: case.n})

    def instances(self, problem: Problem, case: Case) -> Instances:
        """The same networks for every component at (n, batch): the expert's reference is on the solver's networks."""
        return problem.make_instances("bench", case.batch, derive_seed(self.seed, "bench", case.problem, case.n, case.batch))

    def prepare(self, case: Case) -> Prepared:
        if case.error:
            raise RuntimeError(f"{case.name}: {case.error}")
        problem = self.problem(case)
        instances = self.instances(problem, case).to(case.device)
        solver, weights = self._solver(case, problem)
        ctx = Context(derive_seed(self.seed, "bench-sample", case.id), case.device)

        def call() -> torch.Tensor:
            return solver.sample(problem, instances, case.samples, ctx)

        out, first = timed(call, case.device)
        expected = (case.batch, case.samples, problem.decision_dim(instances))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise RuntimeError(f"{case.name} returned samples of shape {got}, expected {expected}")
        info = {**case.info(), "weights": weights, "version": str(getattr(solver, "version", "")),
                "first_call_seconds": first, "torch_threads": torch.get_num_threads()}
        return Prepared(call, info, first)

    def _solver(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        key = (case.name, case.n, case.device)
        if key not in self._solvers:
            self._solvers[key] = self._build(case, problem)
        return self._solvers[key]

    def _build(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        """The component ready to sample, and how its weights came about (for `extra_info`)."""
        solver = self.registry.make_solver(case.name, None, case.problem)
        if case.role == "expert":
            return solver, "expert (no learned weights)"
        probe = self.instances(problem, Case(case.role, case.name, case.n, 1, 2, case.device, case.problem, case.size_param))
        ctx = Context(derive_seed(self.seed, "bench-probe", case.name), case.device)
        try:
            solver.sample(problem, probe.to(case.device), 2, ctx)
            return solver, "random weights (samples unfitted)" if solver.state_dict() else "no learned weights"
        except Exception as unfitted:  # noqa: BLE001 - most likely "must be fitted first"
            if type(solver).fit is Solver.fit:
                raise
            try:
                return self._fit_minimal(case, problem)
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(f"{case.name} cannot sample unfitted ({one_line(unfitted)}) and a minimal fit "
                                   f"failed ({one_line(exc)})") from exc

    def _fit_minimal(self, case: Case, problem: Problem) -> tuple[Solver, str]:
        """Fit with the smallest training budget the parameters allow, on synthetic targets: random weights."""
        cls = self.registry.solver_class(case.name, case.problem)
        declared = {p.name: p for p in getattr(cls, "parameters", ())}
        budget = {name: int(declared[name].min if declared[name].min is not None else 1)
                  for name in FIT_BUDGET_PARAMS if name in declared}
        solver = self.registry.make_solver(case.name, budget, case.problem)
        train = problem.make_instances("bench-train", 2, derive_seed(self.seed, "bench-train", case.n))
        targets = None
        if solver.needs_expert:
            targets = _synthetic_targets(problem, train, 4, derive_seed(self.seed, "bench-targets", case.n))
        ctx = Context(derive_seed(self.seed, "bench-fit", case.name, case.n), case.device)
        solver.fit(problem, train.to(case.device), None if targets is None else targets.to(case.device), ctx)
        shown = ", ".join(f"{k}={v}" for k, v in budget.items()) or "its default budget"
        return solver, f"random weights (fit with {shown} on 2 networks of uniform random targets)"


def _synthetic_targets(problem: Problem, instances: Instances, samples: int, seed: int) -> torch.Tensor:
    """Uniform random allocations in the decision set, (B, samples, D): stand-ins for expert samples."""
    gen = torch.Generator().manual_seed(seed)
    dim = problem.decision_dim(instances)
    u = torch.rand(len(instances), samples, dim, generator=gen, dtype=torch.float64)
    dset = problem.decision_set(instances)
    if isinstance(dset, Box):
        low, high = dset.low.double().unsqueeze(-2), dset.high.double().unsqueeze(-2)
        return (low + (high - low) * u).float()
    return dset.project(u).float()


# --------------------------------------------------------------------- storage


def fingerprint_id(fp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def make_run(benchmarks: dict[str, dict[str, Any]], device: str, settings: dict[str, Any] | None = None,
             name: str | None = None, fp: dict[str, Any] | None = None,
             load: dict[str, list[float] | None] | None = None) -> dict[str, Any]:
    """A run record: the fingerprint, settings, the machine load around the run and, per case id,
    extra info and the raw `rounds` (seconds)."""
    fp = fp if fp is not None else fingerprint(device)
    return {"format": 1, "name": name, "saved": time.time(), "commit": git_commit(), "fingerprint": fp,
            "fingerprint_id": fingerprint_id(fp), "settings": settings or {}, "load_average": load or {},
            "benchmarks": benchmarks}


BUSY_LOAD_PER_CORE = 1.0


def busy_warning(run: dict[str, Any], label: str) -> str | None:
    """A warning when the 1-minute load average around a run exceeded the core count (other work competed)."""
    cores = int(run.get("fingerprint", {}).get("cpu_count") or 1)
    loads = [v[0] for v in (run.get("load_average") or {}).values() if v]
    if loads and max(loads) > BUSY_LOAD_PER_CORE * cores:
        return (f"the machine was busy during the {label} run '{run.get('name') or 'current'}' (1-min load average up to "
                f"{max(loads):g} on {cores} cores): its timings include contention from other processes, so a "
                "verdict may reflect the load rather than the code")
    return None


def save_run(run: dict[str, Any], storage: Path, name: str) -> Path:
    run = dict(run, name=name, saved=time.time())
    path = Path(storage) / run["fingerprint_id"] / f"{safe_name(name)}.json"
    write_json(path, run, indent=1, sort_keys=True)
    return path


def load_run(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def saved_runs(storage: Path, fp_id: str | None = None) -> list[Path]:
    """Saved run files, oldest first (by their save time), on one fingerprint or all."""
    root = Path(storage)
    folders = [root / fp_id] if fp_id else [p for p in root.glob("*") if p.is_dir()]
    paths = [p for folder in folders if folder.is_dir() for p in folder.glob("*.json")]

    def saved(p: Path) -> float:
        try:
            return float(load_run(p).get("saved", p.stat().st_mtime))
        except (OSError, ValueError):
            return p.stat().st_mtime

    return sorted(paths, key=saved)


def find_baseline(storage: Path, fp_id: str, run: str | None) -> tuple[Path | None, str | None]:
    """(path, warning): the named run (a file path, or a name on this fingerprint, else on another one),
    or the last run saved on this fingerprint."""
    if run:
        direct = Path(run)
        if direct.suffix == ".json" and direct.is_file():
            return direct, None
        same = Path(storage) / fp_id / f"{safe_name(run)}.json"
        if same.is_file():
            return same, None
        others = [p for p in saved_runs(storage) if p.stem == safe_name(run)]
        if others:
            return others[-1], None
        return None, f"no saved run named '{run}' in {storage}"
    mine = saved_runs(storage, fp_id)
    if mine:
        return mine[-1], None
    anywhere = saved_runs(storage)
    if anywhere:
        return anywhere[-1], "no saved run on this machine fingerprint; comparing with the last run saved on another one"
    return None, f"no saved run in {storage} to compare with (save one with --save NAME)"


# ------------------------------------------------------------------ comparison


def fingerprint_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def calibration_gap(baseline: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Why a benchmark in both runs cannot be compared calibrated (None when it can)."""
    missing = [label for label, entry in (("baseline", baseline), ("current", current)) if not entry.get("calibration")]
    if missing:
        who = "neither run has" if len(missing) == 2 else f"the {missing[0]} run has no"
        return f"{who} calibration rounds (saved before they were recorded?)"
    kernels = baseline.get("calibration_kernel"), current.get("calibration_kernel")
    if kernels[0] != kernels[1]:
        return f"the runs timed different calibration kernels ({kernels[0]} vs {kernels[1]})"
    return None


def compare_runs(baseline: dict[str, Any], current: dict[str, Any], fail_over_pct: float | None = None,
                 alpha: float = ALPHA) -> tuple[list[Comparison], list[str]]:
    """Per-benchmark comparisons and warnings; a different fingerprint warns and never fails.

    Benchmarks calibrated in both runs get the calibrated verdict; the others fall back to the raw rule, with a
    warning, since then a machine that got slower between the runs looks like slower code."""
    warnings: list[str] = []
    same = baseline.get("fingerprint_id") == current.get("fingerprint_id")
    if not same:
        diff = "; ".join(fingerprint_diff(baseline.get("fingerprint", {}), current.get("fingerprint", {})))
        warnings.append(f"baseline '{baseline.get('name')}' was measured on a different machine fingerprint ({diff}): "
                        "verdicts are informative only and never fail")
    for run, label in ((baseline, "baseline"), (current, "current")):
        busy = busy_warning(run, label)
        if busy:
            warnings.append(busy)
    threads = {(b.get("torch_threads"), c.get("torch_threads")) for k, c in current["benchmarks"].items()
               if (b := baseline["benchmarks"].get(k)) and b.get("torch_threads") != c.get("torch_threads")}
    if threads:
        warnings.append("the runs used different torch thread counts (baseline -> current: "
                        + ", ".join(f"{a} -> {b}" for a, b in sorted(threads, key=str)) + "); pass the same --threads")
    names = list(current["benchmarks"]) + [k for k in baseline["benchmarks"] if k not in current["benchmarks"]]
    out, raw_only = [], {}
    for name in names:
        b, c = baseline["benchmarks"].get(name) or {}, current["benchmarks"].get(name) or {}
        gap = calibration_gap(b, c) if b and c else None
        if b and c and b.get("samples") != c.get("samples"):
            warnings.append(f"{name}: samples differ ({b.get('samples')} vs {c.get('samples')})")
        if gap:
            raw_only.setdefault(gap, []).append(name)
        out.append(compare_rounds(name, b.get("rounds"), c.get("rounds"),
                                  baseline_calibration=None if gap else b.get("calibration"),
                                  current_calibration=None if gap else c.get("calibration"),
                                  fail_over_pct=fail_over_pct, alpha=alpha, same_machine=same))
    warnings += [f"{gap}: {', '.join(names)} compared with the raw rule, so a change in machine speed between the "
                 "runs can pass for a change in the code" for gap, names in raw_only.items()]
    return out, warnings


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


COMPARISON_COLUMNS = ("benchmark", "baseline median", "current median", "raw change", "raw verdict",
                      "machine factor", "calibrated change", "p", "verdict")


def _pct(change: float | None) -> str:
    return "-" if change is None else f"{change:+.1f}%"


def comparison_rows(comparisons: Iterable[Comparison]) -> list[list[str]]:
    """Rows under `COMPARISON_COLUMNS`: the raw change and verdict, the machine-speed factor (current / baseline
    calibration median), the calibrated change, and the deciding p-value and verdict."""
    rows = []
    for c in comparisons:
        uncalibrated = "-" if c.ratio is None else "uncalibrated"
        rows.append([c.name, fmt_seconds(c.baseline_median), fmt_seconds(c.current_median), _pct(c.change_pct),
                     c.raw.verdict, "-" if c.speed_factor is None else f"{c.speed_factor:.3f}",
                     uncalibrated if c.calibrated is None else _pct(c.calibrated.change_pct),
                     "-" if c.p_value is None else f"{c.p_value:.2g}", c.verdict + (" (FAIL)" if c.fails else "")])
    return rows


def latency_rows(run: dict[str, Any]) -> list[list[str]]:
    """Per solver, size and batch: median seconds per call and per network, the expert's, and the speed-up."""
    benches = run["benchmarks"]
    experts = {(b["n"], b["batch"]): b for b in benches.values() if b.get("role") == "expert"}
    rows = []
    order = sorted(benches.values(), key=lambda b: (b["role"] != "expert", b["component"], b["n"], b["batch"]))
    for b in order:
        med = float(np.median(b["rounds"]))
        ref = experts.get((b["n"], b["batch"]))
        ref_med = float(np.median(ref["rounds"])) if ref else None
        speedup = "-" if ref_med is None or b.get("role") == "expert" else f"{ref_med / med:.3g}x"
        rows.append([b["component"], str(b["n"]), str(b["batch"]), str(b["samples"]), str(len(b["rounds"])),
                     fmt_seconds(med), fmt_seconds(med / b["batch"]),
                     fmt_seconds(ref_med / b["batch"]) if ref_med is not None else "-", speedup,
                     str(b.get("weights", "")).split(" (")[0]])
    return rows


def from_pytest_json(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Benchmarks of a pytest-benchmark JSON (run with raw data) as run entries keyed by case id."""
    out = {}
    for bench in data.get("benchmarks", []):
        info = dict(bench.get("extra_info", {}))
        key = info.get("case") or bench["name"]
        calls = int(info.get("calls_per_round", 1))
        rounds = [float(x) / calls for x in bench["stats"].get("data", [])]
        out[key] = {**info, "rounds": rounds, "median": float(np.median(rounds)) if rounds else None,
                    "pytest_name": bench.get("fullname", bench["name"])}
    return out


def benchmarks_dir() -> Path | None:
    """The `benchmarks/` folder: next to the current directory, or in the source checkout of this wrbench."""
    for candidate in (Path.cwd() / "benchmarks", Path(__file__).resolve().parents[2] / "benchmarks"):
        if (candidate / "test_latency.py").is_file():
            return candidate
    return None


def as_dict(case: Case) -> dict[str, Any]:
    return asdict(case)


# ------------------------------------------------------------------ the runner


@dataclass
class Outcomes:
    """What pytest reported: failed benchmarks (case id -> message) and skipped ones (id -> reason)."""

    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    exit_code: int = 0


class _Collector:
    """An in-process pytest plugin that records each benchmark's outcome."""

    def __init__(self) -> None:
        self.outcomes = Outcomes()

    @staticmethod
    def _case(nodeid: str) -> str:
        return nodeid.rsplit("[", 1)[-1].rstrip("]") if "[" in nodeid else nodeid

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            text = getattr(report, "longreprtext", "") or str(report.longrepr)
            errors = [ln.strip()[1:].strip() for ln in text.splitlines() if ln.strip().startswith("E ")]
            lines = errors or text.strip().splitlines() or ["failed"]
            self.outcomes.failed[self._case(report.nodeid)] = lines[0] if errors else lines[-1]
        elif report.skipped and report.when in ("setup", "call"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.outcomes.skipped[self._case(report.nodeid)] = reason.removeprefix("Skipped: ")

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.outcomes.collection_errors.append(str(report.longrepr).strip().splitlines()[-1])


def run_benchmarks(
    *,
    solvers: Sequence[str] = (),
    sizes: Sequence[int] = (),
    batches: Sequence[int] = (),
    samples: int = DEFAULT_SAMPLES,
    device: str = "cpu",
    include_expert: bool = True,
    plugins: Sequence[str] = (),
    strict_plugins: bool = False,
    max_time: float = 2.0,
    min_rounds: int = 5,
    max_rounds: int = 50,
    threads: int = 0,
    bench_dir: Path | None = None,
    pytest_args: Sequence[str] = (),
) -> tuple[dict[str, dict[str, Any]], Outcomes]:
    """Run `benchmarks/` through pytest-benchmark in this process; (run entries by case id, outcomes)."""
    import tempfile

    import pytest

    bench_dir = bench_dir or benchmarks_dir()
    if bench_dir is None:
        raise FileNotFoundError("benchmarks/test_latency.py not found: run from a wrbench source checkout")
    with tempfile.TemporaryDirectory(prefix="wrbench-bench-") as tmp:
        json_path = Path(tmp) / "run.json"
        args = [str(bench_dir), "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=",
                "--benchmark-json", str(json_path), "--benchmark-sort=name", "--benchmark-name=short",
                "--benchmark-columns=median,iqr,min,max,rounds",
                "--samples", str(samples), "--device", device, "--max-time", str(max_time),
                "--min-rounds", str(min_rounds), "--max-rounds", str(max_rounds), "--threads", str(threads)]
        args += [a for s in solvers for a in ("--solver", s)]
        args += [a for n in sizes for a in ("--size", str(n))]
        args += [a for b in batches for a in ("--batch", str(b))]
        args += [a for p in plugins for a in ("--wrbench-plugin", p)]
        if strict_plugins:
            args.append("--wrbench-strict-plugins")
        if not include_expert:
            args.append("--no-expert")
        args += list(pytest_args)
        collector = _Collector()
        code = pytest.main(args, plugins=[collector])
        collector.outcomes.exit_code = int(code)
        data = json.loads(json_path.read_text()) if json_path.is_file() else {}
    return from_pytest_json(data), collector.outcomes

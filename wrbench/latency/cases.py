"""What the latency benchmarks time, found from the plugins' own declarations.

A *case* is one component (a registered solver, or the problem's reference
expert) on one problem at one size N and one batch of networks, producing S
samples per network; a component that declares `bench_budgets` gets one case per
budget (a point of its cost-quality frontier), so a regression at any of them
shows. A problem takes part when it declares a `size_parameter` and `bench_sizes` (per device kind); its `test_expert` (or the first
registered expert that supports it) is the reference. `discover` never raises
for a broken component: a solver that cannot be built becomes cases carrying
its error, so a plugin still being written does not break the list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from wrbench.core.api import Problem
from wrbench.core.errors import one_line
from wrbench.core.plugins import Registry
from wrbench.core.provenance import component_provenance
from wrbench.latency.options import DEFAULTS


def device_kind(device: str) -> str:
    """The key of `Problem.bench_sizes` for a device: "cuda" for any CUDA device, else "cpu"."""
    return "cuda" if str(device).startswith("cuda") else "cpu"


@dataclass(frozen=True)
class Case:
    """One benchmark: `name` (role `solver`, or `expert` for the reference) on `problem` at size n."""

    role: str
    name: str
    problem: str
    size_param: str
    n: int
    batch: int
    samples: int
    device: str = "cpu"
    error: str | None = None
    budget: tuple[str, int] | None = None  # (budget parameter, value): one point of the component's frontier

    @property
    def id(self) -> str:
        return f"{self.problem}/{self.name}{budget_text(self.budget)}-N{self.n}-B{self.batch}"

    @property
    def params(self) -> dict[str, int]:
        """The component's parameters for this case: its defaults, with the case's budget."""
        return dict([self.budget]) if self.budget else {}

    def info(self) -> dict[str, Any]:
        return {"case": self.id, "role": self.role, "component": self.name, "n": self.n, "batch": self.batch,
                "samples": self.samples, "device": self.device, "problem": self.problem,
                "size_param": self.size_param, **({"budget": list(self.budget)} if self.budget else {})}


def budget_text(budget: tuple[str, int] | list | None) -> str:
    """`@param=value` for a case timed at one budget ("" for a component's default)."""
    return f"@{budget[0]}={budget[1]}" if budget else ""


def component_class(registry: Registry, role: str, name: str, problem: str | None) -> type:
    """The class a case times: the problem's reference expert, or a suite-style solver entry (LookupError if gone)."""
    return registry.get("expert", name, problem) if role == "expert" else registry.policy_class(name, problem)


@dataclass
class Discovery:
    cases: list[Case] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (component or problem, reason)

    def names(self) -> list[str]:
        return sorted({c.name for c in self.cases})


def bench_sizes(cls: type[Problem], device: str, sizes: Sequence[int] = ()) -> tuple[int, ...]:
    """The sizes to time `cls` at: `sizes` if given, else those it declares for the device's kind."""
    if not cls.size_parameter or not cls.bench_sizes:
        return ()
    return tuple(sizes) or tuple(cls.bench_sizes.get(device_kind(device), ()))


def reference_expert(registry: Registry, cls: type[Problem], probe: Problem) -> str | None:
    """The problem's `test_expert`, else the first registered expert (by name) that supports it."""
    return cls.test_expert or registry.first_expert_for(probe)


def discover(
    registry: Registry,
    *,
    problem: str | None = None,
    solvers: Sequence[str] = (),
    sizes: Sequence[int] = (),
    batches: Sequence[int] = DEFAULTS["batches"],
    samples: int = DEFAULTS["samples"],
    device: str = DEFAULTS["device"],
    include_expert: bool = True,
) -> Discovery:
    """The cases of every registered solver (or those in `solvers`) on every problem with bench sizes (or
    `problem`). An unknown solver, a problem that cannot take part and a solver that does not support a
    problem are listed in `skipped` with the reason."""
    found = Discovery()
    known = set(registry.names("solver")) | set(registry.names("expert"))
    wanted = list(dict.fromkeys(solvers)) if solvers else registry.names("solver")
    for name in wanted:
        if name not in known:
            found.skipped.append((name, f"not registered (known: {', '.join(sorted(known)) or 'none'})"))
    wanted = [name for name in wanted if name in known]
    if problem and not registry.has("problem", problem):
        found.skipped.append((problem, "problem not registered (did its plugin fail to load?)"))
        return found
    for name in [problem] if problem else registry.names("problem"):
        _discover_problem(registry, registry.get("problem", name), wanted, found, sizes=sizes, batches=batches,
                          samples=samples, device=device, include_expert=include_expert, named=bool(problem))
    return found


def _discover_problem(registry: Registry, cls: type[Problem], wanted: Sequence[str], found: Discovery, *,
                      sizes: Sequence[int], batches: Sequence[int], samples: int, device: str,
                      include_expert: bool, named: bool) -> None:
    """Add the cases of one problem class to `found` (`named`: the user asked for this problem)."""
    ns = bench_sizes(cls, device, sizes)
    if not ns:
        if named:
            found.skipped.append((cls.name, f"declares no size_parameter and bench_sizes for {device_kind(device)}"))
        return
    try:
        probe = cls({cls.size_parameter: ns[0]})
    except Exception as exc:  # noqa: BLE001
        found.skipped.append((cls.name, f"problem cannot be built: {one_line(exc)}"))
        return
    entries = [("solver", name) for name in wanted]
    if include_expert:
        expert = reference_expert(registry, cls, probe)
        if expert is None or not registry.has("expert", expert):
            found.skipped.append((f"{cls.name}/{expert or 'expert'}", "no registered reference expert"))
        else:
            entries = [("expert", expert)] + [e for e in entries if e[1] != expert]
    for role, name in entries:
        error = None
        try:
            reason = registry.make_solver(name, None, cls.name).supports(probe)
        except Exception as exc:  # noqa: BLE001 - a solver still being written must not break the list
            reason, error = None, f"construction failed: {one_line(exc)}"
        if reason:
            found.skipped.append((f"{cls.name}/{name}", reason))
            continue
        found.cases += [Case(role, name, cls.name, cls.size_parameter, int(n), int(b), int(samples), device, error, budget)
                        for budget in _budgets(registry, role, name, cls.name) for n in ns for b in batches]


def _budgets(registry: Registry, role: str, name: str, problem: str) -> list[tuple[str, int] | None]:
    """The frontier points a component asks to be timed at (`bench_budgets`), else its default budget alone."""
    try:
        cls = component_class(registry, role, name, problem)
    except LookupError:
        return [None]
    param = getattr(cls, "budget_parameter", "")
    return [(param, int(value)) for value in getattr(cls, "bench_budgets", ())] or [None]


def provenance(registry: Registry, entries: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Where the code of each timed component comes from (`wrbench.core.provenance.component_provenance`), by
    component name; a name whose variants differ from problem to problem is keyed `problem/name` instead.

    `entries`: run entries or `Case.info()` dicts (keys `role`, `component`, `problem`); a component that no
    longer resolves is left out."""
    classes: dict[str, dict[str, type]] = {}
    for entry in entries:
        name, problem = entry.get("component"), entry.get("problem")
        try:
            cls = component_class(registry, str(entry.get("role")), str(name), problem)
        except LookupError:
            continue
        classes.setdefault(str(name), {})[str(problem)] = cls
    out: dict[str, dict[str, Any]] = {}
    for name, by_problem in sorted(classes.items()):
        if len(set(by_problem.values())) == 1:
            out[name] = component_provenance(registry, next(iter(by_problem.values())))
        else:
            out.update({f"{problem}/{name}": component_provenance(registry, cls) for problem, cls in by_problem.items()})
    return out

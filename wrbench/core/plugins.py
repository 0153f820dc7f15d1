"""Plugin loading: entry points in group `wrbench` plus modules named with `-p`.

A plugin that fails (import error, bad hook, incompatible API version, a
component that clashes with another plugin's) is kept out and reported; the
others still load. `strict=True` turns the first failure into an exception.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pluggy

from wrbench.core.api import Component, Expert, ExpertSolver, Problem, Solver
from wrbench.core.params import ParamError, declaration_problems, resolve, short_repr

from . import hookspecs

ENTRY_POINT_GROUP = "wrbench"
DISABLE_ENV = "WRBENCH_DISABLE_ENTRY_POINTS"
KIND_BASES: dict[str, type] = {"problem": Problem, "expert": Expert, "solver": Solver}
HOOK_KINDS = {"register_problems": "problem", "register_experts": "expert", "register_solvers": "solver"}
API_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(\.\d+)*$")
# What a plugin may raise while loading and still be reported like any failure: sys.exit() included,
# which would otherwise end every command silently. KeyboardInterrupt still stops the command.
PLUGIN_FAILURES = (Exception, SystemExit)


class PluginError(Exception):
    """A plugin could not be loaded (raised only in strict mode)."""


class UnknownComponent(LookupError):
    """A suite or command named a component no loaded plugin registers."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f" (known: {', '.join(known) or 'none'})"
        super().__init__(f"unknown {kind} '{name}'{hint}")
        self.kind, self.name, self.suggestions = kind, name, close


@dataclass
class PluginRecord:
    """What `wrbench plugins` shows about one plugin."""

    name: str
    module: str
    source: str
    distribution: str | None = None
    version: str | None = None
    api_version: str | None = None
    status: str = "loaded"
    error: str | None = None
    components: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class UnresolvedComponent(LookupError):
    """A name registered for several problems that the problem in use does not pick out."""

    def __init__(self, kind: str, name: str, problem: str | None, variants: Sequence[tuple[type, str]]):
        listed = "; ".join(f"{_problems_text(cls)} (plugin '{owner}')" for cls, owner in variants)
        if problem is None:
            message = f"{kind} '{name}' is registered for several problems: {listed}; name the problem to choose one"
        else:
            message = f"{kind} '{name}' has no variant for problem '{problem}'; its variants support: {listed}"
        super().__init__(message)
        self.kind, self.name, self.problem = kind, name, problem


def _problems(cls: type) -> tuple[str, ...] | None:
    """The problems a component class declares (None: any problem, as for problems themselves)."""
    declared = getattr(cls, "problems", None)
    return tuple(declared) if declared else None


def _problems_text(cls: type) -> str:
    declared = _problems(cls)
    return ", ".join(declared) if declared else "any problem"


def _disjoint(a: type, b: type) -> bool:
    """Whether two classes may share a name: both declare problems, and no problem in common."""
    pa, pb = _problems(a), _problems(b)
    return pa is not None and pb is not None and not set(pa) & set(pb)


@dataclass
class Registry:
    """Loaded components by kind and name, plus a record of every plugin tried.

    A name maps to one class, or to several (variants) when each declares its own,
    disjoint `problems` (e.g. an `exhaustive` expert per problem). Lookups pass the
    problem in use to pick the variant.
    """

    components: dict[str, dict[str, list[type]]] = field(default_factory=lambda: {k: {} for k in KIND_BASES})
    owners: dict[type, str] = field(default_factory=dict)
    records: list[PluginRecord] = field(default_factory=list)
    modules: tuple[str, ...] = ()

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def variants(self, kind: str, name: str) -> list[type]:
        """Every class registered as `name` (empty if none)."""
        return list(self.components[kind].get(name, ()))

    def add(self, kind: str, cls: type, owner: str) -> None:
        """Register `cls` under its name, unchecked (loading checks clashes first)."""
        self.components[kind].setdefault(cls.name, []).append(cls)
        self.owners[cls] = owner

    def get(self, kind: str, name: str, problem: str | None = None) -> type:
        """The class registered as `name`; with several variants, the one supporting `problem`.

        A single variant is returned even if it does not support `problem`, so that its
        `supports()` can say why (the harness skips such pairs with that reason).
        """
        variants = self.components[kind].get(name)
        if not variants:
            raise UnknownComponent(kind, name, self.components[kind])
        if len(variants) == 1:
            return variants[0]
        chosen = [cls for cls in variants if problem in (_problems(cls) or ())]
        if not chosen:
            raise UnresolvedComponent(kind, name, problem, [(cls, self.owners[cls]) for cls in variants])
        return chosen[0]

    def has(self, kind: str, name: str) -> bool:
        return name in self.components[kind]

    def first_expert_for(self, problem: Problem) -> str | None:
        """The first registered expert (by name) that supports `problem`, built at its `test_params`; the
        reference of smoke tests and latency runs when the problem names no `test_expert`."""
        for name in self.names("expert"):
            try:
                cls = self.get("expert", name, problem.name)
                if cls(dict(cls.test_params)).supports(problem) is None:
                    return name
            except Exception:  # noqa: BLE001 - an expert that cannot be built is simply not the reference
                continue
        return None

    def solver_class(self, name: str, problem: str | None = None) -> type | None:
        """The solver registered as `name` (for `problem`), or None if `name` is only an expert."""
        return self.get("solver", name, problem) if self.has("solver", name) else None

    def policy_class(self, name: str, problem: str | None = None) -> type:
        """The class behind a suite's solver entry: the solver registered as `name`, else the expert that
        `make_solver` wraps."""
        return self.solver_class(name, problem) or self.get("expert", name, problem)

    def make_solver(self, name: str, params: dict[str, Any] | None, problem: str | None = None) -> Solver:
        """A solver instance (for `problem`); an expert's name gives the expert wrapped as a solver."""
        if self.has("solver", name):
            return self.get("solver", name, problem)(params)
        if self.has("expert", name):
            return ExpertSolver(self.get("expert", name, problem)(params))
        raise UnknownComponent("solver", name, [*self.components["solver"], *self.components["expert"]])

    def failures(self) -> list[PluginRecord]:
        return [r for r in self.records if r.status != "loaded"]


def _api_compatible(declared: str) -> bool:
    want_major, want_minor = (int(p) for p in hookspecs.API_VERSION.split(".")[:2])
    major, minor = (int(p) for p in API_VERSION_RE.match(declared).groups()[:2])  # type: ignore[union-attr]
    return major == want_major and minor <= want_minor


def _candidates(modules: Sequence[str], use_entry_points: bool) -> list[tuple[PluginRecord, Any]]:
    """(record, loader) pairs: entry points sorted by name, then the -p modules in order."""
    found: list[tuple[PluginRecord, Any]] = []
    if use_entry_points:
        eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        for ep in eps:
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                module=ep.value,
                source="entry point",
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            found.append((record, ep.load))
    for module in modules:
        record = PluginRecord(name=module, module=module, source="--plugin")
        found.append((record, lambda m=module: _import_from_cwd(m)))
    return found


def _import_from_cwd(module: str) -> Any:
    """Import a module named with -p, also from the current directory (as `python -m` would)."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    return importlib.import_module(module)


def load_plugins(modules: Sequence[str] = (), *, strict: bool = False, entry_points: bool | None = None) -> Registry:
    """Load every plugin, isolating failures; see the module docstring.

    Entry points are skipped when `entry_points` is False or, by default, when the
    environment sets WRBENCH_DISABLE_ENTRY_POINTS=1 (only the -p modules load then).
    """
    if entry_points is None:
        entry_points = os.environ.get(DISABLE_ENV, "") not in ("1", "true", "yes")
    registry = Registry(modules=tuple(modules))
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for record, loader in _candidates(modules, entry_points):
        try:
            plugin = loader()
            _register(manager, registry, record, plugin)
        except PLUGIN_FAILURES as exc:  # noqa: BLE001 - any plugin failure is isolated and reported
            record.status = "failed"
            record.error = _one_line(exc)
            record.components = []
            if strict:
                raise PluginError(f"plugin '{record.name}' failed: {record.error}") from exc
        registry.records.append(record)
    return registry


def load_plugins_for_command(modules: Sequence[str], strict: bool) -> Registry:
    """`load_plugins` for a command line: a plugin error (a -p module that fails with --strict-plugins,
    say) is a usage error, one line and exit code 2, not a traceback."""
    from wrbench.core.errors import UsageFailure

    try:
        return load_plugins(modules, strict=strict)
    except PluginError as exc:
        raise UsageFailure(str(exc)) from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({short_repr(exc.code)}) while loading"
    if isinstance(exc, PluginError):  # our own message: already says what is wrong
        return str(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _register(manager: pluggy.PluginManager, registry: Registry, record: PluginRecord, plugin: Any) -> None:
    declared = getattr(plugin, "WRBENCH_API_VERSION", None)
    record.api_version = declared if isinstance(declared, str) or declared is None else short_repr(declared)
    if declared is None:
        raise PluginError(f"does not declare WRBENCH_API_VERSION (this wrbench provides {hookspecs.API_VERSION})")
    if not (isinstance(declared, str) and API_VERSION_RE.match(declared)):
        raise PluginError(f"WRBENCH_API_VERSION must be a string \"MAJOR.MINOR\" such as \"{hookspecs.API_VERSION}\", "
                          f"got {short_repr(declared)}")
    if not _api_compatible(declared):
        raise PluginError(f"targets plugin API {declared}, this wrbench provides {hookspecs.API_VERSION}")
    _check_hook_names(manager, plugin)
    if manager.is_registered(plugin):
        raise PluginError("is already loaded under another name")
    manager.register(plugin, name=record.name)
    try:
        staged = _collect(manager, plugin)
        _commit(registry, record, staged)
    except PLUGIN_FAILURES:
        manager.unregister(plugin)
        raise


def _check_hook_names(manager: pluggy.PluginManager, plugin: Any) -> None:
    for attr in dir(plugin):
        if manager.parse_hookimpl_opts(plugin, attr) is not None and attr not in HOOK_KINDS:
            raise PluginError(f"implements unknown hook '{attr}' (known: {', '.join(HOOK_KINDS)})")


def _collect(manager: pluggy.PluginManager, plugin: Any) -> list[tuple[str, type]]:
    staged: list[tuple[str, type]] = []
    for hook_name, kind in HOOK_KINDS.items():
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin:
                impl.function(register=lambda cls, kind=kind: staged.append((kind, cls)))
    return staged


def _commit(registry: Registry, record: PluginRecord, staged: list[tuple[str, type]]) -> None:
    pending = Registry()
    for kind, cls in staged:
        base = KIND_BASES[kind]
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(f"registered {cls!r} as a {kind}, but it is not a wrbench.api.{base.__name__} subclass")
        if not getattr(cls, "name", ""):
            raise PluginError(f"{kind} class {cls.__name__} has no `name`")
        _check_declarations(kind, cls)
        clashes = _clashes(registry, kind, cls) + _clashes(pending, kind, cls)
        if clashes:
            raise PluginError(_clash_message(kind, cls, *clashes[0], record.name))
        pending.add(kind, cls, record.name)
    for kind, cls in staged:
        registry.add(kind, cls, record.name)
        problems = _problems(cls)
        record.components.append({"kind": kind, "name": cls.name, "version": cls.version,
                                  "problems": list(problems) if problems else None})


def _check_declarations(kind: str, cls: type) -> None:
    """Refuse a component whose parameter declarations are broken, naming it and the parameter."""
    for attr in ("parameters", "eval_parameters") if kind == "problem" else ("parameters",):
        problems = declaration_problems(getattr(cls, attr))
        if problems:
            raise PluginError(f"{kind} '{cls.name}': `{attr}`: {'; '.join(problems)}")
    for attr in ("test_params", "bench_fit_params") if kind == "solver" else ("test_params",):
        overrides = getattr(cls, attr, {})
        try:
            resolve(cls.parameters, dict(overrides))
        except (ParamError, TypeError, ValueError) as exc:
            raise PluginError(f"{kind} '{cls.name}': `{attr}` {short_repr(overrides)} do not resolve: {exc}") from None
    if kind == "problem":
        _check_bench_declarations(cls)
    else:
        _check_budget_declaration(kind, cls)


def _check_bench_declarations(cls: type) -> None:
    """`test_expert` a name; `bench_sizes` device kind -> positive sizes of a declared `size_parameter`."""
    where = f"problem '{cls.name}'"
    if not isinstance(cls.test_expert, str):
        raise PluginError(f"{where}: `test_expert` must be an expert's name, got {short_repr(cls.test_expert)}")
    sizes = cls.bench_sizes
    if not sizes:
        return
    declared = {p.name for p in cls.parameters}
    if cls.size_parameter not in declared:
        raise PluginError(f"{where}: `bench_sizes` needs `size_parameter` to name one of its parameters "
                          f"({', '.join(sorted(declared)) or 'none'}), got {short_repr(cls.size_parameter)}")
    valid = isinstance(sizes, Mapping) and all(
        isinstance(kind, str) and isinstance(values, (tuple, list)) and values
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in values)
        for kind, values in sizes.items())
    if not valid:
        raise PluginError(f"{where}: `bench_sizes` must map a device kind to positive integer sizes, "
                          f"e.g. {{'cpu': (10, 50)}}; got {short_repr(sizes)}")


def _check_budget_declaration(kind: str, cls: type) -> None:
    """`budget_parameter` names an int parameter (a solver's: sampling-only, so a frontier reuses one fit);
    `bench_budgets` are values it accepts."""
    name = getattr(cls, "budget_parameter", "")
    budgets = getattr(cls, "bench_budgets", ())
    if not name:
        if budgets:
            raise PluginError(f"{kind} '{cls.name}': `bench_budgets` needs a `budget_parameter`")
        return
    param = next((p for p in cls.parameters if p.name == name), None)
    if param is None or param.type is not int:
        raise PluginError(f"{kind} '{cls.name}': `budget_parameter` must name one of its int parameters, got "
                          f"{short_repr(name)}")
    if kind == "solver" and not param.sampling_only:
        raise PluginError(f"{kind} '{cls.name}': budget parameter '{name}' must be declared sampling_only=True "
                          "(a frontier sweeps it over one fit)")
    for value in budgets:
        try:
            resolve(cls.parameters, {name: value})
        except (ParamError, TypeError, ValueError) as exc:
            raise PluginError(f"{kind} '{cls.name}': `bench_budgets` value {short_repr(value)}: {exc}") from None


def _clashes(registry: Registry, kind: str, cls: type) -> list[tuple[type, str]]:
    """Classes already registered under cls's name whose problems overlap cls's, with their owners."""
    return [(other, registry.owners[other]) for other in registry.variants(kind, cls.name) if not _disjoint(other, cls)]


def _clash_message(kind: str, cls: type, known: type, owner: str, plugin: str) -> str:
    message = f"{kind} '{cls.name}' is registered by both '{owner}' and '{plugin}'"
    if kind == "problem":
        return message
    return (f"{message} for overlapping problems ({_problems_text(known)} vs {_problems_text(cls)}); one name may "
            "serve several problems only when each class declares its own, disjoint `problems`")


def describe_component(cls: type[Component]) -> dict[str, Any]:
    """Name, summary, parameters and capabilities of a component class (for `wrbench plugins --json`)."""
    return {
        "name": cls.name,
        "kind": cls.kind,
        "version": cls.version,
        "summary": cls.summary(),
        "parameters": {p.name: p.describe() for p in cls.parameters},
        "capabilities": cls.capabilities(),
    }

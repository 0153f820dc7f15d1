"""Suite files: schema, validation with precise messages, and expansion into splits and cells.

Everything is checked before any work starts; every error names the file, the
key path and the line, and all errors are reported at once.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .params import ParamError, resolve
from .plugins import Registry, UnresolvedComponent
from .yamlpos import KeyPath, apply_override, format_path, load_with_lines, parse_override

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")

TOP_KEYS = {
    "name": "output folder and leaderboard title",
    "description": "free text",
    "seed": "suite seed; every random stream derives from it",
    "repetitions": "independent repetitions (fresh instances, training and fading)",
    "device": "cpu or cuda",
    "rank_by": "primary metric of the leaderboard",
    "problem": "problem name, params, instances, optional test_splits / sweep",
    "expert": "expert name, params, samples per training instance",
    "solvers": "list of solvers (an expert name may be listed too)",
    "evaluation": "samples per test instance and evaluation params",
    "timeout": "seconds per cell",
}
PROBLEM_KEYS = {"name", "params", "instances", "test_splits", "sweep"}
EXPERT_KEYS = {"name", "params", "samples", "label"}
SOLVER_KEYS = {"name", "label", "params"}
EVAL_KEYS = {"samples", "params"}
SPLIT_KEYS = {"params", "instances"}
SWEEP_KEYS = {"param", "values", "instances", "plot"}


class SuiteError(Exception):
    """One or more problems with a suite; `errors` are ready-to-print lines."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class ComponentSpec:
    """A component as the suite names it: registry name, parameters, display label."""

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitSpec:
    """A split of instances: problem parameters for it and a count or an .npz path."""

    name: str
    role: str
    params: dict[str, Any]
    instances: int | str
    sweep: str = ""  # the swept parameter, for splits made by `problem.sweep`


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    seed: int
    repetitions: int
    device: str
    rank_by: str
    problem: ComponentSpec
    splits: tuple[SplitSpec, ...]
    expert: ComponentSpec
    expert_samples: int
    solvers: tuple[ComponentSpec, ...]
    eval_samples: int
    eval_params: dict[str, Any]
    timeout: float
    description: str = ""
    sweep_plot: tuple[str, ...] = ()

    @property
    def train(self) -> SplitSpec:
        return next(s for s in self.splits if s.role == "train")

    @property
    def tests(self) -> tuple[SplitSpec, ...]:
        return tuple(s for s in self.splits if s.role == "test")

    def solver(self, label: str) -> ComponentSpec:
        return next(s for s in self.solvers if s.label == label)

    def digest(self) -> str:
        """Hash of everything that determines the results (not the file path)."""
        data = asdict(self)
        data.pop("path")
        data.pop("description")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Suite":
        data = dict(data)
        data["problem"] = ComponentSpec(**data["problem"])
        data["expert"] = ComponentSpec(**data["expert"])
        data["solvers"] = tuple(ComponentSpec(**s) for s in data["solvers"])
        data["splits"] = tuple(SplitSpec(**s) for s in data["splits"])
        data["sweep_plot"] = tuple(data.get("sweep_plot", ()))
        return cls(**data)


class _Checker:
    """Collects errors with their file and line while walking the raw suite."""

    def __init__(self, filename: str, lines: dict[KeyPath, int], overridden: set[KeyPath]):
        self.filename, self.lines, self.overridden = filename, lines, overridden
        self.errors: list[str] = []

    def error(self, path: KeyPath, message: str) -> None:
        where = f"{self.filename}:{self._line(path)}"
        self.errors.append(f"{where}: {format_path(path)}: {message}")

    def _line(self, path: KeyPath) -> str:
        prefixes = [path[:cut] for cut in range(len(path), -1, -1)]
        if any(prefix in self.overridden for prefix in prefixes):
            return "--set"
        return next((str(self.lines[prefix]) for prefix in prefixes if prefix in self.lines), "?")

    def mapping(self, value: Any, path: KeyPath, allowed: set[str] | dict, required: Sequence[str] = ()) -> dict:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.error(path + (key,), f"unknown key{_suggest(str(key), allowed)}")
        for key in required:
            if key not in value:
                self.error(path, f"missing required key '{key}'")
        return value

    def typed(self, value: Any, path: KeyPath, kind: type | tuple, what: str) -> bool:
        ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _as_tuple(kind))
        if not ok:
            self.error(path, f"expected {what}, got {_kind(value)} {value!r}")
        return ok

    def positive_int(self, value: Any, path: KeyPath) -> bool:
        if self.typed(value, path, int, "a positive integer") and value < 1:
            self.error(path, f"must be >= 1, got {value}")
            return False
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _as_tuple(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, [str(k) for k in known], n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f" (allowed: {', '.join(sorted(map(str, known)))})"


def read_suite(path: str | Path, registry: Registry, overrides: Sequence[str] = ()) -> Suite:
    """Load, override and validate a suite file; raise SuiteError listing every problem."""
    path = Path(path)
    filename = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SuiteError([f"{filename}: cannot read suite file ({exc.strerror})"]) from None
    try:
        data, lines = load_with_lines(text)
    except Exception as exc:  # yaml.YAMLError and friends
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise SuiteError([f"{filename}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    overridden: set[KeyPath] = set()
    for text_override in overrides:
        try:
            key, value = parse_override(text_override)
            data = apply_override(data, key, value)
        except ValueError as exc:
            raise SuiteError([f"{filename}: {exc}"]) from None
        overridden.add(key)
    return validate(data, registry, filename, lines, overridden, base_dir=path.parent)


def validate(
    data: Any,
    registry: Registry,
    filename: str = "<suite>",
    lines: dict[KeyPath, int] | None = None,
    overridden: set[KeyPath] | None = None,
    base_dir: Path = Path("."),
) -> Suite:
    check = _Checker(filename, lines or {}, overridden or set())
    root = check.mapping(data, (), TOP_KEYS, required=("name", "problem", "expert", "solvers"))
    if check.errors and not root:
        raise SuiteError(check.errors)

    name = root.get("name", "")
    if check.typed(name, ("name",), str, "a string") and not NAME_RE.match(name):
        check.error(("name",), f"{name!r} is not a usable folder name (letters, digits, _ . - only)")
    seed = root.get("seed", 0)
    check.typed(seed, ("seed",), int, "an integer")
    repetitions = root.get("repetitions", 1)
    check.positive_int(repetitions, ("repetitions",))
    device = root.get("device", "cpu")
    if check.typed(device, ("device",), str, "a string") and not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        check.error(("device",), f"expected cpu, cuda or cuda:N, got {device!r}")
    timeout = root.get("timeout", 1800)
    if check.typed(timeout, ("timeout",), (int, float), "a number of seconds") and timeout <= 0:
        check.error(("timeout",), f"must be > 0, got {timeout}")
    description = root.get("description", "")
    check.typed(description, ("description",), str, "a string")

    problem_cls, problem_spec, splits = _problem(check, root.get("problem"), registry, base_dir)
    problem = _instantiate(problem_cls, problem_spec.params) if not check.errors else None
    expert, expert_samples = _expert(check, root.get("expert"), registry, problem_spec.name, problem)
    solvers = _solvers(check, root.get("solvers"), registry, problem_spec.name, expert.label)
    eval_samples, eval_params = _evaluation(check, root.get("evaluation", {}), problem_cls)

    rank_by = root.get("rank_by", getattr(problem_cls, "primary_metric", "") or "")
    check.typed(rank_by, ("rank_by",), str, "a metric name")
    if check.errors:
        raise SuiteError(check.errors)
    return Suite(
        path=filename,
        name=name,
        seed=seed,
        repetitions=repetitions,
        device=device,
        rank_by=rank_by,
        problem=problem_spec,
        splits=splits,
        expert=expert,
        expert_samples=expert_samples,
        solvers=solvers,
        eval_samples=eval_samples,
        eval_params=eval_params,
        timeout=float(timeout),
        description=description,
        sweep_plot=tuple(((root.get("problem") or {}).get("sweep") or {}).get("plot", ())),
    )


def _params(check: _Checker, cls: type | None, given: Any, path: KeyPath, declared_attr: str = "parameters") -> dict:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        check.error(path, f"expected a mapping of parameters, got {_kind(given)}")
        return {}
    if cls is None:
        return dict(given)
    try:
        resolved = resolve(getattr(cls, declared_attr), given)
        if declared_attr == "parameters":
            cls.check_params(resolved)
        return dict(resolved)
    except ParamError as exc:
        check.error(path + (exc.key,), exc.message)
        return dict(given)


def _component_class(
    check: _Checker, registry: Registry, kinds: Sequence[str], name: Any, path: KeyPath, problem: str | None = None
) -> type | None:
    """The class `name` refers to, the variant for `problem` where the name has several; None after an error."""
    if not check.typed(name, path, str, "a component name"):
        return None
    for kind in kinds:
        if registry.has(kind, name):
            try:
                return registry.get(kind, name, problem)
            except UnresolvedComponent as exc:
                check.error(path, str(exc))
                return None
    known = sorted({n for kind in kinds for n in registry.names(kind)})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f" (known: {', '.join(known) or 'none'})"
    failed = [r.name for r in registry.failures()]
    extra = f" (plugins that failed to load: {', '.join(failed)}; see `wrbench plugins`)" if failed else ""
    check.error(path, f"unknown {'/'.join(kinds)} '{name}'{hint}{extra}")
    return None


def _problem(check: _Checker, raw: Any, registry: Registry, base_dir: Path):
    path: KeyPath = ("problem",)
    raw = check.mapping(raw, path, PROBLEM_KEYS, required=("name", "instances"))
    cls = _component_class(check, registry, ["problem"], raw.get("name"), path + ("name",))
    params = _params(check, cls, raw.get("params"), path + ("params",))
    spec = ComponentSpec(name=str(raw.get("name")), label=str(raw.get("name")), params=params)

    splits: list[SplitSpec] = []
    inst = check.mapping(raw.get("instances", {}), path + ("instances",), {"train", "test"}, required=("train", "test"))
    for role in ("train", "test"):
        if role in inst:
            count = _instances(check, inst[role], path + ("instances", role), base_dir)
            splits.append(SplitSpec(name=role, role=role, params=params, instances=count))
    extra = raw.get("test_splits") or {}
    for split_name, split in check.mapping(extra, path + ("test_splits",), set(extra) if isinstance(extra, dict) else set()).items():
        sp = path + ("test_splits", split_name)
        if not NAME_RE.match(str(split_name)) or split_name in ("train", "test"):
            check.error(sp, "split names must be folder-safe and not 'train' or 'test'")
        split = check.mapping(split, sp, SPLIT_KEYS, required=("instances",))
        merged = _params(check, cls, {**raw.get("params", {}), **(split.get("params") or {})}, sp + ("params",))
        count = _instances(check, split.get("instances"), sp + ("instances",), base_dir)
        splits.append(SplitSpec(name=str(split_name), role="test", params=merged, instances=count))
    if "sweep" in raw:
        splits.extend(_sweep(check, raw, cls, path + ("sweep",), base_dir))
    names = [s.name for s in splits]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        check.error(path, f"two test splits are named '{dup}'")
    return cls, spec, tuple(splits)


def _sweep(check: _Checker, raw: dict, cls: type | None, path: KeyPath, base_dir: Path) -> list[SplitSpec]:
    """`sweep: {param: f_min, values: [...], instances: 8, plot: [p5]}` -> one test split per value."""
    sweep = check.mapping(raw["sweep"], path, SWEEP_KEYS, required=("param", "values", "instances"))
    plot = sweep.get("plot", [])
    if not (isinstance(plot, list) and all(isinstance(m, str) for m in plot)):
        check.error(path + ("plot",), "expected a list of metric names")
    values = sweep.get("values")
    if not check.typed(values, path + ("values",), list, "a list of values") or not values:
        return []
    count = _instances(check, sweep.get("instances"), path + ("instances",), base_dir)
    out = []
    for i, value in enumerate(values):
        merged = _params(check, cls, {**raw.get("params", {}), sweep.get("param"): value}, path + ("values", i))
        out.append(SplitSpec(name=f"{sweep.get('param')}={value}", role="test", params=merged, instances=count,
                             sweep=str(sweep.get("param"))))
    return out


def _instances(check: _Checker, value: Any, path: KeyPath, base_dir: Path) -> int | str:
    if isinstance(value, str):
        file = Path(value) if Path(value).is_absolute() else (base_dir / value)
        if not file.exists() and Path(value).exists():
            file = Path(value)
        if file.suffix != ".npz":
            check.error(path, f"an instance file must be an .npz written by `wrbench export`, got {value!r}")
        elif not file.exists():
            check.error(path, f"instance file {value!r} does not exist")
        return str(file.resolve())
    check.positive_int(value, path)
    return value if isinstance(value, int) else 0


def _instantiate(cls: type | None, params: dict) -> Any:
    return cls(params) if cls is not None else None


def _expert(check: _Checker, raw: Any, registry: Registry, problem_name: str, problem: Any) -> tuple[ComponentSpec, int]:
    path: KeyPath = ("expert",)
    raw = check.mapping(raw, path, EXPERT_KEYS, required=("name",))
    cls = _component_class(check, registry, ["expert"], raw.get("name"), path + ("name",), problem_name)
    params = _params(check, cls, raw.get("params"), path + ("params",))
    samples = raw.get("samples", 1)
    check.positive_int(samples, path + ("samples",))
    if cls is not None and problem is not None and not check.errors:
        reason = cls(params).supports(problem)
        if reason:
            check.error(path + ("name",), reason)
    label = raw.get("label", f"{raw.get('name')} (expert)")
    return ComponentSpec(name=str(raw.get("name")), label=str(label), params=params), samples


def _solvers(
    check: _Checker, raw: Any, registry: Registry, problem_name: str, expert_label: str
) -> tuple[ComponentSpec, ...]:
    path: KeyPath = ("solvers",)
    if not check.typed(raw, path, list, "a list of solvers"):
        return ()
    if not raw:
        check.error(path, "lists no solver")
    out, labels = [], {expert_label: ("expert",)}
    for i, entry in enumerate(raw):
        sp = path + (i,)
        entry = check.mapping(entry, sp, SOLVER_KEYS, required=("name",))
        if not entry:
            continue
        cls = _component_class(check, registry, ["solver", "expert"], entry.get("name"), sp + ("name",), problem_name)
        params = _params(check, cls, entry.get("params"), sp + ("params",))
        label = entry.get("label", entry.get("name"))
        if check.typed(label, sp + ("label",), str, "a string"):
            if not NAME_RE.match(label):
                check.error(sp + ("label",), f"{label!r} is not a usable label (letters, digits, _ . - + = only)")
            if label in labels:
                check.error(sp + ("label",), f"label '{label}' is used twice (also at {format_path(labels[label])}); give each entry a distinct `label`")
            labels[label] = sp
        out.append(ComponentSpec(name=str(entry.get("name")), label=str(label), params=params))
    return tuple(out)


def _evaluation(check: _Checker, raw: Any, problem_cls: type | None) -> tuple[int, dict]:
    path: KeyPath = ("evaluation",)
    raw = check.mapping(raw, path, EVAL_KEYS)
    samples = raw.get("samples", 1)
    check.positive_int(samples, path + ("samples",))
    params = _params(check, problem_cls, raw.get("params"), path + ("params",), declared_attr="eval_parameters")
    return samples, params

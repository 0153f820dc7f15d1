"""Suite files: schema, validation with precise messages, and expansion into splits and cells.

Everything is checked before any work starts; every error names the file, the
key path and the line, and all errors are reported at once.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from wrbench.core.params import ParamError, resolve, short_repr
from wrbench.core.plugins import Registry, UnresolvedComponent
from wrbench.core.selection import MAX_CANDIDATES, Selection, unsupported
from wrbench.run.published import check_published
from wrbench.run.yamlpos import KeyPath, Loaded, apply_override, format_path, load_with_lines, parse_override

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")
MAX_NAME = 64  # suite names, labels and split names become file and folder names
EXPERT_JOB_LABEL = "expert"  # the label of the expert's job (work.plan): no solver may take it
RESERVED_LABELS = frozenset({EXPERT_JOB_LABEL})
MAX_REPETITIONS = 1000

TOP_KEYS = {
    "name": "output folder and leaderboard title",
    "description": "free text",
    "seed": "suite seed; every random stream derives from it",
    "repetitions": "independent repetitions (fresh instances, training and fading)",
    "device": "cpu or cuda",
    "rank_by": "rank the board by this one metric instead of the problem's ranking rule",
    "qos_tolerance": "the ranking rule's tolerance on the problem's constraint metric (default: the problem's)",
    "optimum": "an exact expert (name, params): every row gets optimality_gap against it",
    "problem": "problem name, params, instances, optional test_splits / sweep",
    "expert": "expert name, params, samples per training instance",
    "solvers": "list of solvers (an expert name may be listed too)",
    "evaluation": "samples per test instance and evaluation params",
    "timeout": "seconds per cell",
    "frontier": "sweep policies' budget parameters (cost-quality frontier) over one fit",
    "published": "figures a source reports (source, per test split rows {label, metrics}), shown beside the board",
}
PROBLEM_KEYS = {"name", "params", "instances", "test_splits", "sweep"}
EXPERT_KEYS = {"name", "params", "samples", "label"}
OPTIMUM_KEYS = {"name", "params"}
SOLVER_KEYS = {"name", "label", "params", "select"}
SELECT_KEYS = {"candidates", "complete"}
EVAL_KEYS = {"samples", "params"}
SPLIT_KEYS = {"params", "instances"}
SWEEP_KEYS = {"param", "values", "instances", "plot"}
FRONTIER_KEYS = {"policy", "values"}


class SuiteError(Exception):
    """One or more problems with a suite; `errors` are ready-to-print lines."""

    def __init__(self, errors: Sequence[str]):
        self.errors = [_printable(e) for e in errors]
        super().__init__("\n".join(self.errors))


def _printable(line: str) -> str:
    """One line, whatever a key or value held: control characters (a newline in a key) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


@dataclass(frozen=True)
class ComponentSpec:
    """A component as the suite names it: registry name, parameters, display label."""

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    frontier_of: str = ""  # a frontier point: the label of the policy whose budget it changes
    select: dict[str, Any] | None = None  # a solver's `select:` (wrbench.core.selection.Selection's fields)


@dataclass(frozen=True)
class FrontierSpec:
    """One policy's cost-quality curve: its own row (budget `base`) and one solver entry per other value."""

    policy: str  # the label of its row (a solver's, or the expert's)
    param: str  # the component's budget parameter
    base: Any  # the budget of the policy's own row
    values: tuple[Any, ...]


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
    qos_tolerance: float | None = None  # None: the problem's constraint_tolerance
    optimum: ComponentSpec | None = None
    frontier: tuple[FrontierSpec, ...] = ()
    published: dict[str, Any] | None = None  # shown beside the board, never scored: not in the digest

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
        data.pop("published")
        # components without `select:` keep the digest they had before it existed
        for spec in [data["problem"], data["expert"], data["optimum"] or {}, *data["solvers"]]:
            if "select" in spec and spec["select"] is None:
                del spec["select"]
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
        data["optimum"] = ComponentSpec(**data["optimum"]) if data.get("optimum") else None
        data["frontier"] = tuple(FrontierSpec(**{**f, "values": tuple(f["values"])}) for f in data.get("frontier", ()))
        return cls(**data)


class _Checker:
    """Collects errors with their file and line while walking the raw suite."""

    def __init__(self, filename: str, lines: dict[KeyPath, int], overridden: set[KeyPath]):
        self.filename, self.lines, self.overridden = filename, lines, overridden
        self.errors: list[str] = []

    def error(self, path: KeyPath, message: str) -> None:
        line = f"{self.filename}:{self._line(path)}: {format_path(path)}: {message}"
        if line not in self.errors:  # a shared key (a sweep's `instances`) is checked once per split
            self.errors.append(line)

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
            self.error(path, f"expected {what}, got {_kind(value)}" + ("" if value is None else f" {short_repr(value)}"))
        return ok

    def positive_int(self, value: Any, path: KeyPath, maximum: int | None = None) -> bool:
        if not self.typed(value, path, int, "a positive integer"):
            return False
        if value < 1 or (maximum is not None and value > maximum):
            self.error(path, f"must be >= 1, got {value}" if value < 1 else f"must be <= {maximum}, got {value}")
            return False
        return True

    def positive_number(self, value: Any, path: KeyPath, what: str) -> bool:
        """A finite number > 0 (NaN passes every comparison, so `> 0` alone lets it through)."""
        if not self.typed(value, path, (int, float), what):
            return False
        finite = not isinstance(value, float) or math.isfinite(value)  # ints are, however large
        if not (finite and value > 0):
            self.error(path, f"must be > 0, got {short_repr(value)}" if finite else f"must be a finite number, got {value}")
            return False
        return True

    def safe_name(self, value: Any, path: KeyPath, what: str) -> bool:
        """A string usable as a file name: NAME_RE characters, at most MAX_NAME of them."""
        if not self.typed(value, path, str, "a string"):
            return False
        if not NAME_RE.match(value) or len(value) > MAX_NAME:
            self.error(path, f"{short_repr(value)} is not a usable {what} (letters, digits, _ . - + = only, "
                             f"starting with a letter or digit, at most {MAX_NAME} characters)")
            return False
        return True


def _as_tuple(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(type(value), type(value).__name__)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, [str(k) for k in known], n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f" (allowed: {', '.join(sorted(map(str, known)))})"


def read_suite(path: str | Path, registry: Registry, overrides: Sequence[str] = (), check_device: bool = True) -> Suite:
    """Load, override and validate a suite file; raise SuiteError listing every problem.

    `check_device=False` accepts a cuda suite on a machine without CUDA (to list its cells, not to run it).
    """
    path = Path(path)
    filename = str(path)
    loaded = _load(path)
    data, errors, overridden = loaded.data, [], set()
    for text_override in overrides:
        try:
            key, value = parse_override(text_override)
            data = apply_override(data, key, value)
            overridden.add(key)
        except ValueError as exc:
            errors.append(f"{filename}: {exc}")
    if errors:
        raise SuiteError(errors)
    errors = [f"{filename}:{line}: {format_path(key)}: key given twice (first at line {first}); keep one"
              for key, line, first in loaded.duplicates]
    try:
        suite = validate(data, registry, filename, loaded.lines, overridden, base_dir=path.parent, check_device=check_device)
    except SuiteError as exc:
        raise SuiteError(errors + exc.errors) from None
    if errors:
        raise SuiteError(errors)
    return suite


def _load(path: Path) -> Loaded:
    """The parsed suite file, or a SuiteError naming the file and line of what stops parsing."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError([f"{path}: cannot read suite file ({exc.strerror})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SuiteError([f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]) from None
    try:
        return load_with_lines(text)
    except Exception as exc:  # yaml.YAMLError and friends (RecursionError on absurd nesting)
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise SuiteError([f"{path}:{line}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from None


def validate(
    data: Any,
    registry: Registry,
    filename: str = "<suite>",
    lines: dict[KeyPath, int] | None = None,
    overridden: set[KeyPath] | None = None,
    base_dir: Path = Path("."),
    check_device: bool = True,
) -> Suite:
    check = _Checker(filename, lines or {}, overridden or set())
    root = check.mapping(data, (), TOP_KEYS, required=("name", "problem", "expert", "solvers"))
    if check.errors and not root:
        raise SuiteError(check.errors)

    name = root.get("name", "")
    if "name" in root:  # a missing name is reported as missing, not as an empty one
        check.safe_name(name, ("name",), "folder name")
    seed = root.get("seed", 0)
    check.typed(seed, ("seed",), int, "an integer")
    repetitions = root.get("repetitions", 1)
    check.positive_int(repetitions, ("repetitions",), MAX_REPETITIONS)
    device = root.get("device", "cpu")
    _device(check, device, check_device)
    timeout = root.get("timeout", 1800)
    check.positive_number(timeout, ("timeout",), "a number of seconds")
    description = root.get("description", "")
    check.typed(description, ("description",), str, "a string")

    problem_cls, problem_spec, splits, problem = _problem(check, root.get("problem"), registry, base_dir)
    expert, expert_samples = _expert(check, root.get("expert"), registry, problem_spec.name, problem)
    solvers = _solvers(check, root.get("solvers"), registry, problem_spec.name, expert.label, problem_cls)
    eval_samples, eval_params = _evaluation(check, root.get("evaluation", {}), problem_cls)

    rank_by = root.get("rank_by", "")
    if check.typed(rank_by, ("rank_by",), str, "a metric name") and rank_by:
        _metrics(check, problem_cls, [rank_by], ("rank_by",))
    qos_tolerance = root.get("qos_tolerance")
    if qos_tolerance is not None:
        _tolerance(check, qos_tolerance, problem_cls)
    optimum = _optimum(check, root["optimum"], registry, problem_spec.name, splits) if "optimum" in root else None
    frontier, points = _frontier(check, root.get("frontier", []), registry, problem_spec.name, expert, solvers)
    published = None
    if "published" in root:
        published, problems = check_published(root["published"], [s.name for s in splits if s.role == "test"])
        for key_path, message in problems:
            check.error(key_path, message)
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
        solvers=solvers + points,
        eval_samples=eval_samples,
        eval_params=eval_params,
        timeout=float(timeout),
        description=description,
        sweep_plot=tuple(root["problem"].get("sweep", {}).get("plot", ())),
        qos_tolerance=None if qos_tolerance is None else float(qos_tolerance),
        optimum=optimum,
        frontier=frontier,
        published=published,
    )


def _frontier(check: _Checker, raw: Any, registry: Registry, problem_name: str, expert: ComponentSpec,
              solvers: Sequence[ComponentSpec]) -> tuple[tuple[FrontierSpec, ...], tuple[ComponentSpec, ...]]:
    """`frontier: [{policy: <solver label or the expert>, values: [2, 5, 10]}]` -> the curves and one solver entry
    per budget value other than the policy's own (label `<solver label or expert name>+<param>=<value>`; a solver's
    points share its fit: the budget is sampling-only)."""
    path: KeyPath = ("frontier",)
    if not check.typed(raw, path, list, "a list of {policy, values}"):
        return (), ()
    by_label = {spec.label: spec for spec in solvers}
    curves, points, seen = [], [], set()
    for i, entry in enumerate(raw):
        fp = path + (i,)
        entry = check.mapping(entry, fp, FRONTIER_KEYS, required=("policy", "values"))
        policy, values = entry.get("policy"), entry.get("values")
        if not entry or not check.typed(policy, fp + ("policy",), str, "a solver label or the expert's name"):
            continue
        base = by_label.get(policy) or (expert if policy in (expert.name, expert.label) else None)
        if base is None:
            check.error(fp + ("policy",), f"'{policy}' is neither a solver label of this suite nor its expert "
                                          f"(known: {', '.join([expert.name, *by_label])})")
            continue
        if base.label in seen:
            check.error(fp + ("policy",), f"'{policy}' has two frontiers; list all its values in one")
            continue
        seen.add(base.label)
        cls = _component_class(check, registry, ["solver", "expert"], base.name, fp + ("policy",), problem_name)
        param = getattr(cls, "budget_parameter", "") if cls is not None else ""
        if cls is not None and not param:
            check.error(fp + ("policy",), f"{cls.kind} '{base.name}' declares no budget parameter to sweep")
        if not param or not check.typed(values, fp + ("values",), list, "a list of budgets") or not values:
            if isinstance(values, list) and not values:
                check.error(fp + ("values",), "lists no budget")
            continue
        if len(set(map(repr, values))) != len(values):
            check.error(fp + ("values",), "lists a budget twice")
        kept = []
        for j, value in enumerate(values):
            _, params = _construct(check, cls, {**base.params, param: value}, fp + ("values", j))
            if params.get(param) == base.params.get(param) and base is not expert:
                continue  # the solver's own row is this point (the expert's row is timed cold: it gets an entry)
            label = f"{base.name if base is expert else base.label}+{param}={value}"
            if check.safe_name(label, fp + ("values", j), "frontier label"):
                if label in by_label:
                    check.error(fp + ("values", j), f"label '{label}' is already a solver's")
                kept.append(params[param])
                points.append(ComponentSpec(base.name, label, params, frontier_of=base.label, select=base.select))
        curves.append(FrontierSpec(base.label, param, base.params.get(param), tuple(kept)))
    return tuple(curves), tuple(points)


def _tolerance(check: _Checker, value: Any, problem_cls: type | None) -> None:
    path: KeyPath = ("qos_tolerance",)
    if not check.typed(value, path, (int, float), "a number"):
        return
    if not (math.isfinite(value) and value >= 0):
        check.error(path, f"must be a finite number >= 0, got {value}")
    elif problem_cls is not None and not problem_cls.constraint_metric:
        check.error(path, f"problem '{problem_cls.name}' declares no constraint metric to apply a tolerance to")


def _optimum(check: _Checker, raw: Any, registry: Registry, problem_name: str,
             splits: Sequence[SplitSpec]) -> ComponentSpec | None:
    """The exact expert behind `optimality_gap`: it must support every test split's problem."""
    path: KeyPath = ("optimum",)
    raw = check.mapping(raw, path, OPTIMUM_KEYS, required=("name",))
    cls = _component_class(check, registry, ["expert"], raw.get("name"), path + ("name",), problem_name)
    expert, params = _construct(check, cls, raw.get("params"), path + ("params",))
    if expert is None:
        return None
    problem_cls = registry.get("problem", problem_name) if registry.has("problem", problem_name) else None
    for split in splits:
        if split.role != "test" or problem_cls is None:
            continue
        try:
            reason = expert.supports(problem_cls(split.params))
        except Exception:  # noqa: BLE001 - the split's own parameters were reported already
            continue
        if reason:
            check.error(path + ("name",), f"split '{split.name}': {reason}")
            break
    return ComponentSpec(name=str(raw.get("name")), label=str(raw.get("name")), params=params)


def device_unavailable(device: str) -> str | None:
    """Why this machine cannot run on `device` (None if it can)."""
    if not device.startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return f"device {device}: CUDA is not available on this machine"
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        return f"device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)"
    return None


def _device(check: _Checker, device: Any, check_device: bool) -> None:
    if not check.typed(device, ("device",), str, "a string"):
        return
    if not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        check.error(("device",), f"expected cpu, cuda or cuda:N, got {short_repr(device)}")
        return
    reason = device_unavailable(device) if check_device else None
    if reason:
        check.error(("device",), f"{reason}; use device: cpu")


def _metrics(check: _Checker, problem_cls: type | None, names: Sequence[str], path: KeyPath) -> None:
    """Reject metric names the problem never reports (a typo would leave the board unranked)."""
    if problem_cls is None or not problem_cls.metrics:
        return  # a problem that does not declare its metrics cannot be checked before it runs
    from wrbench.run.record import HARNESS_METRICS, OPTIMALITY_GAP

    known = set(problem_cls.metrics) | set(HARNESS_METRICS) | {OPTIMALITY_GAP}
    for name in names:
        if name not in known:
            check.error(path, f"'{name}' is not a metric of problem '{problem_cls.name}'{_suggest(name, known)}")


def _mapping_params(check: _Checker, given: Any, path: KeyPath) -> dict | None:
    """The suite's parameter mapping (None or absent: empty); None after reporting something else."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        check.error(path, f"expected a mapping of parameters, got {_kind(given)}")
        return None
    return given


def _params(check: _Checker, cls: type | None, given: Any, path: KeyPath) -> dict:
    """Evaluation parameters resolved against the problem's `eval_parameters`."""
    mapping = _mapping_params(check, given, path)
    if mapping is None or cls is None:
        return dict(mapping or {})
    try:
        return dict(resolve(cls.eval_parameters, mapping))
    except ParamError as exc:
        _param_errors(check, exc, path)
        return dict(mapping)


def _construct(check: _Checker, cls: type | None, given: Any, path: KeyPath) -> tuple[Any, dict]:
    """(instance, resolved parameters) of a component built from the suite's `given` parameters.

    Built for real, as the worker will build it: a constructor's own checks (e.g. a problem's
    gain_low < gain_high) become suite errors with the key and line. The instance is None
    after an error (or when the class is unknown).
    """
    mapping = _mapping_params(check, given, path)
    if mapping is None or cls is None:
        return None, dict(mapping or {})
    try:
        instance = cls(mapping)
        return instance, dict(instance.params)
    except ParamError as exc:
        _param_errors(check, exc, path)
    except Exception as exc:  # noqa: BLE001 - a constructor's own ValueError, or a plugin bug: a message either way
        check.error(path, f"{cls.kind} '{cls.name}' refuses these parameters: {_reason(exc)}")
    return None, dict(mapping)


def _param_errors(check: _Checker, exc: ParamError, path: KeyPath) -> None:
    for key, message in exc.problems:
        check.error(path + (key,), message)


def _reason(exc: BaseException) -> str:
    """An exception as one line: its message, with the type where the message alone says little."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(exc, ValueError) and first else f"{type(exc).__name__}: {first}".rstrip(": ")


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
    """(class, spec, splits, instance for the base parameters or None): every split's parameters built for real."""
    path: KeyPath = ("problem",)
    raw = check.mapping(raw, path, PROBLEM_KEYS, required=("name", "instances"))
    cls = _component_class(check, registry, ["problem"], raw.get("name"), path + ("name",))
    problem, params = _construct(check, cls, raw.get("params"), path + ("params",))
    base = raw.get("params") if isinstance(raw.get("params"), dict) else {}
    spec = ComponentSpec(name=str(raw.get("name")), label=str(raw.get("name")), params=params)

    splits: list[SplitSpec] = []
    inst = check.mapping(raw.get("instances", {}), path + ("instances",), {"train", "test"}, required=("train", "test"))
    for role in ("train", "test"):
        if role in inst:
            count = _instances(check, inst[role], path + ("instances", role), base_dir, problem)
            splits.append(SplitSpec(name=role, role=role, params=params, instances=count))
    extra = raw.get("test_splits") or {}
    for split_name, split in check.mapping(extra, path + ("test_splits",), set(extra) if isinstance(extra, dict) else set()).items():
        sp = path + ("test_splits", split_name)
        if split_name in ("train", "test"):
            check.error(sp, "split names must not be 'train' or 'test'")
        else:
            check.safe_name(split_name, sp, "split name")
        split = check.mapping(split, sp, SPLIT_KEYS, required=("instances",))
        own = _mapping_params(check, split.get("params"), sp + ("params",))
        split_problem, merged = _construct(check, cls, {**base, **(own or {})}, sp + ("params",))
        count = _instances(check, split.get("instances"), sp + ("instances",), base_dir, split_problem)
        splits.append(SplitSpec(name=str(split_name), role="test", params=merged, instances=count))
    if "sweep" in raw:
        splits.extend(_sweep(check, raw["sweep"], base, cls, path + ("sweep",), base_dir))
    names = [s.name for s in splits]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        check.error(path, f"two test splits are named '{dup}'")
    return cls, spec, tuple(splits), problem


def _sweep(check: _Checker, raw: Any, base: dict, cls: type | None, path: KeyPath, base_dir: Path) -> list[SplitSpec]:
    """`sweep: {param: f_min, values: [...], instances: 8, plot: [p5]}` -> one test split per value."""
    sweep = check.mapping(raw, path, SWEEP_KEYS, required=("param", "values", "instances"))
    plot = sweep.get("plot", [])
    if not (isinstance(plot, list) and all(isinstance(m, str) for m in plot)):
        check.error(path + ("plot",), "expected a list of metric names")
    else:
        _metrics(check, cls, plot, path + ("plot",))
    param, values = sweep.get("param"), sweep.get("values")
    if not check.typed(param, path + ("param",), str, "a parameter name"):
        return []
    if not check.typed(values, path + ("values",), list, "a list of values") or not values:
        return []
    out = []
    for i, value in enumerate(values):
        problem, merged = _construct(check, cls, {**base, param: value}, path + ("values", i))
        count = _instances(check, sweep.get("instances"), path + ("instances",), base_dir, problem)
        out.append(SplitSpec(name=f"{param}={value}", role="test", params=merged, instances=count, sweep=param))
    return out


def _instances(check: _Checker, value: Any, path: KeyPath, base_dir: Path, problem: Any) -> int | str:
    """A count of fresh instances, or the resolved path of an .npz file whose contents `problem` accepts."""
    if not isinstance(value, str):
        check.positive_int(value, path)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    try:
        file = Path(value) if Path(value).is_absolute() else (base_dir / value)
        if not file.exists() and Path(value).exists():
            file = Path(value)
        reason = _instance_file_problem(file, problem)
        resolved = str(file.resolve())
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        reason, resolved = f"is not a usable path ({_reason(exc)})", value
    if reason:
        check.error(path, f"instance file {short_repr(value)} {reason}")
    return resolved


def _instance_file_problem(file: Path, problem: Any) -> str | None:
    """Why `file` cannot serve as instances (None if it can), read with the problem's own `load_instances`."""
    if file.suffix != ".npz":
        return "must be an .npz written by `wrbench export`"
    if not file.exists():
        return "does not exist"
    if not file.is_file():
        return "is not a file"
    if problem is None:  # the problem itself is in error: nothing to check the contents against
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:  # noqa: BLE001 - not a zip, object arrays (pickle is never allowed), truncated...
        return f"cannot be read as an .npz without pickle ({_reason(exc)})"
    if not arrays:
        return "holds no arrays"
    try:
        problem.load_instances(arrays)
    except Exception as exc:  # noqa: BLE001 - the problem's own check, or a plugin bug: a message either way
        return f"does not hold valid '{problem.name}' instances: {_reason(exc)}"
    return None


def _expert(check: _Checker, raw: Any, registry: Registry, problem_name: str, problem: Any) -> tuple[ComponentSpec, int]:
    path: KeyPath = ("expert",)
    raw = check.mapping(raw, path, EXPERT_KEYS, required=("name",))
    cls = _component_class(check, registry, ["expert"], raw.get("name"), path + ("name",), problem_name)
    expert, params = _construct(check, cls, raw.get("params"), path + ("params",))
    samples = raw.get("samples", 1)
    check.positive_int(samples, path + ("samples",))
    if expert is not None and problem is not None:
        reason = expert.supports(problem)
        if reason:
            check.error(path + ("name",), reason)
    label = raw.get("label", f"{raw.get('name')} (expert)")
    if check.typed(label, path + ("label",), str, "a string") and not (label.isprintable() and 0 < len(label) <= MAX_NAME):
        check.error(path + ("label",), f"{short_repr(label)} is not a usable label (1 to {MAX_NAME} printable characters)")
    return ComponentSpec(name=str(raw.get("name")), label=str(label), params=params), samples


def _solvers(
    check: _Checker, raw: Any, registry: Registry, problem_name: str, expert_label: str, problem_cls: type | None
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
        _, params = _construct(check, cls, entry.get("params"), sp + ("params",))
        label = entry.get("label", entry.get("name"))
        if check.safe_name(label, sp + ("label",), "label"):
            if label in RESERVED_LABELS:
                check.error(sp + ("label",), f"'{label}' is reserved for the expert's own job; give this entry another `label`")
            elif label in labels:
                check.error(sp + ("label",), f"label '{label}' is used twice (also at {format_path(labels[label])}); give each entry a distinct `label`")
            labels[label] = sp
        select = _select(check, entry["select"], sp + ("select",), problem_cls) if "select" in entry else None
        out.append(ComponentSpec(name=str(entry.get("name")), label=str(label), params=params, select=select))
    return tuple(out)


def _select(check: _Checker, raw: Any, path: KeyPath, problem_cls: type | None) -> dict[str, Any] | None:
    """`select: {candidates: K, complete: true}`: keep the best of K draws, completed exactly first."""
    raw = check.mapping(raw, path, SELECT_KEYS)
    candidates, complete = raw.get("candidates", 1), raw.get("complete", False)
    ok = check.positive_int(candidates, path + ("candidates",), MAX_CANDIDATES)
    ok = check.typed(complete, path + ("complete",), bool, "true or false") and ok
    if not ok:
        return None
    if candidates == 1 and not complete:
        check.error(path, "selects nothing: set candidates >= 2 or complete: true")
        return None
    selection = Selection(candidates, complete)
    reason = unsupported(problem_cls, selection) if problem_cls is not None else None
    if reason:
        check.error(path, reason)
    return asdict(selection)


def _evaluation(check: _Checker, raw: Any, problem_cls: type | None) -> tuple[int, dict]:
    path: KeyPath = ("evaluation",)
    raw = check.mapping(raw, path, EVAL_KEYS)
    samples = raw.get("samples", 1)
    check.positive_int(samples, path + ("samples",))
    params = _params(check, problem_cls, raw.get("params"), path + ("params",))
    return samples, params

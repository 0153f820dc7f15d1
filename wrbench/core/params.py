"""Typed, documented component parameters.

Components declare their parameters once; the suite validator, the CLI
(`wrbench plugins`) and the constructors all read the same declaration, so a
parameter cannot be documented one way and parsed another.
"""
from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 3, 4, 4, 60, 60


def short_repr(value: Any) -> str:
    """repr() cut to a readable length: an error message quotes the value, not a 10 MB structure."""
    return _SHORT.repr(value)


@dataclass(frozen=True)
class Param:
    """One parameter: name, type, default, and the bounds a value must respect."""

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    sampling_only: bool = False  # read only when sampling: changing it reuses a cached fit
    items: type | None = None  # for list parameters: every element's type; choices/min/max then apply per element

    def check(self, value: Any) -> Any:
        """Return `value` coerced to this parameter's type or raise ValueError saying why."""
        if value is None:
            if self.nullable:
                return None
            raise ValueError(f"expected {self.type_name}, got null")
        value = _coerce(self.type, value)
        if self.items is None:
            return self._check_bounds(value)
        if not value:
            raise ValueError("expected a non-empty list")
        checked = []
        for k, item in enumerate(value):
            try:
                checked.append(self._check_bounds(_coerce(self.items, item)))
            except ValueError as exc:
                raise ValueError(f"item {k}: {exc}") from None
        return checked

    def _check_bounds(self, value: Any) -> Any:
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {list(self.choices)}, got {short_repr(value)}")
        if self.min is not None and value < self.min:
            raise ValueError(f"must be >= {self.min}, got {short_repr(value)}")
        if self.max is not None and value > self.max:
            raise ValueError(f"must be <= {self.max}, got {short_repr(value)}")
        return value

    @property
    def type_name(self) -> str:
        name = _TYPE_NAMES.get(self.type, self.type.__name__)
        return name if self.items is None else f"{name}[{_TYPE_NAMES.get(self.items, self.items.__name__)}]"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type_name, "default": self.default, "help": self.help}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.sampling_only:
            out["sampling_only"] = True
        return out


def _coerce(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _finite(value)
    elif isinstance(value, kind):
        return value
    raise ValueError(f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {type(value).__name__} {short_repr(value)}")


def _finite(value: int | float) -> float:
    """NaN passes every bound check (all comparisons are false) and inf breaks the arithmetic: refuse both."""
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        raise ValueError("expected a finite number, got an integer too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value}")
    return number


@dataclass(frozen=True)
class Params(Mapping[str, Any]):
    """Validated parameter values with attribute access (`self.params.steps`)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


class ParamError(ValueError):
    """A parameter value a component does not accept; `key` names the parameter.

    `problems` lists every (key, message) found, this one first, so a suite can report them all at once.
    """

    def __init__(self, key: str, message: str, more: Sequence[tuple[str, str]] = ()):
        self.key, self.message = key, message
        self.problems = [(key, message), *more]
        super().__init__("; ".join(f"{k}: {m}" for k, m in self.problems))


def resolve(declared: tuple[Param, ...], given: Mapping[str, Any] | None) -> Params:
    """Merge `given` over the declared defaults, rejecting unknown names and bad values (all of them)."""
    given = dict(given or {})
    by_name = {p.name: p for p in declared}
    known = ", ".join(sorted(by_name)) or "none"
    problems = [(str(key), f"unknown parameter (declared: {known})") for key in given if key not in by_name]
    values = {}
    for p in declared:
        try:
            values[p.name] = p.check(given.get(p.name, p.default))
        except ValueError as exc:
            problems.append((p.name, str(exc)))
    if problems:
        raise ParamError(*problems[0], more=problems[1:])
    return Params(values)


def declaration_problems(declared: Any) -> list[str]:
    """What is wrong with a component's parameter declarations (empty if nothing).

    Checked when a plugin registers, so a broken default is blamed on the plugin and
    not on the suite that happens to leave it unset; `plugins --json` needs defaults
    and choices that JSON can write.
    """
    if not isinstance(declared, tuple) or not all(isinstance(p, Param) for p in declared):
        return [f"must be a tuple of wrbench.params.Param, got {short_repr(declared)}"]
    problems, seen = [], set()
    for p in declared:
        if not (isinstance(p.name, str) and p.name and p.name not in seen):
            problems.append(f"parameter name {short_repr(p.name)} is not a distinct, non-empty string")
            continue
        seen.add(p.name)
        try:
            p.check(p.default)
            json.dumps(p.describe(), allow_nan=False)
        except (AttributeError, TypeError, ValueError) as exc:
            problems.append(f"parameter '{p.name}': default {short_repr(p.default)} is invalid: {exc}")
    return problems


__all__ = [
    "short_repr",
    "Param",
    "Params",
    "ParamError",
    "resolve",
    "declaration_problems",
]

"""Typed, documented component parameters.

Components declare their parameters once; the suite validator, the CLI
(`wrbench plugins`) and the constructors all read the same declaration, so a
parameter cannot be documented one way and parsed another.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}


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
            raise ValueError(f"expected one of {list(self.choices)}, got {value!r}")
        if self.min is not None and value < self.min:
            raise ValueError(f"must be >= {self.min}, got {value!r}")
        if self.max is not None and value > self.max:
            raise ValueError(f"must be <= {self.max}, got {value!r}")
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
            return float(value)
    elif isinstance(value, kind):
        return value
    raise ValueError(f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {type(value).__name__} {value!r}")


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
    """A parameter value a component does not accept; `key` names the parameter."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def resolve(declared: tuple[Param, ...], given: Mapping[str, Any] | None) -> Params:
    """Merge `given` over the declared defaults, rejecting unknown names and bad values."""
    given = dict(given or {})
    by_name = {p.name: p for p in declared}
    for key in given:
        if key not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise ParamError(key, f"unknown parameter (declared: {known})")
    values = {}
    for p in declared:
        raw = given.get(p.name, p.default)
        try:
            values[p.name] = p.check(raw)
        except ValueError as exc:
            raise ParamError(p.name, str(exc)) from None
    return Params(values)

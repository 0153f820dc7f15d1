"""YAML loading that remembers the line of every key, so suite errors can point at it."""
from __future__ import annotations

from typing import Any

import yaml

KeyPath = tuple[Any, ...]


def load_with_lines(text: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse `text` (safe loader) and map each key path to its 1-based line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), lines)


def format_path(path: KeyPath) -> str:
    """('solvers', 1, 'params') -> 'solvers[1].params'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """'solvers[0].params.steps=10' or 'solvers.0.params.steps=10' -> (path, YAML-parsed value)."""
    if "=" not in text:
        raise ValueError(f"--set expects KEY.PATH=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    parts: list[Any] = []
    for piece in key.replace("[", ".").replace("]", "").split("."):
        if not piece:
            continue
        parts.append(int(piece) if piece.isdigit() else piece)
    if not parts:
        raise ValueError(f"--set has an empty key in {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ValueError(f"--set {key}: value is not valid YAML ({exc.problem})") from None
    return tuple(parts), value


def apply_override(data: Any, path: KeyPath, value: Any) -> Any:
    """Set `path` in nested dicts/lists, creating dicts on the way; returns the new root."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, list) and isinstance(head, int):
        if head >= len(data):
            raise ValueError(f"--set {format_path(path)}: index {head} is past the end of a list of {len(data)}")
        data[head] = apply_override(data[head], rest, value)
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"--set: cannot set key {head!r} inside a {type(data).__name__}")
    data[head] = apply_override(data.get(head), rest, value)
    return data

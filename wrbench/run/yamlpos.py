"""YAML loading that remembers the line of every key, so suite errors can point at it.

Aliases are refused beyond a small budget before anything is expanded (a few
hundred bytes of nested aliases expand to billions of nodes), and a key given
twice in one mapping is reported instead of silently keeping the last value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[Any, ...]
MAX_ALIASES = 100  # alias uses (`*name`) in one document
MAX_ALIAS_EXPANSION = 10_000  # nodes the aliases may add once expanded
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.YAMLError):
    """A document refused before construction; `problem` and `problem_mark` as in PyYAML's errors."""

    def __init__(self, problem: str, mark: yaml.Mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


@dataclass
class Loaded:
    """A parsed document, the 1-based line of every key path, and keys given twice: (path, line, first line)."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, int, int]] = field(default_factory=list)


def load_with_lines(text: str) -> Loaded:
    """Parse `text` (safe loader), refusing alias bombs and recording lines and duplicate keys."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Loaded(None)
        _check_aliases(node)
        loaded = Loaded(None)
        _walk(node, (), loaded)  # before construction: merge keys (`<<`) are flattened into the nodes then
        loaded.data = loader.construct_document(node)
        return loaded
    finally:
        loader.dispose()


def _check_aliases(root: yaml.Node) -> None:
    """Refuse too many alias uses, or aliases whose expansion adds too many nodes, counting without expanding."""
    distinct: set[int] = set()  # the tree holds every node, so ids stay unique
    edges, stack = 0, [root]
    while stack:
        node = stack.pop()
        if id(node) not in distinct:
            distinct.add(id(node))
            edges += len(_children(node))
            stack.extend(_children(node))
    aliases = edges - (len(distinct) - 1)  # in a tree every node but the root has one parent
    if aliases > MAX_ALIASES:
        raise YamlLimitError(f"{aliases} aliases, more than {MAX_ALIASES}; write the values out", root.start_mark)
    expanded, stack = 0, [root]
    while stack:  # the walk a reader of the data makes, stopped at the budget (a recursive alias never ends)
        node = stack.pop()
        expanded += 1
        if expanded > len(distinct) + MAX_ALIAS_EXPANSION:
            raise YamlLimitError(f"aliases expand to more than {MAX_ALIAS_EXPANSION} extra nodes (an alias bomb, or an "
                                 "alias inside its own anchor); write the values out", node.start_mark)
        stack.extend(_children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _walk(node: yaml.Node, path: KeyPath, loaded: Loaded) -> None:
    loaded.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != MERGE_TAG:
                key = (key_node.tag, key_node.value)
                if key in first:
                    loaded.duplicates.append((path + (key_node.value,), line, first[key]))
                first.setdefault(key, line)
            child = path + (_hashable(key_node),)
            loaded.lines[child] = line
            _walk(value_node, child, loaded)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), loaded)


def _hashable(key_node: yaml.Node) -> Any:
    """A scalar key's text; a mapping or list used as a key (YAML allows it) by its position instead."""
    return key_node.value if isinstance(key_node, yaml.ScalarNode) else f"<key at line {key_node.start_mark.line + 1}>"


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
        parts.append(int(piece) if piece.isdecimal() else piece)
    if not parts:
        raise ValueError(f"--set has an empty key in {text!r}")
    try:
        loaded = load_with_lines(raw) if raw.strip() else Loaded("")
    except yaml.YAMLError as exc:
        raise ValueError(f"--set {key}: value is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if loaded.duplicates:
        raise ValueError(f"--set {key}: value gives key {loaded.duplicates[0][0][-1]!r} twice")
    return tuple(parts), loaded.data


def apply_override(data: Any, path: KeyPath, value: Any, _done: KeyPath = ()) -> Any:
    """Set `path` in nested dicts/lists, creating dicts on the way; returns the new root."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, list) and isinstance(head, int):
        if head >= len(data):
            raise ValueError(f"--set {format_path(_done + path)}: index {head} is past the end: "
                             f"{format_path(_done)} has {len(data)} entr{'y' if len(data) == 1 else 'ies'}")
        data[head] = apply_override(data[head], rest, value, _done + (head,))
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"--set {format_path(_done + (head,))}: cannot set key {head!r} inside {_kind_of(data)} at {format_path(_done)}")
    data[head] = apply_override(data.get(head), rest, value, _done + (head,))
    return data


def _kind_of(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"

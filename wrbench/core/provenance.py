"""Where a component comes from: its plugin, distribution, version and, inside a git checkout, the commit.

A board row or a latency run names the code that produced it, so that a
reader can fetch that code: the harness's commit alone does not identify a
third-party solver.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from wrbench.core.machine import git_commit
from wrbench.core.plugins import Registry


def component_provenance(registry: Registry, cls: type) -> dict[str, Any]:
    """`{name, component_version, plugin, distribution, version, commit}` of a registered component class."""
    plugin = registry.owners.get(cls)
    record = next((r for r in registry.records if r.name == plugin), None)
    try:
        source_dir = Path(inspect.getfile(cls)).resolve().parent
    except (TypeError, OSError):  # a class defined interactively has no file
        source_dir = None
    return {
        "name": getattr(cls, "name", cls.__name__),
        "component_version": getattr(cls, "version", None),
        "plugin": plugin,
        "distribution": record.distribution if record else None,
        "version": record.version if record else None,
        "commit": git_commit(source_dir) if source_dir and source_dir.is_dir() else None,
    }


def code_text(provenance: dict[str, Any]) -> str:
    """"distribution version commit" of a row's component, as far as known."""
    return " ".join(str(provenance[k]) for k in ("distribution", "version", "commit") if provenance.get(k)) or "unknown"


def hardware_text(provenance: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in (provenance.get("hardware") or {}).items()) or "unknown"

"""`wrbench describe NAME` (the command is in wrbench.cli): what a component accepts and offers, from its own declarations.

A suite author needs a component's parameters (type, default, range, help)
before writing `params:`; a plugin author needs a problem's evaluation
parameters, views and exported arrays. All of it is read from the class, so
it cannot drift from the code.
"""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wrbench.core.errors import UsageFailure
from wrbench.core.plugins import Registry, describe_component
from wrbench.core.provenance import code_text, component_provenance

KINDS = ("problem", "expert", "solver")


def component_description(registry: Registry, cls: type) -> dict[str, Any]:
    """`describe_component` plus where the class comes from and, for a problem, its evaluation side."""
    out = {**describe_component(cls), "source": component_provenance(registry, cls)}
    if cls.kind == "problem":
        out["evaluation_parameters"] = {p.name: p.describe() for p in cls.eval_parameters}
        out["export_arrays"] = dict(cls.export_arrays)
        out["metrics"] = {m: cls.metric_definitions.get(m, "") for m in cls.metrics}
    return out


def descriptions(registry: Registry, name: str, kind: str | None = None) -> list[dict[str, Any]]:
    """Every registered variant named `name` (of `kind`, or of any kind); UsageFailure listing the known names."""
    kinds = [kind] if kind else list(KINDS)
    found = [component_description(registry, cls) for k in kinds for cls in registry.variants(k, name)]
    if not found:
        known = "; ".join(f"{k}s: {', '.join(registry.names(k)) or '-'}" for k in kinds)
        raise UsageFailure(f"no {kind or 'component'} named '{name}' ({known})")
    return found


def print_description(description: dict[str, Any], console: Console) -> None:
    source = description["source"]
    console.print(f"[bold]{escape(description['kind'])} {escape(description['name'])}[/] "
                  f"v{escape(str(description['version']))} from plugin {escape(str(source['plugin']))} "
                  f"({escape(code_text(source))})")
    console.print(escape(description["summary"] or ""), highlight=False)
    for title, params in (("parameters", description["parameters"]),
                          ("evaluation parameters", description.get("evaluation_parameters", {}))):
        if params or title == "parameters":
            console.print(_param_table(title, params))
    console.print("capabilities: " + escape(json.dumps(description["capabilities"])), highlight=False)
    for title in ("export_arrays", "metrics"):
        for key, text in description.get(title, {}).items():
            console.print(f"  {title.rstrip('s').replace('_', ' ')} {escape(key)}: {escape(text or '-')}", highlight=False)


def _param_table(title: str, params: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("name", "type", "default", "range", "help"):
        table.add_column(col, overflow="fold")
    for name, p in params.items():
        bounds = [f"one of {p['choices']}" if "choices" in p else "",
                  f">= {p['min']}" if "min" in p else "", f"<= {p['max']}" if "max" in p else "",
                  "sampling only" if p.get("sampling_only") else ""]
        table.add_row(escape(name), escape(p["type"]), escape(json.dumps(p["default"])),
                      escape(", ".join(b for b in bounds if b) or "-"), escape(p["help"]))
    if not params:
        table.add_row("-", "", "", "", "no parameters")
    return table

"""A suite's published figures (`published:` in the suite file) as a table beside a split's measured rows.

The figures are what a source reports, not measurements: they get their own
table, with the source, and no rank, interval or better-way mark.
"""
from __future__ import annotations

import html
from typing import Any

TITLE = "Published figures (reported by the source, not measured here, not ranked)"


def rows_of(published: dict[str, Any] | None, split: str) -> list[dict[str, Any]]:
    """The published rows {label, metrics} of `split` (none if the suite has none)."""
    return list(((published or {}).get("splits") or {}).get(split) or [])


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row.get("metrics", {})))


def _value(row: dict[str, Any], name: str) -> str:
    value = row.get("metrics", {}).get(name)
    return "-" if value is None else f"{value:.4g}"


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def markdown_lines(published: dict[str, Any] | None, split: str) -> list[str]:
    """The Markdown table of `split`'s published figures and their source (no lines if there are none)."""
    rows = rows_of(published, split)
    if not rows:
        return []
    columns = _columns(rows)
    lines = [f"### {TITLE}", "", f"Source: {published['source']}", "",
             "| policy | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for row in rows:
        cells = [row["label"], *(_value(row, c) for c in columns)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines + [""]


def html_table(published: dict[str, Any] | None, split: str) -> str:
    """The HTML table of `split`'s published figures and their source ("" if there are none)."""
    rows = rows_of(published, split)
    if not rows:
        return ""
    columns = _columns(rows)
    head = "<th class='text'>policy</th>" + "".join(f"<th>{_escape(c)}</th>" for c in columns)
    body = "".join("<tr><td class='text'>" + _escape(row["label"]) + "</td>"
                   + "".join(f"<td>{_escape(_value(row, c))}</td>" for c in columns) + "</tr>" for row in rows)
    return (f"<h3>{_escape(TITLE)}</h3><p>Source: {_escape(published['source'])}</p><div class='scroll'>"
            f"<table class='published'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

"""Render a Leaderboard: terminal, Markdown, self-contained sortable HTML (the site's suite page), CSV and JSON."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wrbench.core.fsio import write_json
from wrbench.core.provenance import code_text, hardware_text
from wrbench.report.frontier import SPEEDUP_DEFINITION, point_columns, point_rows
from wrbench.report.leaderboard import Leaderboard
from wrbench.report.plots import write_plots
from wrbench.report.published import markdown_lines
from wrbench.report.site import suite_page
from wrbench.run.record import HARNESS_METRICS

FORMATS = ("md", "html", "csv", "json")
TERMINAL_METRICS = 6
TERMINAL_LATENCY = ("sample_seconds_per_network", "speedup")


def fmt(mean: Any, std: Any = None, ci: Any = None) -> str:
    """A mean with its 95 % interval where known ("0.944 [0.938, 0.95]"), else with its std over repetitions."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    text = f"{mean:.4g}"
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and ci[1] > ci[0]:
        text += f" [{ci[0]:.4g}, {ci[1]:.4g}]"
    elif std is not None and not (isinstance(std, float) and math.isnan(std)) and std > 0:
        text += f" ± {std:.2g}"
    return text


def _columns(board: Leaderboard, limit: int | None = None) -> list[str]:
    metrics = [m for m in board.metrics if any(m in t for t in board.tables.values())]
    return metrics[:limit] if limit else metrics


def _cells(row: dict[str, Any], metrics: list[str], with_std: bool = True) -> list[str]:
    status = row["status"] + (f": {row['message']}" if row.get("message") else "")
    values = [fmt(row.get(m), row.get(f"{m}_std"), row.get(f"{m}_ci")) if with_std else fmt(row.get(m)) for m in metrics]
    return [str(row.get("rank", "")), row["label"], status, *values]


def _rule(board: Leaderboard) -> str:
    """The ranking rule as the board states it."""
    return board.ranking.describe() if board.ranking else f"Ranked by {board.rank_by}."


def terminal(board: Leaderboard, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 160)
    headline = [board.rank_by, *board.meta.get("headline_metrics", [])]
    problem_metrics = [m for m in dict.fromkeys([*headline, *_columns(board)]) if m in _columns(board) and m not in HARNESS_METRICS]
    metrics = problem_metrics[:TERMINAL_METRICS] + [m for m in TERMINAL_LATENCY if m in _columns(board)]
    for split, table in board.tables.items():
        # rich parses markup in titles and cells: labels, messages and names are user text
        out = Table(title=escape(f"{board.title} · {split} (means over networks x repetitions)"), title_style="bold",
                    caption=escape(_rule(board)), caption_justify="left")
        out.add_column("#")
        out.add_column("policy", no_wrap=True)
        out.add_column("status", overflow="fold")
        for col in metrics:
            out.add_column(escape(col.replace("_per_network", "/net").replace("_", " ")), overflow="fold")
        for row in table.to_dict(orient="records"):
            out.add_row(*map(escape, _cells(row, metrics, with_std=False)))
        console.print(out)
    hidden = len(_columns(board)) - len(metrics)
    if hidden > 0:
        console.print(f"[dim]{hidden} more metrics in leaderboard.md / .html / .csv / .json[/]")


def markdown(board: Leaderboard) -> str:
    metrics = _columns(board)
    lines = [f"# {board.title}", ""]
    meta = board.meta
    if meta:
        lines += [
            f"{_rule(board)} Values: mean over networks x repetitions with its 95 % interval [low, high] where "
            f"per-network values exist, else mean ± sample std over repetitions; `*_diff`: paired difference against "
            f"the expert's row on the same networks. Metrics are defined in docs/metrics.md.",
            "",
            f"wrbench {meta.get('wrbench_version')}, "
            f"torch {meta.get('torch_version')}, device {meta.get('device')}, commit {str(meta.get('git_commit'))[:10]}, "
            f"suite hash {meta.get('suite_hash')}, {meta.get('date')}.",
        ]
        lines.append("")
        lines.append(f"Command: `{meta.get('command')}`")
        lines.append("")
        if meta.get("note"):
            lines += [f"Note: {meta['note']}", ""]
    for split, table in board.tables.items():
        lines += [f"## Split `{split}`", ""]
        header = ["#", "policy", "status", *metrics]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in table.to_dict(orient="records"):
            lines.append(_markdown_row(_cells(row, metrics)))
        lines.append("")
        lines += _frontier_lines(board, split)
        lines += markdown_lines(board.published, split)
    return "\n".join(lines + _provenance_lines(board))


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _frontier_lines(board: Leaderboard, split: str) -> list[str]:
    """The split's cost-quality points, cheapest first per policy, and the expert budget the speedup is taken against."""
    points = [p for p in board.json_frontier() if p["split"] == split]
    if not points:
        return []
    columns = point_columns(points, board.rank_by, list(board.meta.get("headline_metrics", [])))
    lines = [f"### Cost-quality frontier `{split}`", ""]
    matched = (board.meta.get("matched_expert") or {}).get(split)
    if matched:
        lines += [f"speedup = {SPEEDUP_DEFINITION}: here budget {matched['budget']}, {matched['seconds']:.4g} s per "
                  "network.", ""]
    lines.append("| " + " | ".join(["policy @ budget", "vs expert", *columns]) + " |")
    lines.append("|" + "---|" * (len(columns) + 2))
    for row in point_rows(points):
        lines.append(_markdown_row(_cells(row, columns)[1:]))
    return lines + [""]


def _provenance_lines(board: Leaderboard) -> list[str]:
    """Where the rows come from: one line per run and code source (a merged board's rows come from several runs)."""
    labels = {row["entry"]: row["label"] for table in board.tables.values() for row in table.to_dict(orient="records")}
    groups: dict[tuple[str, ...], list[str]] = {}
    for entry, p in board.provenance.items():
        key = (code_text(p), str(p.get("date") or "?"), hardware_text(p), str(p.get("command") or "?"))
        groups.setdefault(key, []).append(labels.get(entry, entry))
    lines = [f"- {', '.join(rows)}: code {code}; {date}; hardware {hardware}; `{command}`"
             for (code, date, hardware, command), rows in groups.items()]
    return ["## Provenance", "", *lines, ""] if lines else []


def write_all(board: Leaderboard, outdir: str | Path) -> list[Path]:
    """Write every format (and the plots) into `outdir`; return the files written."""
    outdir = Path(outdir)
    plots = write_plots(board, outdir)
    document = json_document(board)
    (outdir / "leaderboard.md").write_text(markdown(board))
    (outdir / "leaderboard.html").write_text(suite_page(document, [str(p.relative_to(outdir)) for p in plots]))
    frames = [t.assign(split=s) for s, t in board.tables.items()]
    pd.concat(frames, ignore_index=True).to_csv(outdir / "leaderboard.csv", index=False)
    write_json(outdir / "leaderboard.json", document)
    return [outdir / f"leaderboard.{f}" for f in FORMATS] + plots


def json_document(board: Leaderboard) -> dict[str, Any]:
    """leaderboard.json: the rows with their intervals, the rule, the metrics in column order, and per row where
    it comes from; `fingerprints` identify the networks the rows were scored on (split -> repetition -> hash)."""
    return {"title": board.title, "problem": board.problem, "rule": _rule(board), "metrics": _columns(board),
            "lower_is_better": sorted(board.lower_is_better), "rows": board.json_rows(), "meta": board.meta,
            "provenance": board.provenance, "fingerprints": board.fingerprints,
            "published": board.published, **({"frontier": board.json_frontier()} if board.frontier else {})}

"""Static, offline HTML for boards: one page per suite and an index, built from each board's leaderboard.json.

No script or style comes from outside the page (no CDN): the sorting script
and the styles are inline, the plots are copied beside the page. A suite page
shows per split a table of the headline and latency metrics (the rest in a
collapsed table), each value with its 95 % interval, a mark for which way is
better, a legend defining each metric, provenance per row on demand, the
plots, and the command that reproduces the board.
"""
from __future__ import annotations

import html
import json
import math
import shutil
from pathlib import Path
from typing import Any

from wrbench.core.provenance import code_text, hardware_text
from wrbench.report.evidence import lower_is_better
from wrbench.report.frontier import SPEEDUP_DEFINITION, point_columns, point_rows
from wrbench.report.published import html_table

LATENCY = ("sample_seconds_per_network", "speedup")
DIAGNOSTIC = "a diagnostic the expert or solver reports about itself (not a score; see `wrbench describe NAME`)"
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1600px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;
vertical-align:top}th{background:#f3f3f3;cursor:pointer;max-width:8em}td.text,th.text{text-align:left}
td small{color:#666;display:block}.scroll{overflow-x:auto}dl{columns:2}dt{font-weight:600}dd{margin:0 0 .5em 1em}
figure{display:inline-block;margin:0 1em 1em 0}figure img{max-width:720px;width:100%}code{background:#f6f6f6;padding:1px 4px}
details{margin:0.5em 0}th[aria-sort=ascending]::after{content:" \\25B4"}th[aria-sort=descending]::after{content:" \\25BE"}"""
SORT_SCRIPT = """<script>
document.querySelectorAll('table.sortable').forEach(table => table.querySelectorAll('th').forEach((th, col) =>
  th.addEventListener('click', () => {
    const asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(other => other.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    const key = tr => { const v = tr.children[col].dataset.v; const n = parseFloat(v); return isNaN(n) ? v : n; };
    const body = table.tBodies[0];
    [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
      if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); }).forEach(tr => body.appendChild(tr));
  })));
</script>"""


def suite_page(doc: dict[str, Any], plots: list[str], index_link: bool = False) -> str:
    """The page of one board from its leaderboard.json document; `plots` are paths relative to the page."""
    meta = doc.get("meta", {})
    title = meta.get("suite") or doc.get("title", "board")
    lower = lower_is_better(meta)
    definitions = {**meta.get("metric_definitions", {}), **_derived_definitions(doc)}
    rows = doc.get("rows", [])
    metrics = doc.get("metrics") or _metrics_of(rows)
    headline = _headline(meta, metrics)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)} · wrbench</title>",
             f"<style>{STYLE}</style></head><body>"]
    if index_link:
        parts.append("<p><a href='../index.html'>&larr; all suites</a></p>")
    parts += [f"<h1>{_e(title)}</h1>", f"<p>{_e(doc.get('rule', ''))} Click a column header to sort; "
              "&uarr; higher is better, &darr; lower is better; brackets: 95 % interval.</p>"]
    if meta.get("note"):
        parts.append(f"<p>{_e(meta['note'])}</p>")
    parts.append(_reproduce(meta))
    for split in dict.fromkeys(r.get("split", "test") for r in rows):
        split_rows = [r for r in rows if r.get("split", "test") == split]
        rest = [m for m in metrics if m not in headline]
        parts.append(f"<h2>Split {_e(split)}</h2>")
        parts.append(_table(split_rows, headline, lower, definitions, f"table-{split}"))
        if rest:
            parts.append(f"<details><summary>all {len(rest)} other metrics</summary>"
                         f"{_table(split_rows, rest, lower, definitions, f'table-{split}-more')}</details>")
        points = [p for p in doc.get("frontier", []) if p.get("split") == split]
        if points:
            matched = (meta.get("matched_expert") or {}).get(split)
            parts.append(f"<h3>Cost-quality frontier</h3><p>Each policy at several budgets on the same networks. "
                         + (f"Speedup is taken against the expert's budget {_e(matched['budget'])} "
                            f"({matched['seconds']:.4g} s per network): {_e(SPEEDUP_DEFINITION)}." if matched else "")
                         + "</p>")
            columns = point_columns(points, (meta.get("ranking") or {}).get("objective", ""), headline)
            parts.append(_table(point_rows(points), columns, lower, definitions, f"frontier-{split}"))
        parts.append(html_table(doc.get("published"), split))
    parts.append(_provenance(doc))
    parts.append(_legend([m for m in metrics if any(m in r for r in rows)], lower, definitions))
    if plots:
        parts.append("<h2>Plots</h2>")
        parts += [f"<figure><img src='{_e(p)}' alt='{_e(Path(p).stem)}'><figcaption>{_e(Path(p).stem)}</figcaption>"
                  "</figure>" for p in plots]
    parts += [SORT_SCRIPT, "</body></html>"]
    return "\n".join(parts)


def index_page(boards: list[tuple[str, dict[str, Any]]]) -> str:
    """The site's front page: one row per suite, linking to its page."""
    rows = []
    for name, doc in boards:
        meta, lines = doc.get("meta", {}), doc.get("rows", [])
        top = next((r for r in lines if r.get("rank") in (1, "1", "=1")), lines[0] if lines else {})
        policies = len({r.get("label") for r in lines})
        rows.append("<tr>" + "".join([
            f"<td class='text' data-v='{_e(name)}'><a href='{_e(name)}/index.html'>{_e(name)}</a></td>",
            _text_cell(str(doc.get("problem", ""))),
            f"<td data-v='{policies}'>{policies}</td>",
            _text_cell(str(top.get("label", ""))),
            _text_cell(str(meta.get("device", ""))), _text_cell(str(meta.get("date", ""))[:10]),
        ]) + "</tr>")
    head = "".join(f"<th class='text'>{h}</th>" for h in ("suite", "problem", "policies", "rank 1", "device", "date"))
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>wrbench boards</title>",
        f"<style>{STYLE}</style></head><body><h1>wrbench boards</h1>",
        "<p>Each suite's board: policies ranked by the suite's rule, with intervals, metric definitions and "
        "provenance. Regenerate this site with <code>wrbench site leaderboard/ -o site/</code>.</p>",
        f"<table class='sortable' id='suites'><thead><tr>{head}</tr></thead><tbody>", *rows, "</tbody></table>",
        SORT_SCRIPT, "</body></html>"])


def build_site(boards_dir: str | Path, out: str | Path) -> list[Path]:
    """Write the site of every board under `boards_dir` (a folder per suite with leaderboard.json) to `out`."""
    boards_dir, out = Path(boards_dir), Path(out)
    boards = sorted(p.parent for p in boards_dir.glob("*/leaderboard.json"))
    if not boards:
        raise FileNotFoundError(f"no boards in {boards_dir} (expected {boards_dir}/<suite>/leaderboard.json)")
    written, docs = [], []
    for board in boards:
        doc = json.loads((board / "leaderboard.json").read_text())
        page_dir = out / board.name
        plots = []
        for png in sorted((board / "plots").glob("*.png")):
            (page_dir / "plots").mkdir(parents=True, exist_ok=True)
            shutil.copy2(png, page_dir / "plots" / png.name)
            plots.append(f"plots/{png.name}")
        page_dir.mkdir(parents=True, exist_ok=True)
        (page_dir / "index.html").write_text(suite_page(doc, plots, index_link=True))
        written.append(page_dir / "index.html")
        docs.append((board.name, doc))
    (out / "index.html").write_text(index_page(docs))
    return [out / "index.html", *written]


def _headline(meta: dict[str, Any], metrics: list[str]) -> list[str]:
    """The objective, the problem's headline metrics, then the latency columns: what fits on one screen."""
    ranking = meta.get("ranking") or {}
    wanted = [ranking.get("objective") or meta.get("rank_by"), *meta.get("headline_metrics", []), *LATENCY]
    chosen = [m for m in dict.fromkeys(wanted) if m and m in metrics]
    paired = [m for m in metrics if m.endswith("_diff") and m[:-5] in chosen[:1]]
    return [*chosen[:1], *paired, *chosen[1:]] if chosen else metrics[:8]


def _metrics_of(rows: list[dict[str, Any]]) -> list[str]:
    """Metric columns of rows that carry no metric list: every key with an interval or std companion."""
    keys = dict.fromkeys(k for r in rows for k in r)
    return [k for k in keys if f"{k}_ci" in keys or f"{k}_std" in keys]


def _derived_definitions(doc: dict[str, Any]) -> dict[str, str]:
    objective = ((doc.get("meta") or {}).get("ranking") or {}).get("objective")
    return {f"{objective}_diff": f"paired difference in {objective} against the expert's row, network by network"} \
        if objective else {}


def _table(rows: list[dict[str, Any]], metrics: list[str], lower: set[str], definitions: dict[str, str],
           table_id: str) -> str:
    head = ["<th class='text'>#</th>", "<th class='text'>policy</th>", "<th class='text'>status</th>"]
    for m in metrics:
        head.append(f"<th title='{_e(m)}: {_e(definitions.get(m, DIAGNOSTIC))}'>{_e(_short_name(m))} "
                    f"{_arrow(m, lower, definitions)}</th>")
    body = []
    for row in rows:
        cells = [_text_cell(str(row.get("rank", ""))), _text_cell(str(row.get("label", ""))),
                 _text_cell(str(row.get("status", "")) + (f": {row['message']}" if row.get("message") else ""))]
        cells += [_value_cell(row.get(m), row.get(f"{m}_ci")) for m in metrics]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div class='scroll'><table class='sortable' id='{_e(table_id)}'><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _short_name(metric: str) -> str:
    """A column title that wraps: words instead of underscores, "/net" for per network (the legend has the name)."""
    return metric.replace("_per_network", "/net").replace("_", " ")


def _value_cell(mean: Any, ci: Any) -> str:
    if not isinstance(mean, (int, float)) or isinstance(mean, bool) or not math.isfinite(mean):
        return "<td data-v=''>-</td>"
    text = f"{mean:.4g}"
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        text += f"<small>[{ci[0]:.4g}, {ci[1]:.4g}]</small>"
    return f"<td data-v='{mean!r}'>{text}</td>"


def _text_cell(text: str) -> str:
    return f"<td class='text' data-v='{_e(text)}'>{_e(text)}</td>"


def _arrow(metric: str, lower: set[str], definitions: dict[str, str]) -> str:
    """Which way is better; none for a component's own diagnostic, which the board does not judge."""
    base = metric[:-5] if metric.endswith("_diff") else metric
    if base in lower:
        return "&darr;"
    return "&uarr;" if base in definitions else ""


def _legend(metrics: list[str], lower: set[str], definitions: dict[str, str]) -> str:
    items = "".join(f"<dt>{_e(m)} {_arrow(m, lower, definitions)}</dt><dd>{_e(definitions.get(m, DIAGNOSTIC))}</dd>"
                    for m in metrics)
    return f"<h2>Metrics</h2><dl id='legend'>{items}</dl>"


def _provenance(doc: dict[str, Any]) -> str:
    provenance = doc.get("provenance") or {}
    labels = {r.get("entry"): r.get("label") for r in doc.get("rows", [])}
    if not provenance:
        return "<p>No provenance per row recorded (a board published before wrbench kept it).</p>"
    head = "".join(f"<th class='text'>{h}</th>" for h in ("policy", "component", "code", "wrbench", "date",
                                                          "hardware", "command"))
    body = []
    for entry, p in provenance.items():
        body.append("<tr>" + "".join(_text_cell(t) for t in (
            str(labels.get(entry, entry)), f"{p.get('name') or '-'} v{p.get('component_version') or '?'} "
            f"({p.get('plugin') or '?'})", code_text(p), f"{p.get('wrbench_version') or '?'} {str(p.get('wrbench_commit') or '')[:12]}",
            str(p.get("date") or "-"), hardware_text(p), str(p.get("command") or "-"))) + "</tr>")
    return (f"<details id='provenance'><summary>provenance per row ({len(body)})</summary><div class='scroll'>"
            f"<table class='sortable'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></details>")


def _reproduce(meta: dict[str, Any]) -> str:
    suite_file = meta.get("suite_file")
    lines = []
    if suite_file:
        lines.append(f"Reproduce: <code>wrbench run {_e(suite_file)}</code>.")
    if meta.get("command"):
        lines.append(f"This board's run: <code>{_e(meta['command'])}</code>")
    lines.append(f"wrbench {_e(meta.get('wrbench_version', '?'))}, commit {_e(str(meta.get('git_commit'))[:12])}, "
                 f"{_e(meta.get('device', '?'))}, suite hash {_e(meta.get('suite_hash', '?'))}, {_e(meta.get('date', '?'))}.")
    return "<p>" + " ".join(lines) + "</p>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


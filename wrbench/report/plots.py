"""Plots written next to the leaderboard: one CDF per test split and distribution a problem reports.

The harness knows nothing of the physics: a problem returns named
distributions (e.g. per-link ergodic rates) and markers (e.g. f_min), and
every policy's pooled values are drawn as empirical CDFs on one figure. For a
suite that sweeps a problem parameter over its test splits, each policy's
metrics (the sweep's `plot` list) are drawn against the parameter's value.
A suite ranked under a constraint gets an objective-against-constraint
trade-off scatter per split, and one that names `profile_metrics` in its meta
gets grouped bars of those metrics per policy (with `profile_marker`, e.g.
f_min, as dashed lines).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wrbench.core.fsio import artifact_name

if TYPE_CHECKING:
    from wrbench.report.leaderboard import Leaderboard


def _pooled(outdir: Path, key: str, split: str, reps: int) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
    dists: dict[str, list[np.ndarray]] = {}
    markers: dict[str, dict[str, float]] = {}
    for rep in range(reps):
        path = outdir / "dists" / f"{artifact_name(key, rep, split)}.npz"
        if not path.exists():
            continue
        with np.load(path, allow_pickle=False) as data:
            for name in data.files:
                kind, *rest = name.split(":")
                if kind == "dist":
                    dists.setdefault(rest[0], []).append(data[name].ravel())
                elif kind == "marker":
                    markers.setdefault(rest[0], {})[rest[1]] = float(data[name])
    return {k: np.concatenate(v) for k, v in dists.items()}, markers


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(board: "Leaderboard", outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return (
        _cdf_plots(board, outdir)
        + _sweep_plots(board, outdir)
        + _tradeoff_plots(board, outdir)
        + _profile_plots(board, outdir)
        + _cost_plots(board, outdir)
        + _frontier_plots(board, outdir)
    )


def _number(value: Any) -> float:
    """A table cell as a float; NaN when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _interval(value: Any) -> tuple[float, float] | None:
    """A `<metric>_ci` cell as (low, high); None when unknown (None, NaN, malformed, non-finite)."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low, high


def _error(mean: float, ci: tuple[float, float] | None) -> list[list[float]] | None:
    """A matplotlib asymmetric error bar ([[below], [above]]) for a mean and its interval; None when unknown."""
    if ci is None or not math.isfinite(mean):
        return None
    low, high = ci
    return [[max(mean - low, 0.0)], [max(high - mean, 0.0)]]


def _save(plt: Any, fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _tradeoff_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    """Per test split: the objective against the constraint metric, the constraint's tolerance dashed.
    Needs `board.ranking` with a constraint."""
    ranking = board.ranking
    if ranking is None or not ranking.objective or not ranking.constraint:
        return []
    better = "higher" if ranking.higher_is_better else "lower"
    return _scatter_plots(board, outdir, ranking.constraint, ranking.objective, "tradeoff",
                          f"{ranking.objective} ({better} is better) against {ranking.constraint}",
                          vline=("QoS tolerance", _number(ranking.tolerance)))


def _cost_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    """Per test split: the objective against sampling seconds per network (log scale): quality for its cost."""
    objective = board.ranking.objective if board.ranking else board.rank_by
    if not objective:
        return []
    return _scatter_plots(board, outdir, "sample_seconds_per_network", objective, "cost_quality",
                          f"{objective} against seconds per network", log_x=True)


def _frontier_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    """Per test split with a frontier: the objective (and the constraint metric, where the rule has one) against
    seconds per network on a log scale, one curve per policy through its budgets, each point labelled by its budget."""
    ranking = board.ranking
    objective = ranking.objective if ranking else board.rank_by
    panels = [objective] + ([ranking.constraint] if ranking and ranking.constraint else [])
    plt = _pyplot()
    written = []
    for split in dict.fromkeys(p["split"] for p in board.frontier):
        points = [p for p in board.frontier if p["split"] == split]
        fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
        for ax, metric in zip(axes[0], panels):
            for policy in dict.fromkeys(p["solver"] for p in points):
                curve = [p for p in points if p["solver"] == policy and _number(p.get("sample_seconds_per_network")) > 0
                         and math.isfinite(_number(p.get(metric)))]
                if not curve:
                    continue
                xs = [_number(p["sample_seconds_per_network"]) for p in curve]
                ys = [_number(p[metric]) for p in curve]
                errors = [_error(y, _interval(p.get(f"{metric}_ci"))) or [[0.0], [0.0]] for y, p in zip(ys, curve)]
                yerr = [[e[0][0] for e in errors], [e[1][0] for e in errors]]
                ax.errorbar(xs, ys, yerr=yerr, fmt="o-", capsize=3, label=policy)
                for x, y, p in zip(xs, ys, curve):
                    ax.annotate(str(p["budget"]), (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
            if ranking and metric == ranking.constraint and math.isfinite(_number(ranking.tolerance)):
                ax.axhline(_number(ranking.tolerance), color="k", linestyle="--", linewidth=1, label="tolerance")
            ax.set_xscale("log")
            ax.set_xlabel("sample_seconds_per_network (batched; log scale)")
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"{board.title} · {split}: cost-quality frontier (labels: budget)")
        written.append(_save(plt, fig, outdir / "plots" / f"{split}_frontier.png"))
    return written


def _scatter_plots(board: "Leaderboard", outdir: Path, x_metric: str, y_metric: str, name: str, title: str,
                   log_x: bool = False, vline: tuple[str, float] | None = None) -> list[Path]:
    """Per test split: each policy as a labelled point (x mean, y mean) with its interval bars."""
    plt = _pyplot()
    written = []
    for split, table in board.tables.items():
        if x_metric not in table or y_metric not in table:
            continue
        points = []
        for row in table.to_dict(orient="records"):
            x, y = _number(row.get(x_metric)), _number(row.get(y_metric))
            if math.isnan(x) or math.isnan(y) or (log_x and x <= 0):
                continue
            points.append((str(row.get("label", row.get("entry", ""))), x, y,
                           _interval(row.get(f"{x_metric}_ci")), _interval(row.get(f"{y_metric}_ci"))))
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, x, y, xci, yci in points:
            ax.errorbar([x], [y], xerr=_error(x, xci), yerr=_error(y, yci), fmt="o", capsize=3)
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if vline and math.isfinite(vline[1]):
            ax.axvline(vline[1], color="k", linestyle="--", linewidth=1, label=vline[0])
            ax.legend(fontsize=8)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(x_metric)
        ax.set_ylabel(y_metric)
        ax.set_title(f"{board.title} · {split}: {title}")
        ax.grid(alpha=0.3)
        written.append(_save(plt, fig, outdir / "plots" / f"{split}_{name}.png"))
    return written


def _profile_marks(board: "Leaderboard", split: str, table: Any, reps: int) -> dict[str, float]:
    """The `profile_marker` ([distribution, marker], or a distribution name for all its markers) values found
    in the policies' stored distributions, as {label: value}; empty when none is stored."""
    spec = board.meta.get("profile_marker")
    if not spec:
        return {}
    if isinstance(spec, str):
        dist, wanted = spec, None
    else:
        dist, wanted = str(spec[0]), (str(spec[1]) if len(spec) > 1 else None)
    marks: dict[str, float] = {}
    for row in table.to_dict(orient="records"):
        _, markers = _pooled(board.source, row["entry"], split, reps)
        for mark, value in markers.get(dist, {}).items():
            if (wanted is None or mark == wanted) and math.isfinite(value):
                marks.setdefault(mark, value)
        if wanted is not None and wanted in marks:
            break  # the first policy that stored the marker gives its value: read no more files
    return marks


def _profile_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    """Per test split: grouped bars, one group per `profile_metrics` metric and one bar per policy (table order),
    with interval bars, and the `profile_marker` values (e.g. f_min) as dashed horizontal lines."""
    wanted = list(board.meta.get("profile_metrics", []) or [])
    if not wanted:
        return []
    plt = _pyplot()
    reps = int(board.meta.get("repetitions", 1))
    written = []
    for split, table in board.tables.items():
        metrics = [m for m in wanted if m in table]
        if not metrics or not len(table):
            continue
        rows = table.to_dict(orient="records")
        width = 0.8 / len(rows)
        centers = np.arange(len(metrics))
        fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(metrics) * max(1, len(rows) / 3)), 4.5))
        for i, row in enumerate(rows):
            heights = [_number(row.get(m)) for m in metrics]
            below, above = [], []
            for mean, metric in zip(heights, metrics):
                err = _error(mean, _interval(row.get(f"{metric}_ci")))
                below.append(err[0][0] if err else 0.0)
                above.append(err[1][0] if err else 0.0)
            xs = centers - 0.4 + width * (i + 0.5)
            ax.bar(xs, np.nan_to_num(heights), width, label=str(row.get("label", row.get("entry", ""))),
                   yerr=[below, above] if any(below) or any(above) else None, capsize=2)
        for mark, value in _profile_marks(board, split, table, reps).items():
            ax.axhline(value, color="k", linestyle="--", linewidth=1)
            ax.annotate(f"{mark} = {value:g}", (centers[-1] + 0.4, value), ha="right", va="bottom", fontsize=8)
        ax.set_xticks(centers)
        ax.set_xticklabels(metrics)
        ax.set_ylabel("value")
        ax.set_title(f"{board.title} · {split}: profile")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
        written.append(_save(plt, fig, outdir / "plots" / f"{split}_profile.png"))
    return written


def _sweep_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    """For a swept problem parameter: each policy's metrics against the parameter's value."""
    plt = _pyplot()
    written = []
    for param, splits in board.sweeps.items():
        metrics = [m for m in board.sweep_plot if any(m in board.tables[name] for name, _ in splits)]
        if not metrics:
            continue
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
        labels = list(dict.fromkeys(label for name, _ in splits for label in board.tables[name]["label"]))
        for ax, metric in zip(axes[0], metrics):
            for label in labels:
                xs, ys = [], []
                for name, value in splits:
                    table = board.tables[name]
                    row = table[table["label"] == label]
                    if len(row) and metric in row:
                        xs.append(value)
                        ys.append(float(row[metric].iloc[0]))
                ax.plot(xs, ys, marker="o", label=label)
            ax.set_xlabel(param)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
        axes[0][-1].legend(fontsize=8)
        fig.suptitle(f"{board.title}: metrics against {param}")
        fig.tight_layout()
        path = outdir / "plots" / f"sweep_{param}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _cdf_plots(board: "Leaderboard", outdir: Path) -> list[Path]:
    plt = _pyplot()
    reps = int(board.meta.get("repetitions", 1))
    written = []
    for split, table in board.tables.items():
        curves: dict[str, dict[str, np.ndarray]] = {}
        marks: dict[str, dict[str, float]] = {}
        for row in table.to_dict(orient="records"):
            dists, markers = _pooled(board.source, row["entry"], split, reps)
            for name, values in dists.items():
                curves.setdefault(name, {})[row["label"]] = values
            for name, m in markers.items():
                marks.setdefault(name, {}).update(m)
        for name, by_policy in curves.items():
            fig, ax = plt.subplots(figsize=(7, 4.5))
            for label, values in by_policy.items():
                x = np.sort(values)
                ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=label)
            for mark, value in marks.get(name, {}).items():
                ax.axvline(value, color="k", linestyle="--", linewidth=1)
                ax.annotate(f"{mark} = {value:g}", (value, 0.02), rotation=90, ha="right", va="bottom", fontsize=8)
            ax.set_xlabel(name.replace("_", " "))
            ax.set_ylabel("empirical CDF")
            ax.set_title(f"{board.title} · {split}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            path = outdir / "plots" / f"{split}_{name}_cdf.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.tight_layout()
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    return written

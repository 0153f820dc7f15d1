"""Plots written next to the leaderboard: one CDF per test split and distribution a problem reports.

The harness knows nothing of the physics: a problem returns named
distributions (e.g. per-link ergodic rates) and markers (e.g. f_min), and
every policy's pooled values are drawn as empirical CDFs on one figure. For a
suite that sweeps a problem parameter over its test splits, each policy's
metrics (the sweep's `plot` list) are drawn against the parameter's value.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
    return _cdf_plots(board, Path(outdir)) + _sweep_plots(board, Path(outdir))


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
            dists, markers = _pooled(outdir, row["entry"], split, reps)
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

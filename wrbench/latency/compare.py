"""A run against a saved baseline, and the tables `wrbench bench` prints.

pytest-benchmark's `--benchmark-compare-fail` fails on a threshold over one
statistic (min, mean, median...), which noise on a shared machine crosses at
random; here each
benchmark gets the significance rule of `wrbench.latency.stats` on raw (and,
where both runs have them, calibrated) rounds, plus warnings for what makes two
runs hard to compare: another machine, a busy one, other thread counts.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from wrbench.latency.cases import budget_text
from wrbench.latency.stats import ALPHA, Comparison, compare_rounds

BUSY_LOAD_PER_CORE = 1.0


def fingerprint_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


PROVENANCE_KEYS = ("plugin", "distribution", "version", "commit", "component_version")


def _provenance_text(p: dict[str, Any]) -> str:
    """`plugin distribution version commit` of one component ("-" for what is unknown; commit shortened)."""
    commit = p.get("commit")
    if commit:
        head, _, dirty = str(commit).partition("+")
        commit = head[:12] + (f"+{dirty}" if dirty else "")
    return " ".join(str(v) if v else "-" for v in (p.get("plugin"), p.get("distribution"), p.get("version"), commit))


def provenance_changes(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per component timed in both runs whose provenance differs (`name: baseline -> current`); a
    baseline saved before provenance was recorded gets one line saying so."""
    before, after = baseline.get("solvers"), current.get("solvers") or {}
    if before is None:
        return [f"baseline '{baseline.get('name')}' recorded no solver provenance (saved by an older wrbench)"]
    lines = []
    for name in sorted(set(before) & set(after)):
        b, c = before[name] or {}, after[name] or {}
        if any(b.get(k) != c.get(k) for k in PROVENANCE_KEYS):
            versions = b.get("component_version"), c.get("component_version")
            lines.append(f"{name}: {_provenance_text(b)} -> {_provenance_text(c)}"
                         + (f" (component version {versions[0]} -> {versions[1]})" if versions[0] != versions[1] else ""))
    return lines


def busy_warning(run: dict[str, Any], label: str) -> str | None:
    """A warning when the 1-minute load average around a run exceeded the core count (other work competed)."""
    cores = int(run.get("fingerprint", {}).get("cpu_count") or 1)
    loads = [v[0] for v in (run.get("load_average") or {}).values() if v]
    if loads and max(loads) > BUSY_LOAD_PER_CORE * cores:
        return (f"the machine was busy during the {label} run '{run.get('name') or 'current'}' (1-min load average up to "
                f"{max(loads):g} on {cores} cores): its timings include contention from other processes, so a "
                "verdict may reflect the load rather than the code")
    return None


def calibration_gap(baseline: dict[str, Any], current: dict[str, Any]) -> str | None:
    """Why a benchmark in both runs cannot be compared calibrated (None when it can)."""
    missing = [label for label, entry in (("baseline", baseline), ("current", current)) if not entry.get("calibration")]
    if missing:
        who = "neither run has" if len(missing) == 2 else f"the {missing[0]} run has no"
        return f"{who} calibration rounds (saved before they were recorded?)"
    kernels = baseline.get("calibration_kernel"), current.get("calibration_kernel")
    if kernels[0] != kernels[1]:
        return f"the runs timed different calibration kernels ({kernels[0]} vs {kernels[1]})"
    return None


def compare_runs(baseline: dict[str, Any], current: dict[str, Any], fail_over_pct: float | None = None,
                 alpha: float = ALPHA) -> tuple[list[Comparison], list[str]]:
    """Per-benchmark comparisons and warnings; a different fingerprint warns and never fails.

    Benchmarks calibrated in both runs get the calibrated verdict; the others fall back to the raw rule, with a
    warning, since then a machine that got slower between the runs looks like slower code."""
    warnings: list[str] = []
    same = baseline.get("fingerprint_id") == current.get("fingerprint_id")
    if not same:
        diff = "; ".join(fingerprint_diff(baseline.get("fingerprint", {}), current.get("fingerprint", {})))
        warnings.append(f"baseline '{baseline.get('name')}' was measured on a different machine fingerprint ({diff}): "
                        "verdicts are informative only and never fail")
    warnings += [w for run, label in ((baseline, "baseline"), (current, "current")) if (w := busy_warning(run, label))]
    threads = {(b.get("torch_threads"), c.get("torch_threads")) for k, c in current["benchmarks"].items()
               if (b := baseline["benchmarks"].get(k)) and b.get("torch_threads") != c.get("torch_threads")}
    if threads:
        warnings.append("the runs used different torch thread counts (baseline -> current: "
                        + ", ".join(f"{a} -> {b}" for a, b in sorted(threads, key=str)) + "); pass the same --threads")
    names = list(current["benchmarks"]) + [k for k in baseline["benchmarks"] if k not in current["benchmarks"]]
    out, raw_only = [], {}
    for name in names:
        b, c = baseline["benchmarks"].get(name) or {}, current["benchmarks"].get(name) or {}
        gap = calibration_gap(b, c) if b and c else None
        if b and c and b.get("samples") != c.get("samples"):
            warnings.append(f"{name}: samples differ ({b.get('samples')} vs {c.get('samples')})")
        if gap:
            raw_only.setdefault(gap, []).append(name)
        out.append(compare_rounds(name, b.get("rounds"), c.get("rounds"),
                                  baseline_calibration=None if gap else b.get("calibration"),
                                  current_calibration=None if gap else c.get("calibration"),
                                  fail_over_pct=fail_over_pct, alpha=alpha, same_machine=same))
    warnings += [f"{gap}: {', '.join(names)} compared with the raw rule, so a change in machine speed between the "
                 "runs can pass for a change in the code" for gap, names in raw_only.items()]
    return out, warnings


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


COMPARISON_COLUMNS = ("benchmark", "baseline median", "current median", "raw change", "raw verdict",
                      "machine factor", "calibrated change", "p", "verdict")
LATENCY_COLUMNS = ("problem", "component", "N", "B", "S", "rounds", "per call", "per network", "expert per network",
                   "speed-up", "weights")


def _pct(change: float | None) -> str:
    return "-" if change is None else f"{change:+.1f}%"


def comparison_rows(comparisons: Iterable[Comparison]) -> list[list[str]]:
    """Rows under `COMPARISON_COLUMNS`: the raw change and verdict, the machine-speed factor (current / baseline
    calibration median), the calibrated change, and the deciding p-value and verdict."""
    rows = []
    for c in comparisons:
        uncalibrated = "-" if c.ratio is None else "uncalibrated"
        rows.append([c.name, fmt_seconds(c.baseline_median), fmt_seconds(c.current_median), _pct(c.change_pct),
                     c.raw.verdict, "-" if c.speed_factor is None else f"{c.speed_factor:.3f}",
                     uncalibrated if c.calibrated is None else _pct(c.calibrated.change_pct),
                     "-" if c.p_value is None else f"{c.p_value:.2g}", c.verdict + (" (FAIL)" if c.fails else "")])
    return rows


def latency_rows(run: dict[str, Any]) -> list[list[str]]:
    """Rows under `LATENCY_COLUMNS`, per problem, solver, size and batch: median seconds per call and per network,
    the reference expert's, and the speed-up."""
    benches = run["benchmarks"]

    def where(b: dict[str, Any]) -> tuple:
        return b.get("problem"), b["n"], b["batch"]

    def budget(b: dict[str, Any]) -> int:
        return int((b.get("budget") or ("", 0))[1])

    # an expert timed at several budgets is the reference at its largest (closest to how suites run it)
    experts = {where(b): b for b in sorted(benches.values(), key=budget) if b.get("role") == "expert"}
    rows = []
    order = sorted(benches.values(), key=lambda b: (str(b.get("problem")), b["role"] != "expert", b["component"],
                                                    budget(b), b["n"], b["batch"]))
    for b in order:
        med = float(np.median(b["rounds"]))
        ref = experts.get(where(b))
        ref_med = float(np.median(ref["rounds"])) if ref else None
        speedup = "-" if ref_med is None or b.get("role") == "expert" else f"{ref_med / med:.3g}x"
        rows.append([str(b.get("problem", "")), b["component"] + budget_text(b.get("budget")), str(b["n"]), str(b["batch"]), str(b["samples"]),
                     str(len(b["rounds"])), fmt_seconds(med), fmt_seconds(med / b["batch"]),
                     fmt_seconds(ref_med / b["batch"]) if ref_med is not None else "-", speedup,
                     str(b.get("weights", "")).split(" (")[0]])
    return rows

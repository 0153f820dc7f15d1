"""`wrbench bench`: time sampling latency through pytest-benchmark, save runs and compare them across commits.

The options come from `wrbench.latency.options`; torch and the plugins load
only when the command runs, so `wrbench --help` stays fast. Exit codes: 0 ok,
1 a benchmark failed or regressed, 2 a usage error or nothing to benchmark.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wrbench.core.errors import UsageFailure, warn
from wrbench.latency.options import COMPARE_LAST, LEGACY_STORAGE, click_options, passed_to_pytest, storage_dir


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    table = Table(title=escape(title))
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*map(escape, row))
    return table


def _storage_hint(store: Path) -> str:
    """Where else runs may be: `--storage`, and the folder older versions saved to, when it exists here."""
    hint = "; pass --storage DIR if the runs were saved in another folder"
    legacy = Path(LEGACY_STORAGE).resolve()
    if legacy.is_dir() and legacy != store:
        hint += f" (runs saved by an older wrbench are in {legacy}: --storage {LEGACY_STORAGE})"
    return hint


@click.command("bench")
@click_options
def bench(**values: Any) -> None:
    """Time sampling latency (pytest-benchmark), save runs and compare them across commits."""
    from wrbench.core.machine import fingerprint
    from wrbench.core.plugins import UnknownComponent, load_plugins_for_command
    from wrbench.latency import compare, storage
    from wrbench.latency.cases import discover, provenance
    from wrbench.latency.pytest_run import run_benchmarks
    from wrbench.latency.stats import ALPHA

    registry = load_plugins_for_command(values["plugins"], values["strict_plugins"])
    for record in registry.failures():
        warn(f"plugin '{record.name}' not loaded: {record.error}")
    known = set(registry.names("solver")) | set(registry.names("expert"))
    for name in values["solvers"]:
        if name not in known:
            raise UsageFailure(str(UnknownComponent("solver", name, known)))
    if values["problem"] and not registry.has("problem", values["problem"]):
        raise UsageFailure(str(UnknownComponent("problem", values["problem"], registry.names("problem"))))
    device = values["device"]
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageFailure("--device cuda: CUDA is not available on this machine")
    found = discover(registry, problem=values["problem"], solvers=values["solvers"], sizes=values["sizes"],
                     batches=values["batches"], samples=values["samples"], device=device,
                     include_expert=not values["no_expert"])
    for name, reason in found.skipped:
        click.echo(f"not benchmarked: {name}: {reason}", err=True)
    if not found.cases:
        raise UsageFailure("nothing to benchmark: no registered problem declares bench sizes that a selected "
                              "component supports (see 'not benchmarked' above)")
    if values["list_only"]:
        for case in found.cases:
            click.echo(f"{case.id:<44} {case.role:<7} N={case.n:<5} B={case.batch:<3} S={case.samples}"
                       + (f"  ({case.error})" if case.error else ""))
        return

    out = Console()
    if not out.is_terminal:
        out = Console(width=200)
    store = storage_dir(values["storage"])
    fp = fingerprint(device)
    fp_id = storage.fingerprint_id(fp)
    compare_to, fail_over = values["compare"], values["fail_over"]
    comparing = compare_to is not None or fail_over is not None
    baseline_path = None
    if comparing:
        named = None if compare_to in (None, COMPARE_LAST) else compare_to
        baseline_path, warning = storage.find_baseline(store, fp_id, named)
        if baseline_path is None and named:
            raise UsageFailure(warning + _storage_hint(store))
        if warning:
            warn(warning + ("" if baseline_path else "; save one with --save NAME" + _storage_hint(store)))
    if comparing or values["save"]:
        out.print(f"storage: {store} (machine fingerprint {fp_id})", markup=False, highlight=False)
    settings = passed_to_pytest(values)
    load_start = storage.load_average()
    benchmarks, outcomes = run_benchmarks(settings)
    run_record = storage.make_run(benchmarks, device, settings, name=values["save"], fp=fp,
                                  load={"start": load_start, "end": storage.load_average()},
                                  solvers=provenance(registry, benchmarks.values()))

    problems = [*outcomes.collection_errors, *(f"{k}: {v}" for k, v in outcomes.failed.items())]
    for case_id, reason in outcomes.skipped.items():
        click.echo(f"skipped: {case_id}: {reason}", err=True)
    for line in problems:
        click.echo(f"error: {line}", err=True)
    if not benchmarks:
        if problems:
            sys.exit(1)
        what = "collected" if outcomes.collected_nothing else "timed"
        selection = f" (-k {values['keyword']!r} selected none of {len(found.cases)} cases)" if values["keyword"] else ""
        raise UsageFailure(f"no benchmark {what}{selection}")
    out.print(_table(f"sampling latency (median of rounds) on {fp['cpu']}, {fp['cpu_count']} cores, "
                     f"torch {fp['torch']}, {fp['device']}", compare.LATENCY_COLUMNS, compare.latency_rows(run_record)))

    failed = bool(problems)
    if values["save"]:
        path = storage.save_run(run_record, store, values["save"])
        out.print(f"saved run '{values['save']}' to {path} (fingerprint {fp_id})", markup=False, highlight=False)
    if baseline_path is not None:
        baseline = storage.load_run(baseline_path)
        comparisons, warnings = compare.compare_runs(baseline, run_record, fail_over)
        for warning in warnings:
            warn(warning)
        changed = compare.provenance_changes(baseline, run_record)
        if changed:
            out.print("solver provenance, baseline -> now (plugin distribution version commit):", markup=False,
                      highlight=False)
            for line in changed:
                out.print(f"  {line}", markup=False, highlight=False)
        out.print(_table(f"compared with '{baseline.get('name')}' ({baseline_path}, commit "
                         f"{baseline.get('commit') or '?'}) -> now (commit {run_record.get('commit') or '?'}); machine "
                         "factor: current / baseline calibration-kernel median; verdict: one-sided Mann-Whitney U on "
                         "the calibrated rounds (round / its calibration; raw rounds where uncalibrated), alpha "
                         f"{ALPHA}" + (f", fail over +{fail_over:g}%" if fail_over is not None else ""),
                         compare.COMPARISON_COLUMNS, compare.comparison_rows(comparisons)))
        regressed = [c.name for c in comparisons if c.fails]
        if regressed:
            click.echo(f"regressed by more than {fail_over:g}% (significant): {', '.join(regressed)}", err=True)
            failed = True
    if failed:
        sys.exit(1)

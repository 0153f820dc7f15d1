"""The `wrbench` command line. Exit codes: 0 all ok, 1 some cell failed, 2 usage or suite error."""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np
from rich.console import Console

from . import __version__, hookspecs
from .cache import Cache
from .plugins import PluginError, Registry, describe_component, load_plugins
from .suite import Suite, SuiteError, read_suite

err = Console(stderr=True)


class UsageFailure(click.ClickException):
    """A user error: printed without a traceback, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def plugin_options(fn: Callable) -> Callable:
    """-p/--plugin and --strict-plugins, on every command."""

    @click.option("-p", "--plugin", "plugins", multiple=True, metavar="MODULE",
                  help="Also load the plugin at this import path (repeatable).")
    @click.option("--strict-plugins", is_flag=True, help="Fail if any plugin fails to load.")
    @functools.wraps(fn)
    def wrapper(*args: Any, plugins: tuple[str, ...], strict_plugins: bool, **kwargs: Any) -> Any:
        try:
            registry = load_plugins(plugins, strict=strict_plugins)
        except PluginError as exc:
            raise UsageFailure(str(exc)) from None
        return fn(*args, registry=registry, **kwargs)

    return wrapper


def _warn_failed_plugins(registry: Registry) -> None:
    for record in registry.failures():
        err.print(f"[yellow]warning:[/] plugin '{record.name}' not loaded: {record.error}", highlight=False, markup=True)


def _load_suite(path: str, registry: Registry, overrides: tuple[str, ...]) -> Suite:
    _warn_failed_plugins(registry)
    try:
        return read_suite(path, registry, overrides)
    except SuiteError as exc:
        raise UsageFailure(f"invalid suite ({len(exc.errors)} problem{'s' if len(exc.errors) > 1 else ''}):\n  " + "\n  ".join(exc.errors)) from None


def _outdir(suite: Suite, output: str | None) -> Path:
    return Path(output) if output else Path("results") / suite.name


suite_argument = click.argument("suite", type=click.Path(dir_okay=False))
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
                          help="Override a suite key; VALUE is parsed as YAML (repeatable).")
output_option = click.option("-o", "--output", type=click.Path(file_okay=False),
                             help="Output folder (default: results/<suite name>).")
cache_option = click.option("--cache-dir", type=click.Path(file_okay=False),
                            help="Cache folder for instances, expert samples and models (default: OUTPUT/cache).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wrbench", message=f"%(prog)s %(version)s (plugin API {hookspecs.API_VERSION})")
def cli() -> None:
    """Benchmark generative and classical solvers for wireless resource allocation."""


@cli.command()
@suite_argument
@set_option
@output_option
@cache_option
@click.option("--resume", is_flag=True, help="Keep finished cells of an earlier run in OUTPUT and run the rest.")
@click.option("--save-samples", is_flag=True, help="Write each policy's test samples to OUTPUT/samples/<label>.npz.")
@click.option("--publish", is_flag=True, help="Also copy the leaderboard (Markdown, JSON, plots) to leaderboard/<suite name>/.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where jobs run: one worker process here, or a Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (with --executor dask).")
@click.option("--workers", type=click.IntRange(min=1), help="Start a local Dask cluster of N workers (with --executor dask).")
@plugin_options
def run(suite: str, overrides, output, cache_dir, resume, save_samples, publish, quiet, executor, scheduler, workers,
        registry: Registry) -> None:
    """Run SUITE end to end and write its leaderboard."""
    from .runner import run_suite

    spec = _load_suite(suite, registry, overrides)
    outdir = _outdir(spec, output)
    summary = run_suite(spec, registry, outdir, resume=resume, save_samples=save_samples, quiet=quiet,
                        cache_dir=Path(cache_dir) if cache_dir else None,
                        executor=_executor(executor, scheduler, workers, spec.device))
    _render(outdir, publish, quiet)
    if summary.failed:
        err.print(f"{len(summary.failed)} cell(s) failed; tracebacks under {outdir / 'logs'}", highlight=False)
        sys.exit(1)


def _executor(kind: str, scheduler: str | None, workers: int | None, device: str):
    if kind == "local":
        if scheduler or workers:
            raise UsageFailure("--scheduler and --workers need --executor dask")
        return None
    if scheduler and workers:
        raise UsageFailure("give either --scheduler (an existing cluster) or --workers (a local one), not both")
    from .dask_executor import DaskExecutor

    try:
        return DaskExecutor(scheduler, workers, gpu=device.startswith("cuda"))
    except RuntimeError as exc:
        raise UsageFailure(str(exc)) from None


def _render(outdir: Path, publish: bool, quiet: bool) -> None:
    from . import leaderboard, render

    board = leaderboard.load(outdir)
    files = render.write_all(board, outdir)
    if not quiet:
        render.terminal(board)
        err.print(f"leaderboard written to {outdir}/leaderboard.{{md,html,csv,json}}", highlight=False)
    if publish:
        target = render.publish(outdir, files, Path("leaderboard") / board.title)
        err.print(f"published to {target}", highlight=False)


@cli.command(name="leaderboard")
@click.argument("outdir", type=click.Path(file_okay=False, exists=True))
@click.option("--publish", is_flag=True, help="Also copy it to leaderboard/<suite name>/.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the table.")
@plugin_options
def leaderboard_cmd(outdir: str, publish: bool, quiet: bool, registry: Registry) -> None:
    """Re-render the leaderboard of OUTDIR from its stored results (no plugin code is needed)."""
    try:
        _render(Path(outdir), publish, quiet)
    except FileNotFoundError as exc:
        raise UsageFailure(str(exc)) from None


@cli.command()
@suite_argument
@set_option
@output_option
@plugin_options
def collect(suite: str, overrides, output, registry: Registry) -> None:
    """List the cells SUITE would run and which are already done in OUTPUT."""
    from .results import ResultStore
    from .work import plan

    spec = _load_suite(suite, registry, overrides)
    outdir = _outdir(spec, output)
    finished = ResultStore(outdir).finished()
    click.echo(f"suite {spec.name}: {spec.repetitions} repetition(s), splits {', '.join(s.name for s in spec.splits)}")
    for job in plan(spec):
        done = finished.get(job.id)
        state = f"done ({done['status']})" if done and done.get("key") == job.key else "to run"
        name = spec.expert.name if job.kind == "expert" else spec.solver(job.label).name
        click.echo(f"  {job.id:<32} {job.kind:<6} {name:<20} {state}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@plugin_options
def plugins(as_json: bool, registry: Registry) -> None:
    """List plugins, their distributions, versions, components and load status."""
    records = [r.as_dict() for r in registry.records]
    if as_json:
        components = {kind: [describe_component(cls) for _, cls in sorted(by_name.items())]
                      for kind, by_name in registry.components.items()}
        click.echo(json.dumps({"api_version": hookspecs.API_VERSION, "plugins": records, "components": components}, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"wrbench {__version__} plugins (API {hookspecs.API_VERSION})")
    for col in ("plugin", "distribution", "version", "status", "components"):
        table.add_column(col, overflow="fold")
    for r in registry.records:
        comps = ", ".join(f"{c['kind']}:{c['name']}" for c in r.components)
        status = "[green]loaded[/]" if r.status == "loaded" else f"[red]failed[/]: {r.error}"
        table.add_row(r.name, r.distribution or "-", r.version or "-", status, comps)
    Console().print(table)


@cli.command()
@suite_argument
@click.option("--split", default="test", show_default=True, help="Split to export (train, test or a named test split).")
@click.option("--rep", default=0, show_default=True, type=click.IntRange(min=0), help="Repetition whose instances to export.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="Target .npz file.")
@set_option
@plugin_options
def export(suite: str, split: str, rep: int, output: str, overrides, registry: Registry) -> None:
    """Write a split's instances to an .npz that a suite can load back as `instances: FILE`."""
    from .work import Workbench

    spec = _load_suite(suite, registry, overrides)
    splits = {s.name: s for s in spec.splits}
    if split not in splits:
        raise UsageFailure(f"suite {spec.name} has no split '{split}' (splits: {', '.join(splits)})")
    if rep >= spec.repetitions:
        raise UsageFailure(f"--rep {rep}: the suite has {spec.repetitions} repetition(s)")
    bench = Workbench(spec, registry, Path("."), Cache(_outdir(spec, None) / "cache"))
    instances = bench.instances(rep, splits[split])
    arrays = bench.problem(splits[split]).export_instances(instances)
    np.savez(output, **arrays)
    click.echo(f"wrote {len(instances)} instances ({', '.join(f'{k} {v.shape}' for k, v in arrays.items())}) to {output}")


def main() -> None:
    cli(prog_name="wrbench")


if __name__ == "__main__":
    main()

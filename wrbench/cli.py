"""The `wrbench` command line. Exit codes: 0 all ok, 1 some cell failed, 2 usage or suite error."""
from __future__ import annotations

import contextlib
import functools
import json
import shlex
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from rich.console import Console
from rich.markup import escape

from wrbench import __version__
from wrbench.core import hookspecs
from wrbench.core.errors import UsageFailure
from wrbench.core.lock import FolderLocked

if TYPE_CHECKING:  # torch and the plugins load when a command needs them, so `--help` and typos answer fast
    from wrbench.core.plugins import Registry
    from wrbench.run.suite import Suite

err = Console(stderr=True)


def _note(text: str) -> None:
    """Print `text` to stderr as is: paths and names may hold rich markup characters."""
    err.print(text, markup=False, highlight=False)


def _warn(text: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)


def plugin_options(fn: Callable) -> Callable:
    """-p/--plugin and --strict-plugins, on every command."""

    @click.option("-p", "--plugin", "plugins", multiple=True, metavar="MODULE",
                  help="Also load the plugin at this import path (repeatable).")
    @click.option("--strict-plugins", is_flag=True, help="Fail if any plugin fails to load.")
    @functools.wraps(fn)
    def wrapper(*args: Any, plugins: tuple[str, ...], strict_plugins: bool, **kwargs: Any) -> Any:
        from wrbench.core.plugins import load_plugins_for_command

        return fn(*args, registry=load_plugins_for_command(plugins, strict_plugins), **kwargs)

    return wrapper


def _warn_failed_plugins(registry: Registry) -> None:
    for record in registry.failures():
        _warn(f"plugin '{record.name}' not loaded: {record.error}")


def _load_suite(path: str, registry: Registry, overrides: tuple[str, ...], check_device: bool = True) -> Suite:
    """The validated suite, or exit 2 listing every problem; `check_device=False` only warns about a missing GPU."""
    from wrbench.run.suite import SuiteError, device_unavailable, read_suite

    _warn_failed_plugins(registry)
    try:
        suite = read_suite(path, registry, overrides, check_device=check_device)
    except SuiteError as exc:
        raise UsageFailure(f"invalid suite ({len(exc.errors)} problem{'s' if len(exc.errors) > 1 else ''}):\n  " + "\n  ".join(exc.errors)) from None
    reason = None if check_device else device_unavailable(suite.device)
    if reason:
        click.echo(f"warning: {reason}; `wrbench run` will refuse this suite here", err=True)
    return suite


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
@click.option("--publish", is_flag=True, help="Also merge its rows into the board leaderboard/<suite name>/ (as `wrbench publish`).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where jobs run: one worker process here, or a Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (with --executor dask).")
@click.option("--workers", type=click.IntRange(min=1), help="Start a local Dask cluster of N workers (with --executor dask).")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads per worker process (default: torch's choice).")
@plugin_options
def run(suite: str, overrides, output, cache_dir, resume, save_samples, publish, quiet, executor, scheduler, workers,
        threads, registry: Registry) -> None:
    """Run SUITE end to end and write its leaderboard."""
    from wrbench.run.loop import run_suite

    spec = _load_suite(suite, registry, overrides)
    outdir = _outdir(spec, output)
    try:
        with _sigterm_as_interrupt():
            summary = run_suite(spec, registry, outdir, resume=resume, save_samples=save_samples, quiet=quiet,
                                cache_dir=Path(cache_dir) if cache_dir else None,
                                executor=_executor(executor, scheduler, workers, spec.device), threads=threads)
    except FolderLocked as exc:
        raise UsageFailure(str(exc)) from None
    except KeyboardInterrupt as exc:
        _note(f"interrupted: finished cells are kept in {outdir}; continue with "
              f"`{_resume_command(click.get_current_context())}`")
        sys.exit(143 if isinstance(exc, Terminated) else 130)
    _render(outdir, publish, quiet)
    if summary.failed:
        _note(f"{len(summary.failed)} cell(s) failed; tracebacks under {outdir / 'logs'}")
        sys.exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the workers are killed and finished cells are kept."""


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into `Terminated`, so the harness kills its workers before it exits."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers live on the main thread
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _resume_command(ctx: click.Context) -> str:
    """This `wrbench run` command line with every argument and option given, plus --resume, shell-quoted."""
    words = ["wrbench", ctx.info_name or "run"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name == "resume" or value is None or value is False or value == () or value == param.default:
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
            continue
        flag = max(param.opts, key=len)
        if param.is_flag:
            words.append(flag)
        else:
            words += [item for v in (value if param.multiple else (value,)) for item in (flag, str(v))]
    return shlex.join([*words, "--resume"])


def _executor(kind: str, scheduler: str | None, workers: int | None, device: str):
    if kind == "local":
        if scheduler or workers:
            raise UsageFailure("--scheduler and --workers need --executor dask")
        return None
    if scheduler and workers:
        raise UsageFailure("give either --scheduler (an existing cluster) or --workers (a local one), not both")
    from wrbench.run.dask_executor import DaskExecutor

    try:
        return DaskExecutor(scheduler, workers, gpu=device.startswith("cuda"))
    except RuntimeError as exc:
        raise UsageFailure(str(exc)) from None


def _render(outdir: Path, publish: bool, quiet: bool) -> None:
    from wrbench.report import leaderboard, render

    board = leaderboard.load(outdir)
    render.write_all(board, outdir)
    if not quiet:
        render.terminal(board)
        _note(f"leaderboard written to {outdir}/leaderboard.{{md,html,csv,json}}")
    if publish:
        _publish(outdir, None, replace=False)


def _publish(outdir: Path, board: str | None, replace: bool) -> None:
    """Merge OUTDIR's rows into the board; exit 2 with every reason when they do not belong there."""
    from wrbench.report.evidence import BoardMismatch
    from wrbench.report.publish import default_board, publish

    target = Path(board) if board else default_board(outdir)
    try:
        done = publish(outdir, target, replace=replace)
    except (BoardMismatch, FolderLocked) as exc:
        raise UsageFailure(str(exc)) from None
    changes = [f"added {', '.join(done.added)}" if done.added else "",
               f"replaced {', '.join(done.replaced)}" if done.replaced else "",
               f"kept {len(done.kept)} other row(s)" if done.kept else ""]
    _note(f"published to {done.board}: " + "; ".join(c for c in changes if c))


@cli.command(name="leaderboard")
@click.argument("outdir", type=click.Path(file_okay=False, exists=True))
@click.option("--publish", is_flag=True, help="Also merge its rows into leaderboard/<suite name>/ (as `wrbench publish`).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the table.")
@plugin_options
def leaderboard_cmd(outdir: str, publish: bool, quiet: bool, registry: Registry) -> None:
    """Re-render the leaderboard of OUTDIR from its stored results (no plugin code is needed)."""
    try:
        _render(Path(outdir), publish, quiet)
    except FileNotFoundError as exc:
        raise UsageFailure(str(exc)) from None


@cli.command(name="publish")
@click.argument("outdir", type=click.Path(file_okay=False, exists=True))
@click.option("--board", type=click.Path(file_okay=False), help="Board folder (default: leaderboard/<suite name>).")
@click.option("--replace", is_flag=True, help="Start the board afresh from OUTDIR, dropping its other rows (maintainers).")
@plugin_options
def publish_cmd(outdir: str, board: str | None, replace: bool, registry: Registry) -> None:
    """Merge OUTDIR's solver rows into a published board, keeping every other row; refuse (exit 2) a run
    scored on other networks, evaluation draws or repetitions."""
    try:
        _publish(Path(outdir), board, replace)
    except FileNotFoundError as exc:
        raise UsageFailure(str(exc)) from None


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, exists=True))
@click.option("--against", "board", required=True, type=click.Path(file_okay=False, exists=True),
              help="A board folder (leaderboard/<suite>) or another run's output folder.")
@click.option("--row", "rows", multiple=True, metavar="LABEL", help="OUTDIR's row to compare (repeatable; default: its solvers).")
@click.option("--vs", "against", multiple=True, metavar="LABEL",
              help="Board row to compare with (repeatable; default: the row of the same label and the expert).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Metric to compare (repeatable; default: the board's objective, constraint and headline metrics).")
@click.option("--json", "as_json", type=click.Path(dir_okay=False), metavar="FILE", help="Also write the differences as JSON ('-': stdout only).")
@plugin_options
def compare(outdir: str, board: str, rows, against, metrics, as_json: str | None, registry: Registry) -> None:
    """Paired per-network differences (run minus board) with 95 % intervals for the headline metrics."""
    from wrbench.report.compare import compare as paired
    from wrbench.report.evidence import BoardMismatch

    try:
        differences = paired(outdir, board, rows, against, metrics)
    except (BoardMismatch, ValueError, FileNotFoundError) as exc:
        raise UsageFailure(str(exc)) from None
    if as_json:
        text = json.dumps([d.as_dict() for d in differences], indent=1)
        if as_json == "-":
            click.echo(text)
            return
        Path(as_json).write_text(text)
    from rich.table import Table

    table = Table(title=escape(f"{outdir} minus {board}: paired over the same networks"),
                  caption="* the 95 % interval excludes 0", caption_justify="left")
    for col in ("row", "against", "split", "metric", "better", "networks", "difference [95 % interval]"):
        table.add_column(col)
    for d in differences:
        table.add_row(escape(d.row), escape(d.against), escape(d.split), escape(d.metric), d.better, str(d.networks),
                      f"{d.diff:+.4g} [{d.low:+.4g}, {d.high:+.4g}]{' *' if d.significant else ''}")
    Console(width=None if Console().is_terminal else 160).print(table)
    if not differences:
        _note("no paired values: the rows share no repetition with per-network metrics")


@cli.command()
@click.argument("boards", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--output", default="site", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the site to.")
@plugin_options
def site(boards: str, output: str, registry: Registry) -> None:
    """Write a static, offline HTML site of the boards under BOARDS (e.g. leaderboard/): an index and a page per suite."""
    from wrbench.report.site import build_site

    try:
        pages = build_site(boards, output)
    except FileNotFoundError as exc:
        raise UsageFailure(str(exc)) from None
    _note(f"wrote {len(pages)} pages to {output}/ (open {Path(output) / 'index.html'})")


@cli.command()
@suite_argument
@set_option
@output_option
@plugin_options
def collect(suite: str, overrides, output, registry: Registry) -> None:
    """List the cells SUITE would run and which are already done in OUTPUT."""
    from wrbench.run.plan import EXPERT, plan
    from wrbench.run.store import ResultStore

    spec = _load_suite(suite, registry, overrides, check_device=False)
    outdir = _outdir(spec, output)
    finished = ResultStore(outdir).finished()
    click.echo(f"suite {spec.name}: {spec.repetitions} repetition(s), splits {', '.join(s.name for s in spec.splits)}")
    for job in plan(spec, registry):
        done = finished.get(job.id)
        state = f"done ({done.status})" if done and done.key == job.key else "to run"
        name = spec.expert.name if job.kind == EXPERT else spec.solver(job.entry).name
        click.echo(f"  {job.id:<32} {job.kind:<6} {name:<20} {state}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@plugin_options
def plugins(as_json: bool, registry: Registry) -> None:
    """List plugins, their distributions, versions, components and load status."""
    from wrbench.core.plugins import describe_component

    records = [r.as_dict() for r in registry.records]
    if as_json:
        components = {kind: [{**describe_component(cls), "plugin": registry.owners[cls]}
                             for name in registry.names(kind) for cls in registry.variants(kind, name)]
                      for kind in registry.components}
        click.echo(json.dumps({"api_version": hookspecs.API_VERSION, "plugins": records, "components": components}, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"wrbench {__version__} plugins (API {hookspecs.API_VERSION})")
    for col in ("plugin", "distribution", "version", "status", "components"):
        table.add_column(col, overflow="fold")
    for r in registry.records:
        comps = ", ".join(_component_label(registry, c) for c in r.components)
        status = "[green]loaded[/]" if r.status == "loaded" else f"[red]failed[/]: {escape(str(r.error))}"
        table.add_row(escape(r.name), escape(r.distribution or "-"), escape(r.version or "-"), status, escape(comps))
    Console().print(table)


def _component_label(registry: Registry, component: dict[str, Any]) -> str:
    """kind:name, plus the problems this variant serves where the name has one variant per problem."""
    label = f"{component['kind']}:{component['name']}"
    if len(registry.variants(component["kind"], component["name"])) > 1:
        label += f" ({', '.join(component['problems'])})"
    return label


@cli.command()
@click.argument("name")
@click.option("--kind", type=click.Choice(("problem", "expert", "solver")), help="Only components of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@plugin_options
def describe(name: str, kind: str | None, as_json: bool, registry: Registry) -> None:
    """Show a component's parameters (type, default, range, help), capabilities, views and origin."""
    from wrbench.devkit.describe import descriptions, print_description

    found = descriptions(registry, name, kind)
    if as_json:
        click.echo(json.dumps(found, indent=2, default=str))
        return
    console = Console(width=None if Console().is_terminal else 160)
    for description in found:
        print_description(description, console)


@cli.command()
@suite_argument
@click.option("--split", default="test", show_default=True, help="Split to export (train, test or a named test split).")
@click.option("--rep", default=0, show_default=True, type=click.IntRange(min=0), help="Repetition whose instances to export.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Target .npz file (its folder is created if missing).")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Cache folder to read the instances from or fill, e.g. a run's OUTPUT/cache "
                   "(default: a temporary folder, removed afterwards).")
@set_option
@plugin_options
def export(suite: str, split: str, rep: int, output: str, cache_dir: str | None, overrides, registry: Registry) -> None:
    """Write a split's instances to an .npz that a suite can load back as `instances: FILE`."""
    import numpy as np

    from wrbench.run.cache import Cache
    from wrbench.run.stages import Workbench

    spec = _load_suite(suite, registry, overrides)
    splits = {s.name: s for s in spec.splits}
    if split not in splits:
        raise UsageFailure(f"suite {spec.name} has no split '{split}' (splits: {', '.join(splits)})")
    if rep >= spec.repetitions:
        raise UsageFailure(f"--rep {rep}: the suite has {spec.repetitions} repetition(s)")
    # instances derive from the seed alone: a throwaway cache leaves nothing behind in the current folder
    with contextlib.nullcontext(cache_dir) if cache_dir else tempfile.TemporaryDirectory(prefix="wrbench-export-") as cache:
        bench = Workbench(spec, registry, Path("."), Cache(cache))
        instances = bench.instances(rep, splits[split])
        arrays = bench.problem(splits[split]).export_instances(instances)
    try:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        np.savez(output, **arrays)
    except OSError as exc:
        raise UsageFailure(f"-o {output}: cannot write the file ({exc.strerror or exc})") from None
    click.echo(f"wrote {len(instances)} instances ({', '.join(f'{k} {v.shape}' for k, v in arrays.items())}) to {output}")


@cli.command(name="new-plugin")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(), metavar="DIR",
              help="Folder to write the package to (default: ./wrbench-NAME); must not exist or be empty.")
def new_plugin(name: str, directory: str | None) -> None:
    """Write a pip-installable solver plugin package for solver NAME, with conformance tests."""
    from wrbench.devkit.scaffold import ScaffoldError, names_for, write_plugin

    try:
        root, files = write_plugin(name, directory)
    except ScaffoldError as exc:
        raise UsageFailure(str(exc)) from None
    for path in files:
        click.echo(f"  wrote {path}")
    names = names_for(name)
    click.echo(f"\nplugin package written to {root}. Next:\n"
               f"  pip install -e {root}\n"
               f"  pytest {root}\n"
               f"  wrbench plugins\n"
               f"  wrbench run SUITE --set 'solvers=[{{name: {names.solver}}}]'\n"
               f"(or, without installing: wrbench run -p {names.module} SUITE ... from {root})")


from wrbench.latency.command import bench  # noqa: E402 - imports neither torch nor the plugins

cli.add_command(bench)


def main() -> None:
    cli(prog_name="wrbench")


if __name__ == "__main__":
    main()

"""The options of the latency benchmarks, declared once.

`wrbench bench` (click), `pytest benchmarks/` (pytest options, each with an
environment variable `WRBENCH_BENCH_<DEST>`, lists comma-separated) and the
argv that `wrbench bench` passes to pytest are all derived from `OPTIONS`, so
an option cannot exist in one place and be missing in another. This module
imports only click: building the command line must not import torch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import click

STORAGE_ENV = "WRBENCH_BENCH_STORAGE"
LEGACY_STORAGE = ".benchmarks/wrbench"  # the default before runs were kept per user: relative to the cwd
COMPARE_LAST = "@last"  # `--compare` without a run: the last run saved on this machine fingerprint


@dataclass(frozen=True)
class BenchOption:
    """One option: its click flags, and how pytest receives it (`pytest_flag`, None: the command's own).

    `declared_by_pytest`: pytest already has the flag (`-k`), so the benchmarks' conftest does not add it.
    """

    dest: str
    flags: tuple[str, ...]
    help: str
    type: type = str
    default: Any = None
    multiple: bool = False
    is_flag: bool = False
    min: float | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    pytest_flag: str | None = None
    declared_by_pytest: bool = False
    flag_value: str | None = None

    @property
    def pytest_dest(self) -> str:
        """The attribute of pytest's `config.option` (prefixed: pytest's own `-p` is `plugins`)."""
        return self.dest if self.declared_by_pytest else f"wrbench_{self.dest}"

    @property
    def env(self) -> str:
        return f"WRBENCH_BENCH_{self.dest.upper()}"

    def click_type(self) -> Any:
        if self.choices:
            return click.Choice(self.choices)
        if self.min is not None:
            return (click.IntRange if self.type is int else click.FloatRange)(min=self.min)
        return self.type

    def click_option(self) -> Callable:
        kwargs: dict[str, Any] = {"help": self.help, "metavar": self.metavar}
        if self.is_flag:
            kwargs["is_flag"] = True
        else:
            kwargs.update(type=self.click_type(), multiple=self.multiple, default=self.default,
                          show_default=self.default not in (None, ()))
        if self.flag_value is not None:
            kwargs.update(is_flag=False, flag_value=self.flag_value, show_default=False)
        return click.option(*self.flags, self.dest, **kwargs)

    def parse_env(self, text: str) -> Any:
        if self.is_flag:
            return text.strip().lower() in ("1", "true", "yes", "on")
        if self.multiple:
            return tuple(self.type(v.strip()) for v in text.split(",") if v.strip())
        return self.type(text)

    def argv(self, value: Any) -> list[str]:
        """The pytest arguments that carry `value` (none for the default of a flag or an empty list)."""
        if self.is_flag:
            return [self.pytest_flag] if value else []
        if self.multiple:
            return [a for v in value for a in (self.pytest_flag, str(v))]
        return [] if value is None else [self.pytest_flag, str(value)]


OPTIONS: tuple[BenchOption, ...] = (
    # passed on to pytest
    BenchOption("problem", ("--problem",), "Benchmark only this problem. Default: every registered problem that "
                "declares bench sizes.", metavar="NAME", pytest_flag="--problem"),
    BenchOption("solvers", ("--solver",), "Benchmark only this solver (repeatable). Default: every registered solver "
                "that supports the problem.", multiple=True, metavar="NAME", pytest_flag="--solver"),
    BenchOption("sizes", ("--size",), "Size N, the value of the problem's size parameter (repeatable). Default: the "
                "sizes the problem declares for the device.", int, (), multiple=True, min=1, metavar="N",
                pytest_flag="--size"),
    BenchOption("batches", ("--batch",), "Networks per sample() call (repeatable).", int, (1, 8), multiple=True,
                min=1, metavar="B", pytest_flag="--batch"),
    BenchOption("samples", ("--samples",), "Samples S per network.", int, 50, min=1, metavar="S",
                pytest_flag="--samples"),
    BenchOption("device", ("--device",), "Device to sample on.", str, "cpu", choices=("cpu", "cuda"),
                pytest_flag="--device"),
    BenchOption("no_expert", ("--no-expert",), "Do not time the problem's reference expert.", is_flag=True,
                pytest_flag="--no-expert"),
    BenchOption("max_time", ("--max-time",), "Seconds of timed rounds to aim for per benchmark.", float, 2.0, min=0,
                pytest_flag="--max-time"),
    BenchOption("min_rounds", ("--min-rounds",), "Fewest timed rounds per benchmark (p < 0.01 needs at least 5 on "
                "each side).", int, 5, min=1, pytest_flag="--min-rounds"),
    BenchOption("max_rounds", ("--max-rounds",), "Most timed rounds per benchmark.", int, 50, min=1,
                pytest_flag="--max-rounds"),
    BenchOption("threads", ("--threads",), "torch.set_num_threads(T) while benchmarking (0: torch's own). Compare "
                "runs with the same T; on a shared machine a T below the free cores avoids oversubscribed OpenMP "
                "threads.", int, 0, min=0, metavar="T", pytest_flag="--threads"),
    BenchOption("plugins", ("-p", "--plugin"), "Also load the plugin at this import path (repeatable).",
                multiple=True, metavar="MODULE", pytest_flag="--wrbench-plugin"),
    BenchOption("strict_plugins", ("--strict-plugins",), "Fail if any plugin fails to load.", is_flag=True,
                pytest_flag="--wrbench-strict-plugins"),
    BenchOption("keyword", ("-k",), "Run only the benchmarks whose id matches this pytest -k expression.",
                metavar="EXPRESSION", pytest_flag="-k", declared_by_pytest=True),
    # the command's own
    BenchOption("save", ("--save",), "Save this run as NAME (raw rounds included).", metavar="NAME"),
    BenchOption("compare", ("--compare",), "Compare with the saved run RUN (a name or a .json file); without RUN, "
                "the last run saved on this machine fingerprint.", metavar="[RUN]", flag_value=COMPARE_LAST),
    BenchOption("fail_over", ("--fail-over",), "Exit 1 if a latency got more than PCT % slower and the rounds "
                "differ significantly (one-sided Mann-Whitney U, p < 0.01), both on rounds calibrated for the "
                "machine's speed (raw rounds for runs saved without calibration). Implies --compare.", float,
                min=0, metavar="PCT"),
    BenchOption("storage", ("--storage",), "Folder of saved runs, one subfolder per machine fingerprint. Default: "
                f"${STORAGE_ENV}, else $XDG_DATA_HOME/wrbench/bench, else ~/.local/share/wrbench/bench.",
                metavar="DIR"),
    BenchOption("list_only", ("--list",), "List the benchmarks and what is not benchmarked, run nothing.",
                is_flag=True),
)
PYTEST_OPTIONS = tuple(o for o in OPTIONS if o.pytest_flag)


def default_storage(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of saved runs when `--storage` is not given, the same from any working directory:
    `$WRBENCH_BENCH_STORAGE`, else `$XDG_DATA_HOME/wrbench/bench` (an absolute XDG_DATA_HOME only, as the XDG
    spec asks), else `~/.local/share/wrbench/bench`."""
    if environ.get(STORAGE_ENV, "").strip():
        return Path(environ[STORAGE_ENV].strip()).expanduser()
    xdg = Path(environ.get("XDG_DATA_HOME", "").strip()).expanduser()
    base = xdg if xdg.is_absolute() else Path.home() / ".local" / "share"
    return base / "wrbench" / "bench"


def storage_dir(given: str | Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of saved runs: `--storage DIR` if given, else `default_storage`, as an absolute path."""
    return (Path(given).expanduser() if given else default_storage(environ)).resolve()


DEFAULTS: dict[str, Any] = {o.dest: o.default for o in OPTIONS}


def click_options(fn: Callable) -> Callable:
    """Decorate a click command with every option, in declaration order."""
    for option in reversed(OPTIONS):
        fn = option.click_option()(fn)
    return fn


def add_pytest_options(parser: Any) -> None:
    """Add the options pytest passes on to its `pytest_addoption` parser (group `wrbench`)."""
    group = parser.getgroup("wrbench", "wrbench latency benchmarks")
    for o in PYTEST_OPTIONS:
        if o.declared_by_pytest:
            continue
        action = "store_true" if o.is_flag else "append" if o.multiple else "store"
        kwargs: dict[str, Any] = {"action": action, "dest": o.pytest_dest, "default": None,
                                  "help": f"{o.help} Env {o.env}."}
        if not o.is_flag:
            kwargs.update(type=o.type, metavar=o.metavar, choices=o.choices)
        group.addoption(o.pytest_flag, **kwargs)


def settings_from_pytest(getoption: Callable[[str], Any], environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings of a pytest run: each option as given, else its environment variable (not for pytest's own
    flags: pytest has read them already), else its default."""
    settings = {}
    for o in PYTEST_OPTIONS:
        value = getoption(o.pytest_dest)
        if value in (None, [], False) and not o.declared_by_pytest and environ.get(o.env, "").strip():
            value = o.parse_env(environ[o.env])
        if value in (None, [], ()):
            value = o.default
        settings[o.dest] = tuple(value or ()) if o.multiple else bool(value) if o.is_flag else value
    return settings


def pytest_argv(settings: Mapping[str, Any]) -> list[str]:
    """The pytest arguments that carry `settings` (keys: the dests of the options passed on)."""
    return [a for o in PYTEST_OPTIONS if o.dest in settings for a in o.argv(settings[o.dest])]


def passed_to_pytest(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings passed on to pytest, from all the command's values."""
    return {o.dest: values[o.dest] for o in PYTEST_OPTIONS}

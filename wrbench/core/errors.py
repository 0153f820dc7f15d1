"""Errors and warnings as users see them: one-line exception descriptions, warnings, the usage error (exit 2)."""
from __future__ import annotations

import sys
from typing import Any

import click


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`, even when the exception's own __str__ raises."""
    try:
        text = str(exc).strip().splitlines()
    except BaseException as broken:  # noqa: BLE001 - a plugin's exception class may be broken in any way
        text = [f"<unprintable: its __str__ raised {type(broken).__name__}>"]
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def warn(message: str) -> None:
    """One line on stderr: for what the harness notices outside the progress display's control."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


class UsageFailure(click.ClickException):
    """A user error (bad input, nothing to do): one `error:` line on stderr, no traceback, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)

"""Run display: a rich progress bar on a terminal, one line per job otherwise, nothing with -q."""
from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from wrbench.run.plan import Job
from wrbench.run.record import JobRecord

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "error": "red", "timeout": "red", "invalid": "magenta"}


class Display:
    def __init__(self, total: int, quiet: bool = False, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.live = not quiet and self.console.is_terminal
        self.total = total
        self.count = 0
        self._started = 0.0
        self._progress: Progress | None = None

    def __enter__(self) -> "Display":
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._overall = self._progress.add_task("suite", total=self.total, detail="")
            self._stage = self._progress.add_task("", total=None, detail="", visible=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, job: Job) -> None:
        self._started = time.monotonic()
        if self._progress is not None:
            self._progress.update(self._stage, description=escape(job.id), completed=0, total=None, detail="", visible=True)

    def progress(self, job_id: str, stage: str, done: float, total: float | None, info: dict[str, Any]) -> None:
        if self._progress is None:
            return
        detail = " ".join(f"{k}={_fmt(v)}" for k, v in info.items())
        # the columns render markup: labels, stages and plugin-reported details are user text
        self._progress.update(self._stage, description=escape(f"{job_id} {stage}"), completed=done, total=total,
                              detail=escape(detail))

    def reused(self, job: Job) -> None:
        self._advance(job, "done earlier", "dim")

    def finish(self, job: Job, record: JobRecord) -> None:
        status, message = record.status, record.message
        text = f"{status} in {time.monotonic() - self._started:.1f}s" + (f": {message}" if message else "")
        self._advance(job, text, STATUS_STYLE.get(status, "white"))

    def _advance(self, job: Job, text: str, style: str) -> None:
        self.count += 1
        if self.quiet:
            return
        line = f"[{self.count}/{self.total}] {job.id}: {text}"
        if self._progress is not None:
            self._progress.console.print(f"[{style}]{escape(line)}[/]", markup=True, highlight=False)
            self._progress.advance(self._overall)
        else:
            print(line, file=sys.stderr, flush=True)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

"""One run at a time per output folder: an exclusive lock on OUT/.lock.

The lock is an advisory `flock` on the file, which the kernel drops when its
holder dies (kill -9 included), so a crashed run never blocks the next one.
The file also names its holder (PID and host) for the error message; a file
left by a run that died is taken over with a warning. Reading a folder
(`wrbench leaderboard`, `collect`) takes no lock.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

from wrbench.core.errors import warn as _warn

LOCK_FILE = ".lock"


class FolderLocked(RuntimeError):
    """Another live process is running into the same output folder."""


@contextlib.contextmanager
def folder_lock(outdir: Path, warn: Callable[[str], None] = _warn) -> Iterator[None]:
    """Hold OUT/.lock for the duration; raise FolderLocked naming the holder if another process has it."""
    path = Path(outdir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderLocked(f"{outdir} is in use by another run ({_describe(_read(fd))}); "
                               "wait for it to end or choose another output folder (-o)") from None
        previous = _read(fd)
        if previous:
            warn(f"{outdir}: taking over the lock left by {_describe(previous)}, which ended without releasing it")
        _write(fd, {"pid": os.getpid(), "host": socket.gethostname()})
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _read(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace")
    try:
        holder = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {"pid": "?", "host": "?"}
    return holder if isinstance(holder, dict) else {"pid": "?", "host": "?"}


def _write(fd: int, holder: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(holder).encode())
    os.fsync(fd)


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "a process that is starting"
    return f"PID {holder.get('pid', '?')} on host {holder.get('host', '?')}"

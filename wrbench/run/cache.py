"""On-disk cache for instances, expert samples, reference evaluations and fitted solvers.

Entries are keyed by a hash of everything that produced them and stored with
torch.save; they are read back with `weights_only=True`, so a cache file can
never run code. Writes are atomic (temporary file, then rename) and checked:
an entry that `weights_only` could not read back is not kept. An entry that
cannot be read (truncated, not weights-only) counts as missing, so it is
recomputed and replaced.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from wrbench.core.fsio import atomic_write


def cache_key(*parts: Any) -> str:
    """A short stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes: keys what was read from a file by its content, not its name."""
    stat = os.stat(path)
    return _file_digest(str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, mtime_ns: int, size: int, inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Cache:
    """Entries grouped by kind ("instances", "expert", "reference", "model") under `root`.

    `warnings` collects what went wrong with entries (unreadable, not cacheable) for the job's record.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.warnings: list[str] = []
        self._unreadable: set[Path] = set()

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.pt"

    def load(self, kind: str, key: str) -> Any | None:
        """The entry, or None when it is missing or unreadable (then it is recomputed and replaced)."""
        path = self.path(kind, key)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - truncated file, UnpicklingError, ...: any failure means missing
            if path not in self._unreadable:
                self._unreadable.add(path)
                self.warnings.append(f"cache entry {kind}/{path.name} was unreadable ({_reason(exc)}); recomputed")
            return None

    def save(self, kind: str, key: str, value: Any) -> Path | None:
        """Store `value`; None (and a warning) when it could not be read back with `weights_only=True`."""
        path = self.path(kind, key)
        try:
            with atomic_write(path, ".pt") as (handle, tmp):
                torch.save(value, handle)
                handle.flush()
                torch.load(tmp, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # noqa: BLE001 - e.g. a numpy array in a state_dict
            if path in self._unreadable:  # an older entry nothing can read: drop it rather than fail on it again
                path.unlink(missing_ok=True)
            self.warnings.append(f"not cached: the {kind} entry cannot be stored for torch.load(weights_only=True) ({_reason(exc)})")
            return None
        self._unreadable.discard(path)
        return path

    def drain_warnings(self) -> list[str]:
        """The warnings collected since the last call (one job's worth)."""
        warnings, self.warnings = self.warnings, []
        return warnings


def _reason(exc: BaseException) -> str:
    """The informative line of torch's long load/save errors, e.g. which global weights_only refused."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    refused = [line for line in lines if "Unsupported global" in line]
    text = refused[0].split(" was not ")[0] if refused else (lines[0] if lines else "")
    text = text if len(text) <= 120 else text[:117] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

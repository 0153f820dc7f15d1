"""On-disk cache for instances, expert samples, reference evaluations and fitted solvers.

Entries are keyed by a hash of everything that produced them and stored with
torch.save; they are read back with `weights_only=True`, so a cache file can
never run code. Writes are atomic (temporary file, then rename).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def cache_key(*parts: Any) -> str:
    """A short stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Cache:
    """Entries grouped by kind ("instances", "expert", "reference", "model") under `root`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.pt"

    def has(self, kind: str, key: str) -> bool:
        return self.path(kind, key).exists()

    def load(self, kind: str, key: str) -> Any | None:
        path = self.path(kind, key)
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def save(self, kind: str, key: str, value: Any) -> Path:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pt")
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(value, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

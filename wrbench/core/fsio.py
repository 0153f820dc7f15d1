"""Atomic file writes: a reader sees the old file or the new one, never a half-written one."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | Path, suffix: str = "") -> Iterator[tuple[IO[bytes], Path]]:
    """Yield (binary handle, temporary path) beside `path`; renamed onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def json_default(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_json(path: str | Path, data: Any, indent: int = 2, sort_keys: bool = False) -> None:
    """Write JSON atomically."""
    with atomic_write(path, ".json") as (handle, _):
        handle.write(json.dumps(data, indent=indent, sort_keys=sort_keys, default=json_default).encode())


MAX_NAME_BYTES = 100  # a file name stem, leaving room for .rep<r>.<split>.npz under the usual 255


def safe_name(label: str) -> str:
    """A label made safe to use as a file name; a long one is cut and told apart by a hash (ENAMETOOLONG)."""
    name = "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in label)
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    head = name.encode()[:MAX_NAME_BYTES - 11].decode("utf-8", "ignore")
    return f"{head}-{hashlib.sha256(label.encode()).hexdigest()[:10]}"


def artifact_name(label: str, rep: int, split: str | None = None) -> str:
    """`<label>[.rep<r>][.<split>]`: the stem of a job's files under dists/ and samples/."""
    stem = safe_name(label) + ("" if rep == 0 else f".rep{rep}")
    return stem if split is None else f"{stem}.{split}"

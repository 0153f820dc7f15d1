"""Property test: mutated bundled suites are either listed (exit 0) or refused with `FILE:LINE: key: message`
lines (exit 2), never a traceback, whatever the mutation (types, NaN/inf/huge numbers, keys dropped, added or
renamed, lists for mappings, nulls, junk, broken YAML text).

The default run tries a few dozen examples. The long run, a thousand, is deselected by default:

    OMP_NUM_THREADS=1 python -m pytest -q -m fuzz_long tests/test_suite_fuzz.py
"""
from __future__ import annotations

import contextlib
import copy
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wrbench.cli import cli

SUITES = sorted((Path(__file__).resolve().parents[1] / "suites").glob("*.yaml"))
BASES = {path.name: yaml.safe_load(path.read_text()) for path in SUITES}
KEYS = ["name", "params", "instances", "test_splits", "sweep", "train", "test", "samples", "label", "solvers", "expert",
        "problem", "evaluation", "timeout", "seed", "repetitions", "device", "rank_by", "param", "values", "plot",
        "n_pairs", "f_min", "density", "gain_low", "gain_high", "budget", "channels", "levels", "T", "T0", "positions"]
NUMBERS = [math.nan, math.inf, -math.inf, -1, 0, -0.0, 0.5, 10**12, 10**30, 1e308, 2**63, 1001, 100000000]
TEXTS = ["", "cuda", "cuda:7", "cpu", "expert", "x.npz", "missing.npz", "x" * 300, "[/]", "a/b", "..", "a\nb", "\x00",
         "violation", "exceed_ratio", "gdm", "primal_dual", "water_filling", "a b"]
SNIPPETS = ["&a", "*a", "*b", "x: &a [1]\ny: *a\n", "<<: *a\n", "\t", ": [", "- ", "? [1]\n", "{", "]", "'", "!!python/object:os.system\n",
            "seed: 1\nseed: 2\n", "\ufeff", "\\"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.sampled_from(NUMBERS),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(TEXTS))
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3)),
                    max_leaves=6)

OUT = Path(tempfile.mkdtemp(prefix="wrbench-fuzz-"))


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path into the nested dicts and lists (the root included)."""
    out = [path]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        out += _paths(child, path + (key,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _mutate(data: Any, draw: Any) -> Any:
    """One structural mutation at a drawn place: replace, delete, add, rename, wrap, unwrap, or a bad number."""
    path = draw(st.sampled_from(_paths(data)))
    action = draw(st.sampled_from(["replace", "number", "delete", "add", "rename", "wrap", "unwrap"]))
    if not path:
        return draw(junk) if action == "replace" else data
    parent, key = _get(data, path[:-1]), path[-1]
    if action == "replace":
        parent[key] = draw(junk)
    elif action == "number":
        parent[key] = draw(st.sampled_from(NUMBERS))
    elif action == "delete":
        del parent[key]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = draw(junk)
    elif action == "add":
        parent.append(draw(junk))
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = parent.pop(key)
    elif action == "wrap":
        parent[key] = [parent[key]]
    elif action == "unwrap" and isinstance(parent[key], list):
        parent[key] = {str(i): v for i, v in enumerate(parent[key])}
    return data


def _text(data: Any, draw: Any) -> bytes:
    """The mutated suite as YAML, sometimes with a snippet of broken or hostile YAML (or a non-UTF-8 byte) inserted."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    edit = draw(st.sampled_from(["none"] * 6 + ["snippet", "byte"]))
    if edit == "none":
        return text.encode()
    at = draw(st.integers(0, len(text)))
    if edit == "byte":
        return text[:at].encode() + b"\xff" + text[at:].encode()
    return (text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]).encode()


def _check(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(BASES)), label="suite")
    suite = copy.deepcopy(BASES[name])
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        suite = _mutate(suite, data.draw)
    path = OUT / "mutated.yaml"
    path.write_bytes(_text(suite, data.draw))
    with contextlib.chdir(OUT):
        result = CliRunner().invoke(cli, ["collect", str(path)], catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert any(line.startswith("suite ") for line in lines), result.output
        return
    assert lines[0].startswith("error: invalid suite ("), result.output
    located = re.compile(rf"^  {re.escape(str(path))}:(\d+): \S")
    assert lines[1:] and all(located.match(line) for line in lines[1:]), result.output


FUZZ = settings(deadline=None, database=None,  # no .hypothesis/ folder in the tree
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(FUZZ, max_examples=30)
@given(st.data())
def test_mutated_bundled_suites_exit_0_or_2_with_located_messages(data: st.DataObject) -> None:
    _check(data)


@pytest.mark.fuzz_long
@settings(FUZZ, max_examples=1000)
@given(st.data())
def test_mutated_bundled_suites_long(data: st.DataObject) -> None:
    _check(data)

"""Issue 21, processes: workers isolated from each other's global state, dying with the harness, one run per
folder, BaseExceptions and prints of plugins kept out of the harness, user text never read as rich markup."""
from __future__ import annotations

import io
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HERE
from rich.console import Console

from wrbench.core.fsio import artifact_name, safe_name
from wrbench.run.executor import _sendable
from wrbench.run.progress import Display
from wrbench.run.plan import Job
from wrbench.run.record import JobRecord

PLUGINS = ("toy_plugin", "faulty_process_plugin")
ENV = {**os.environ, "PYTHONPATH": str(HERE), "WRBENCH_DISABLE_ENTRY_POINTS": "1"}
HANG = [{"name": "toy_bad", "label": "hang", "params": {"mode": "hang"}}]


def records(outdir: Path) -> dict[str, dict]:
    return {r["entry"]: r for r in map(json.loads, (outdir / "results.jsonl").read_text().splitlines())}


def numbers(record: dict) -> dict:
    metrics = record["metrics"]["test"]
    return {k: v for k, v in metrics.items() if "seconds" not in k and k != "speedup"}


# ------------------------------------------------------------------ 7: global state


def test_a_job_starts_from_the_same_global_state_whatever_ran_before(wrbench, write_suite, tmp_path):
    solvers = [{"name": "state_probe", "label": "before"}, {"name": "leak_state"}, {"name": "state_probe", "label": "after"}]
    result = wrbench("run", str(write_suite(repetitions=1, solvers=solvers)), "-o", "out", "-q", plugins=PLUGINS)
    assert result.exit_code == 0, result.output
    got = records(tmp_path / "out")
    assert numbers(got["after"]) == numbers(got["before"])  # same draws from the global RNGs, same dtype
    assert numbers(got["after"])["dtype_bits"] == 32 and numbers(got["after"])["deterministic"] == 0
    assert numbers(got["after"])["threads"] == float(os.environ["OMP_NUM_THREADS"])


# ------------------------------------------------------------------ 8: folder lock


def test_a_run_into_a_folder_another_run_holds_exits_2_naming_its_pid(wrbench, write_suite, tmp_path):
    (tmp_path / "out").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from wrbench.core.lock import folder_lock\n"
                               "with folder_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
         str(tmp_path / "out")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = wrbench("run", str(write_suite(repetitions=1)), "-o", "out", "-q")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"PID {holder.pid} on host {socket.gethostname()}" in result.output
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_warning(wrbench, write_suite, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    result = wrbench("run", str(write_suite(repetitions=1)), "-o", "out", "-q")
    assert result.exit_code == 0, result.output
    assert f"taking over the lock left by PID {dead.pid}" in result.output
    assert records(tmp_path / "out")["toy_half"]["status"] == "ok"
    assert (tmp_path / "out" / ".lock").read_text() == ""  # released


# ------------------------------------------------------------------ 10: workers die with the harness


def _children(pid: int) -> set[int]:
    return {int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie nobody reaps in a container is dead too


def _start_hanging_run(write_suite, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, set[int]]:
    """A harness whose only solver hangs, once the worker is inside that job; with the harness's children."""
    suite = write_suite(repetitions=1, solvers=HANG, timeout=600)
    cmd = [sys.executable, "-m", "wrbench.cli", "run", "-p", "toy_plugin", str(suite), "-o", "out", "-q", *extra]
    harness = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True, start_new_session=True)
    results = tmp_path / "out" / "results.jsonl"
    deadline = time.monotonic() + 120
    while not (results.exists() and results.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the expert's record is out: the worker is now in the hanging job
    children = _children(harness.pid)
    assert children, "the harness should have a worker process"
    return harness, children


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(map(_alive, pids))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_worker_dies_with_a_harness_killed_by_sigkill(write_suite, tmp_path):
    harness, children = _start_hanging_run(write_suite, tmp_path)
    try:
        harness.kill()  # the harness alone, not its process group
        harness.wait()
        assert _gone_within(children, 5), "the worker outlived the harness"
    finally:
        os.killpg(harness.pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_kills_the_worker_and_prints_a_complete_resume_command(write_suite, tmp_path):
    harness, children = _start_hanging_run(write_suite, tmp_path, "--set", "evaluation.samples=3", "--threads", "1")
    try:
        harness.terminate()
        _, stderr = harness.communicate(timeout=30)
        assert _gone_within(children, 5), "the worker outlived the harness"
    finally:
        os.killpg(harness.pid, signal.SIGKILL)
    assert harness.returncode == 143, stderr
    hint = stderr.split("continue with `", 1)[1].split("`", 1)[0]
    assert shlex.split(hint) == ["wrbench", "run", str(tmp_path / "suite.yaml"), "--set", "evaluation.samples=3",
                                 "--output", "out", "--quiet", "--threads", "1", "--plugin", "toy_plugin", "--resume"]
    assert records(tmp_path / "out")["expert"]["status"] == "ok"  # finished cells are kept


# ------------------------------------------------------------------ 12: unpicklable records


def test_unpicklable_diagnostics_fail_the_cell_at_once_not_after_the_timeout(wrbench, write_suite, tmp_path):
    solvers = [{"name": "bad_diagnostics"}, {"name": "toy_half"}]
    start = time.monotonic()
    result = wrbench("run", str(write_suite(repetitions=1, solvers=solvers, timeout=120)), "-o", "out", "-q",
                     plugins=PLUGINS)
    assert time.monotonic() - start < 60
    got = records(tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert got["bad_diagnostics"]["status"] in ("error", "invalid") and "fn" in got["bad_diagnostics"]["message"]
    assert got["toy_half"]["status"] == "ok"


def test_a_record_that_cannot_be_pickled_becomes_an_error_naming_its_key():
    job = Job("cell", 0, "x", "k")
    record = JobRecord.start(job)
    record.status, record.metrics = "ok", {"test": {"fn": lambda: 1}}
    sent = _sendable(job, record)
    assert sent.status == "error" and sent.started == record.started
    assert sent.message.startswith("metrics.test.fn cannot be sent to the harness")
    fine = JobRecord.start(job)
    assert _sendable(job, fine) is fine


# ------------------------------------------------------------------ 16: rich markup in user text


def test_markup_in_messages_and_paths_is_printed_as_text(wrbench, write_suite, tmp_path):
    solvers = [{"name": "raiser", "label": "markup", "params": {"mode": "markup"}}, {"name": "toy_half"}]
    result = wrbench("run", str(write_suite(repetitions=1, solvers=solvers)), "-o", "[out]", plugins=PLUGINS)
    assert result.exit_code == 1, result.output
    assert "broke [/] the [bold]board" in result.output  # in the board, after every cell finished
    assert "leaderboard written to [out]/leaderboard" in result.output


def test_the_live_display_shows_markup_in_user_text_as_text():
    out = io.StringIO()
    job = Job("cell", 0, "a[/]b", "k")
    with Display(1, console=Console(file=out, force_terminal=True, width=200)) as display:
        display.start(job)
        display.progress(job.id, "fit [bold]", 1, 2, {"note": "[/]"})
        display.finish(job, JobRecord.failure(job, "error", "x [/] y"))
    assert "a[/]b" in out.getvalue() and "x [/] y" in out.getvalue()


def test_a_plugin_error_with_markup_is_listed_as_text(wrbench, tmp_path, monkeypatch):
    (tmp_path / "markup_broken.py").write_text("raise ImportError('needs [/] and [bold]x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    result = wrbench("plugins", plugins=("toy_plugin", "markup_broken"))
    assert result.exit_code == 0, result.output
    assert "needs [/] and [bold]x" in result.output


# ------------------------------------------------------------------ 17: file names


def test_long_labels_give_bounded_distinct_file_names(tmp_path):
    a, b = "x" * 299 + "a", "x" * 299 + "b"
    assert safe_name("gdm-ddim20") == "gdm-ddim20"
    assert len(safe_name(a).encode()) <= 100 and safe_name(a) != safe_name(b)
    assert len(safe_name("é" * 300).encode()) <= 100
    (tmp_path / f"{artifact_name(a, 3, 'spread=0.4')}.npz").write_bytes(b"")  # no ENAMETOOLONG


# ------------------------------------------------------------------ 20: export


def test_export_leaves_no_cache_behind_and_creates_the_target_folder(wrbench, write_suite, tmp_path):
    suite = write_suite()
    result = wrbench("export", str(suite), "-o", "new/dir/test.npz")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "dir" / "test.npz").exists() and not (tmp_path / "results").exists()
    cached = wrbench("export", str(suite), "-o", "again.npz", "--cache-dir", "cache")
    assert cached.exit_code == 0 and any((tmp_path / "cache").rglob("*"))
    (tmp_path / "afile").write_text("")
    blocked = wrbench("export", str(suite), "-o", "afile/test.npz")
    assert blocked.exit_code == 2 and "afile/test.npz: cannot write the file" in blocked.output


# ------------------------------------------------------------------ 22: BaseExceptions and prints of plugins


def test_keyboard_interrupt_sys_exit_and_an_unprintable_exception_in_a_job_are_errors_with_a_log(
        wrbench, write_suite, tmp_path):
    solvers = [{"name": "raiser", "label": m, "params": {"mode": m}} for m in ("keyboard", "exit", "unprintable")]
    result = wrbench("run", str(write_suite(repetitions=1, solvers=[*solvers, {"name": "toy_half"}])), "-o", "out", "-q",
                     plugins=PLUGINS)
    assert result.exit_code == 1, result.output
    got = records(tmp_path / "out")
    expected = {"keyboard": "KeyboardInterrupt", "exit": "SystemExit: 4",
                "unprintable": "Unprintable: <unprintable: its __str__ raised ValueError>"}
    for label, message in expected.items():
        assert (got[label]["status"], got[label]["message"]) == ("error", message)
        assert "Traceback" in (tmp_path / "out" / got[label]["log"]).read_text()
    assert got["toy_half"]["status"] == "ok"  # same worker, still alive


def test_a_plugins_prints_go_to_a_file_named_in_its_record(wrbench, write_suite, tmp_path, capfd):
    solvers = [{"name": "chatty"}, {"name": "toy_half"}]
    result = wrbench("run", str(write_suite(repetitions=1, solvers=solvers)), "-o", "out", "-q", plugins=PLUGINS)
    assert result.exit_code == 0, result.output
    console = capfd.readouterr()
    assert "chatty" not in console.out + console.err + result.output
    got = records(tmp_path / "out")
    text = (tmp_path / "out" / got["chatty"]["output"]).read_text()
    assert got["chatty"]["output"] == "logs/chatty.rep0.out"
    assert text.count("chatty says hello") == 2 * 20000  # warm-up call and timed call
    assert "chatty complains" in text and "chatty from C" in text
    assert "output" not in got["toy_half"] and not (tmp_path / "out" / "logs" / "toy_half.rep0.out").exists()

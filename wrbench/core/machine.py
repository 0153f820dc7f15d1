"""Which machine a number was measured on: CPU model, cores, torch version, device."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return device


def fingerprint(device: str = "cpu") -> dict[str, str | int]:
    """The facts that make two timings comparable."""
    return {
        "cpu": cpu_model(),
        "cpu_count": cpu_count(),
        "torch": torch.__version__,
        "device": device_name(device),
    }


def git_commit(path: str | Path = Path(__file__).resolve().parent) -> str | None:
    """HEAD's commit of the git checkout holding `path` (+dirty with uncommitted changes), None outside one."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=path)

    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")

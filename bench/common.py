"""Helpers shared by the benchmark scripts: running commands, timing them with their peak RSS,
and formatting medians."""

import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd):
    """Runs a shell command; a failure ends the benchmark."""
    subprocess.run(cmd, shell=True, check=True)


def timed(cmd):
    """Runs a shell command, returns (seconds, peak RSS in KiB of the slowest child)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark command failed: {cmd}\n{err}")
    return dt, ru.ru_maxrss


def fmt(xs):
    """Median with min–max."""
    return f"{statistics.median(xs):.3f} s ({min(xs):.3f}–{max(xs):.3f})"

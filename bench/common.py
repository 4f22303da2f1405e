"""Helpers shared by the benchmark scripts: running commands, timing them with their peak RSS,
and formatting medians."""

import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd):
    """Runs a shell command; a failure ends the benchmark."""
    subprocess.run(cmd, shell=True, check=True)


def timed(cmd, ok=(0,)):
    """Runs a shell command, returns (seconds, peak RSS in KiB of the slowest child). An exit
    code outside `ok` ends the benchmark (`fcs compare` exits 1 when trees differ)."""
    # The peak RSS comes from GNU time when it is there: a child forked from this Python process
    # starts its high-water mark at Python's own RSS (≈ 20 MiB), which would hide small tools.
    # stderr goes to a file, not a pipe: a chatty tool (rclone) must not block on a full pipe
    # while we wait for it.
    gnu_time = os.path.exists("/usr/bin/time")
    with tempfile.TemporaryFile() as errf, tempfile.NamedTemporaryFile("r") as rssf:
        argv = ["/usr/bin/time", "-q", "-f", "%M", "-o", rssf.name, "sh", "-c", cmd] if gnu_time else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, shell=not gnu_time, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        if gnu_time:
            try:
                ru_kib = int(rssf.read().split()[-1])
            except (ValueError, IndexError):
                ru_kib = ru.ru_maxrss
        else:
            ru_kib = ru.ru_maxrss
    if os.waitstatus_to_exitcode(status) not in ok:
        sys.exit(f"benchmark command failed: {cmd}\n{err}")
    return dt, ru_kib


def fmt(xs):
    """Median with min–max."""
    return f"{statistics.median(xs):.3f} s ({min(xs):.3f}–{max(xs):.3f})"


def build_floor(folder):
    """bench/floor.c built into `folder`: the bare copier and stat walker whose times are the
    floors of a copy and of a re-sync (what the kernel work alone costs). None without a C
    compiler."""
    exe = os.path.join(folder, "floor")
    r = subprocess.run(["cc", "-O2", "-o", exe, os.path.join(ROOT, "bench", "floor.c"), "-lpthread"],
                       capture_output=True, text=True)
    return exe if r.returncode == 0 else None

#!/usr/bin/env python3
"""Scale: a sync of N small files in N/1000 folders (default 1,000,000), then a no-change
re-sync beside `rsync -a`; peak RSS per entry above the process baseline, and the size of the
run's log and journal.

    python3 bench/scale.py [--files 1000000] [--data /tmp/fcs-scale] [--fcs target/release/fcs]

The baseline is the peak RSS of the same binary syncing an empty folder. Each file holds 16
bytes (content does not change what a run keeps per entry). Needs about 2 × N × 4 KiB of disk
(the files' blocks) and writes bench/results/scale-<UTC stamp>.md.
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, build_floor  # noqa: E402


def peak_rss(cmd, env):
    """(seconds, peak RSS in bytes) of a command, from GNU time."""
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + cmd, env=env, capture_output=True, text=True)
    took = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    kib = int(re.findall(r"RSS (\d+)", p.stderr)[-1])
    return took, kib * 1024


def generate(src, files):
    per = 1000
    for d in range((files + per - 1) // per):
        folder = os.path.join(src, f"d{d:04}")
        os.makedirs(folder, exist_ok=True)
        for f in range(min(per, files - d * per)):
            with open(os.path.join(folder, f"f{f:04}.bin"), "wb") as out:
                out.write(b"%016d" % (d * per + f))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--data", default="/tmp/fcs-scale")
    ap.add_argument("--fcs", default=os.path.join(ROOT, "target", "release", "fcs"))
    ap.add_argument("--keep", action="store_true", help="keep the trees afterwards")
    a = ap.parse_args()
    src, dst, empty, data = (os.path.join(a.data, n) for n in ("src", "dst", "empty", "fcs-data"))
    shutil.rmtree(a.data, ignore_errors=True)
    os.makedirs(empty)
    env = dict(os.environ, FCS_DATA_DIR=data)
    t = time.monotonic()
    generate(src, a.files)
    print(f"generated {a.files} files in {time.monotonic() - t:.0f} s", flush=True)
    subprocess.run(["sync"], check=True)

    fcs = [a.fcs, "sync", "-q"]
    _, base = peak_rss(fcs + [empty, os.path.join(a.data, "empty-copy")], env)
    took, rss = peak_rss(fcs + [src, dst], env)
    entries = a.files + a.files // 1000 + 1
    print(f"sync: {took:.1f} s, peak RSS {rss >> 20} MiB (baseline {base >> 20} MiB)", flush=True)
    # The floor of any re-sync: listing and stating both trees on every core, nothing else
    # (bench/floor.c --stat), interleaved with the two tools.
    floor = build_floor(a.data)
    resync = []
    for _ in range(3):
        resync.append((peak_rss(fcs + [src, dst], env)[0], peak_rss(["rsync", "-a", src + "/", dst + "/"], env)[0],
                       peak_rss([floor, "--stat", src, dst], env)[0] if floor else None))
    logs = os.path.join(data, "logs")
    log_bytes = sum(os.path.getsize(os.path.join(logs, n)) for n in os.listdir(logs))
    journal = os.path.join(data, "journal")
    journal_bytes = sum(
        os.path.getsize(os.path.join(dp, n)) for dp, _, names in os.walk(journal) for n in names
    )
    per_entry = (rss - base) / entries
    f_med = sorted(r[0] for r in resync)[1]
    r_med = sorted(r[1] for r in resync)[1]
    floor_row = []
    if floor:
        s_med = sorted(r[2] for r in resync)[1]
        floor_row = [f"| the floor: listing and stating both trees, 2 threads, nothing else (bench/floor.c --stat) / rsync -a"
                     f" | {s_med:.2f} s / {r_med:.2f} s = {s_med / r_med:.2f} | — |"]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    report = "\n".join([
        f"# fcs at scale, {stamp} UTC",
        "",
        f"- {a.files:,} files of 16 bytes in {a.files // 1000:,} folders ({entries:,} entries), `{a.fcs}`",
        "",
        "| measure | value | goal |",
        "|---|---:|---:|",
        f"| sync (defaults: verified, durability batch) | {took:.1f} s | — |",
        f"| peak RSS above the baseline ({base >> 20} MiB) per entry | {per_entry:.0f} B | ≤ 400 B |",
        f"| no-change re-sync, median of 3: fcs / rsync -a | {f_med:.2f} s / {r_med:.2f} s = {f_med / r_med:.2f} | ≤ 0.5 |",
        *floor_row,
        f"| run logs after 4 runs | {log_bytes >> 10} KiB | bounded |",
        f"| journal folder after 4 runs | {journal_bytes >> 10} KiB | bounded |",
        "",
    ])
    print(report)
    out = os.path.join(ROOT, "bench", "results", f"scale-{stamp}.md")
    with open(out, "w") as f:
        f.write(report)
    print(f"report: {out}")
    if not a.keep:
        shutil.rmtree(a.data, ignore_errors=True)


if __name__ == "__main__":
    main()

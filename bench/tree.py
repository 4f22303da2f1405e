#!/usr/bin/env python3
"""Folder-tree benchmark: `fcs sync` side by side with the peers, interleaved in one run.

Datasets (docs/benchmarks.md; regenerated with bench/gen_datasets.sh when missing):
  c  20,000 x 4 KiB files in 200 folders      b  one 480 MiB file + 32 x 1 MiB
Scenarios:
  c  fcs sync (defaults: verify lt_threshold, durable)  vs  xcp -r, rsync -a, cp -r && sync
  b  fcs sync (defaults)                                 vs  cp -r && sync
  re-sync c, nothing changed: fcs sync                   vs  rsync -a
  compare memory: peak RSS of `fcs compare` on two trees of N entries (bytes per entry)
Each copy run starts from an empty target (deleted and synced outside the timed part). Writes a
markdown report to bench/results/. Usage: bench/tree.py [--reps N] [--entries N] [--quick]
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, fmt, sh, timed  # noqa: E402

# The dataset generator (docs/benchmarks.md), kept beside this script.
HERE = os.path.dirname(os.path.abspath(__file__))


def ensure_dataset(data, name):
    if not os.path.isdir(os.path.join(data, name)):
        gen = os.path.join(HERE, "gen_datasets.sh")
        sh(f"DATA={data} bash {gen} {name}")


def make_entries_tree(path, n):
    """n empty files in folders of 1000 (fast to create; compare cost is per entry)."""
    if os.path.isdir(path) and sum(len(f) for _, _, f in os.walk(path)) == n:
        return
    shutil.rmtree(path, ignore_errors=True)
    for i in range(0, n, 1000):
        d = os.path.join(path, f"dir{i // 1000:04d}")
        os.makedirs(d)
        for j in range(min(1000, n - i)):
            open(os.path.join(d, f"file-{j:05d}.dat"), "w").close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="3 repetitions, 50,000-entry compare")
    ap.add_argument("--data", default=os.environ.get("DATA", "/tmp/fcs-bench-data"))
    a = ap.parse_args()
    if a.quick:
        a.reps, a.entries = 3, 50_000

    sh(f"cargo build --release -q -p fcs-cli --manifest-path {ROOT}/Cargo.toml")
    fcs = os.path.join(ROOT, "target/release/fcs")
    xcp = shutil.which("xcp") or os.path.expanduser("~/.cargo/bin/xcp")
    if not os.path.exists(xcp):
        sh("cargo install xcp --locked -q")
    for tool in ["rsync"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install {tool}")
    for name in ["b", "c"]:
        ensure_dataset(a.data, name)
    out = os.path.join(a.data, "out-tree")
    log = "--log /dev/null"

    def copy_scenario(src, tools):
        times = {t: [] for t in tools}
        for _ in range(a.reps):
            for tool, cmd in tools.items():
                shutil.rmtree(out, ignore_errors=True)
                # Let the deletes' journal commits and discards settle, or whoever runs next pays
                # for them (ext4's inode allocator skips recently deleted inodes).
                sh("sync")
                time.sleep(2)
                sh(f"tar cf - {src} > /dev/null 2>&1")  # warm the source
                dt, _ = timed(cmd)
                times[tool].append(dt)
                if subprocess.run(["diff", "-rq", src, out], capture_output=True).returncode != 0:
                    sys.exit(f"{tool} did not produce an identical tree")
        return times

    c, b = os.path.join(a.data, "c"), os.path.join(a.data, "b")
    results = {}
    results["c: 20,000 x 4 KiB"] = copy_scenario(c, {
        "fcs sync (defaults)": f"{fcs} sync -q {log} {c} {out}",
        "xcp -r": f"{xcp} -r {c} {out}",
        "rsync -a": f"rsync -a {c}/ {out}/",
        "cp -r && sync": f"cp -r {c} {out} && sync",
    })
    print(results, flush=True)
    results["b: 480 MiB + 32 x 1 MiB"] = copy_scenario(b, {
        "fcs sync (defaults)": f"{fcs} sync -q {log} {b} {out}",
        "cp -r && sync": f"cp -r {b} {out} && sync",
    })
    print(results, flush=True)
    # Re-sync with nothing changed.
    shutil.rmtree(out, ignore_errors=True)
    sh(f"rsync -a {c}/ {out}/")
    resync = {"fcs sync (nothing to do)": [], "rsync -a (nothing to do)": []}
    for _ in range(a.reps):
        resync["fcs sync (nothing to do)"].append(timed(f"{fcs} sync -q {log} {c} {out}")[0])
        resync["rsync -a (nothing to do)"].append(timed(f"rsync -a {c}/ {out}/")[0])
    results["re-sync c, nothing changed"] = resync

    # Compare memory.
    left = os.path.join(a.data, f"entries{a.entries}")
    right = left + "-copy"
    make_entries_tree(left, a.entries)
    if not os.path.isdir(right):
        sh(f"cp -a {left} {right}")
    cmp_time, rss_kib = timed(f"{fcs} compare -q {left} {right}")
    _, base_kib = timed(f"{fcs} compare -q {c} {c}-missing 2>/dev/null || true")
    entries = 2 * (a.entries + a.entries // 1000)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    lines = [
        f"# Folder-tree benchmark, {stamp} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; warm source cache; {a.reps} interleaved repetitions.",
        "fcs runs with default settings: verify `lt_threshold` (every file here is verified, read back from the medium), durable (batched syncfs + directory fsyncs).",
        "Peers neither verify nor (except `cp && sync`) make the copy durable. Every tool's tree was checked with `diff -r`.",
        "",
        "| scenario | tool | median (min–max) | fcs / tool |",
        "|---|---|---|---:|",
    ]
    for name, times in results.items():
        tools = list(times)
        ours = statistics.median(times[tools[0]])
        lines.append(f"| {name} | {tools[0]} | {fmt(times[tools[0]])} | |")
        for t in tools[1:]:
            lines.append(f"| | {t} | {fmt(times[t])} | **{ours / statistics.median(times[t]):.2f}** |")
    lines += [
        "",
        f"Compare of two trees of {a.entries:,} files (+ folders), {entries:,} entries in all: {cmp_time:.2f} s, "
        f"peak RSS {rss_kib / 1024:.1f} MiB → **{rss_kib * 1024 / entries:.0f} bytes per entry** "
        f"(including the process baseline of {base_kib / 1024:.1f} MiB; {(rss_kib - base_kib) * 1024 / entries:.0f} bytes per entry above it).",
    ]
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    path = os.path.join(ROOT, "bench/results", f"tree-{stamp}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nreport: {path}")


if __name__ == "__main__":
    main()

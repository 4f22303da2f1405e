#!/usr/bin/env python3
"""Single-file copy benchmark: `fcs copy` side by side with the peers, interleaved in one run.

Scenarios (dataset a: one 2 GiB incompressible file, warm source cache, same filesystem):
  durable     fcs copy --verify none                       vs  cp SRC DST && sync
  verified    fcs copy --verify all --set verify_read=cache vs  cp && sync && b3sum SRC && b3sum -c
  device      fcs copy --verify all (read back from disk)   vs  fio: write 2 GiB + read 2 GiB (O_DIRECT)
  rss         peak RSS of fcs copy --verify all for several window sizes

Tools run interleaved (A B C A B C ...), the destination deleted and `sync`ed outside the timed
part; medians with min-max and the ratios against each peer from the same run. Writes a markdown
report to bench/results/. Usage: bench/copy_file.py [--reps N] [--size MiB] [--quick]
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, fmt, sh, timed  # noqa: E402


def make_source(path, mib):
    if os.path.exists(path) and os.path.getsize(path) == mib << 20:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sh(f"openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:a </dev/zero 2>/dev/null | head -c {mib << 20} > {path}")
    sh("sync")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", type=int, default=2048, help="source size in MiB")
    ap.add_argument("--quick", action="store_true", help="256 MiB, 3 repetitions")
    ap.add_argument("--data", default=os.environ.get("DATA", "/tmp/fcs-bench-data"))
    a = ap.parse_args()
    if a.quick:
        a.size, a.reps = 256, 3

    sh(f"cargo build --release -q -p fcs-cli --manifest-path {ROOT}/Cargo.toml")
    fcs = os.path.join(ROOT, "target/release/fcs")
    for tool in ["b3sum", "fio"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install {tool}")

    src = os.path.join(a.data, f"a{a.size}", "big.bin")
    make_source(src, a.size)
    work = os.path.join(a.data, "out")
    os.makedirs(work, exist_ok=True)
    dst = os.path.join(work, "big.bin")
    sums = os.path.join(work, "big.b3")
    fio_file = os.path.join(work, "fio.bin")
    sh(f"cat {src} > /dev/null")  # warm the source

    size = f"{a.size}M"
    fio = (f"fio --name=w --filename={fio_file} --rw=write --bs=1M --size={size} --direct=1 --ioengine=sync --end_fsync=1 >/dev/null"
           f" && fio --name=r --filename={fio_file} --rw=read --bs=1M --size={size} --direct=1 --ioengine=sync >/dev/null")
    scenarios = {
        "durable": {
            "fcs --verify none": f"{fcs} copy -q {src} {dst} --verify none",
            "cp && sync": f"cp {src} {dst} && sync",
        },
        "verified (cache read-back)": {
            "fcs --verify all, verify_read=cache": f"{fcs} copy -q {src} {dst} --verify all --set verify_read=cache",
            "cp && sync && b3sum src && b3sum -c": f"cp {src} {dst} && sync && cd {work} && b3sum {src} | sed 's#{src}#big.bin#' > {sums} && b3sum -c {sums}",
        },
        "verified (device read-back)": {
            "fcs --verify all, verify_read=device": f"{fcs} copy -q {src} {dst} --verify all",
            "fio write+read (O_DIRECT)": fio,
        },
    }
    results = {}
    for name, tools in scenarios.items():
        times = {t: [] for t in tools}
        for _ in range(a.reps):
            for tool, cmd in tools.items():
                for f in (dst, sums, fio_file):
                    if os.path.exists(f):
                        os.remove(f)
                sh("sync")
                sh(f"cat {src} > /dev/null")
                dt, _ = timed(cmd)
                times[tool].append(dt)
                if tool.startswith("fcs") and os.path.getsize(dst) != a.size << 20:
                    sys.exit("fcs produced a wrong-size file")
        results[name] = times
        print(name, {t: round(statistics.median(v), 3) for t, v in times.items()}, flush=True)

    rss = {}
    for w in ["16MiB", "64MiB", "256MiB"]:
        if os.path.exists(dst):
            os.remove(dst)
        _, kib = timed(f"{fcs} copy -q {src} {dst} --verify all --set window={w} --set direct_large_threshold=1MiB")
        rss[w] = kib

    cmp_ok = subprocess.run(["cmp", src, dst]).returncode == 0
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    fs = subprocess.run(["df", "-T", work], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    lines = [
        f"# Single-file copy benchmark, {stamp} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; filesystem {fs};",
        f"source {a.size} MiB incompressible, warm cache; {a.reps} interleaved repetitions; durable = fsync/sync included.",
        f"Copies byte-identical to the source: {'yes' if cmp_ok else 'NO'}.",
        "",
        "| scenario | tool | median (min–max) | ratio fcs / peer |",
        "|---|---|---|---:|",
    ]
    for name, times in results.items():
        tools = list(times)
        ours, peer = times[tools[0]], times[tools[1]]
        ratio = statistics.median(ours) / statistics.median(peer)
        lines.append(f"| {name} | {tools[0]} | {fmt(ours)} | **{ratio:.2f}** |")
        lines.append(f"| | {tools[1]} | {fmt(peer)} | |")
    lines += ["", "Peak RSS of `fcs copy --verify all` (DIRECT-LARGE):", "", "| window | peak RSS | limit (3 windows + 64 MiB) |", "|---|---:|---:|"]
    for w, kib in rss.items():
        win = int(w[:-3])
        lines.append(f"| {w} | {kib / 1024:.0f} MiB | {3 * win + 64} MiB |")
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    out = os.path.join(ROOT, "bench/results", f"copy_file-{stamp}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nreport: {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The whole side-by-side benchmark in one command (issue 5): fcs against the tools a user would
pick instead, in the same run, on the same data.

    python3 bench/run.py            # full run (≈ 1 h on a busy 2-core machine): 5 interleaved repetitions
    python3 bench/run.py --quick    # reduced set (≈ 1 min): 256 MiB file, 2,000 small files,
                                    # 20,000-entry compare, 3 repetitions, cp/xcp/rsync only
    python3 bench/run.py --only plain,resync --reps 7

It builds `fcs` (release), installs missing peers (apt: rsync rclone b3sum hyperfine fio;
cargo: xcp fcp — a peer that cannot be installed is skipped and named in the report), generates
the datasets of BENCHMARKS.md under $DATA (default /tmp/fcs-bench-data; a: 2 GiB file,
b: 480 MiB + 32 × 1 MiB, c: 20,000 × 4 KiB, d: 2,000 × 256 KiB, e: a copy of the Rust toolchain's
`lib` folder, plus two N-entry trees for the compare), and runs the scenarios:

  plain      copy of a–e: fcs defaults (verified, durable) and fcs unverified/not durable vs
             cp -r, xcp -r, fcp, rsync -a, rclone copy
  durable    fcs defaults and `--verify none` (both durable) vs each peer `&& sync` (a, b, c)
  cold       as plain, source cache dropped before every run (root only; a, c)
  verified   fcs per verify policy × verify_read=cache|device vs `cp && sync && b3sum src &&
             b3sum -c dst`, rsync -a + a --checksum pass, rclone copy + rclone check; on a also
             fio's O_DIRECT write + read of the same size (the disk's own time)
  rss        peak RSS of a verified DIRECT-LARGE copy of a, per window size
  resync     sync again with nothing changed (c, e): fcs sync vs rsync -a, cp -ru, rclone copy
  reverify   identical trees (a, c): `fcs verify` (skipped with a note while it does not exist)
             vs rsync -a --checksum (dry run) and b3sum of both sides (two in parallel)
  compare    two N-entry trees: time and peak RSS (bytes per entry) vs rsync -an, diff -rq
  archive    copy of c keeping everything: fcs sync -a and -a -H vs fcs sync (defaults), rsync -a
             and rsync -aHAX (what reading owners, xattrs and ACLs costs when there are none)
  sparse     a 4 GiB disk image holding 3 MiB of data: fcs copy (durable, and durability=none)
             vs cp --sparse=always (and && sync of the file) and rsync -aS, time and allocated
             size

Each run starts from an empty target (deleted and `sync`ed outside the timed part), the tools'
order rotates every repetition (A B C, B C A, …), and every tool's result is checked against the
source (names, types, sizes, BLAKE3 of every file) on its first run. Writes
bench/results/run-<UTC stamp>.md, .json (raw times) and .png (the ratio chart).
"""

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, build_floor, sh, timed  # noqa: E402

# The dataset generator (docs/benchmarks.md), kept beside this script.
HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(ROOT, "bench", "results")
LOG = "--log /dev/null"  # fcs tree runs otherwise write a log file per run


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Tools


def have(tool):
    return shutil.which(tool) or (
        os.path.exists(os.path.expanduser(f"~/.cargo/bin/{tool}")) and os.path.expanduser(f"~/.cargo/bin/{tool}")
    )


def install_peers(skip_install):
    """Returns {tool: path or None} and notes on the ones that could not be had."""
    apt = {"rsync": "rsync", "rclone": "rclone", "b3sum": "b3sum", "hyperfine": "hyperfine", "fio": "fio"}
    cargo = {"xcp": "xcp", "fcp": "fcp"}
    notes = []
    missing_apt = [pkg for tool, pkg in apt.items() if not have(tool)]
    if missing_apt and not skip_install:
        log(f"installing with apt: {' '.join(missing_apt)}")
        r = subprocess.run(
            f"(apt-get install -y {' '.join(missing_apt)} || (apt-get update && apt-get install -y {' '.join(missing_apt)}))",
            shell=True, capture_output=True, text=True)
        if r.returncode != 0:
            notes.append(f"apt-get install {' '.join(missing_apt)} failed: {r.stderr.strip()[-300:]}")
    for tool, crate in cargo.items():
        if not have(tool) and not skip_install:
            log(f"installing with cargo: {crate}")
            r = subprocess.run(["cargo", "install", "--locked", "-q", crate], capture_output=True, text=True)
            if r.returncode != 0:
                notes.append(f"`cargo install {crate}` failed: {r.stderr.strip()[-300:]}")
    tools = {t: have(t) or None for t in ["cp", *apt, *cargo]}
    for t, p in tools.items():
        if not p:
            notes.append(f"{t} is not available: its comparisons are skipped.")
    return tools, notes


def versions(tools):
    out = {}
    for t, p in tools.items():
        if not p:
            continue
        flag = "-V" if t in ("xcp",) else "--version"
        r = subprocess.run([p, flag], capture_output=True, text=True)
        line = (r.stdout or r.stderr).strip().splitlines()
        out[t] = line[0] if line else "?"
    return out


def build_fcs(given, notes):
    """`--fcs PATH` as given; else a fresh release build. When the working tree does not build
    (others are editing it) the last built binary is measured, and the report says so."""
    if given:
        notes.append(f"Measured the given binary {given} (not rebuilt).")
        return given
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    fcs = os.path.join(target, "release", "fcs")
    r = subprocess.run(["cargo", "build", "--release", "-q", "-p", "fcs-cli", "--manifest-path", f"{ROOT}/Cargo.toml"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if not os.path.exists(fcs):
            sys.exit(f"cargo build failed:\n{r.stderr[-2000:]}")
        log(f"cargo build failed; measuring the last built {fcs}")
        notes.append("The working tree did not build at run time: the last built `fcs` was measured.")
    return fcs


# ---------------------------------------------------------------------------------------------
# Datasets


def ensure_generated(data, name):
    if not os.path.isdir(os.path.join(data, name)) or not os.listdir(os.path.join(data, name)):
        sh(f"DATA={data} bash {os.path.join(HERE, 'gen_datasets.sh')} {name}")
    return os.path.join(data, name)


def ensure_single(data, mib):
    """A one-file dataset of `mib` MiB (quick mode's small stand-in for a)."""
    d = os.path.join(data, f"a{mib}")
    f = os.path.join(d, "big.bin")
    if not (os.path.exists(f) and os.path.getsize(f) == mib << 20):
        os.makedirs(d, exist_ok=True)
        sh(f"openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:a </dev/zero 2>/dev/null | head -c {mib << 20} > {f}")
    extra = [x for x in os.listdir(d) if x != "big.bin"]
    for x in extra:  # copy_file.py leaves nothing else here, but be sure the tree is one file
        shutil.rmtree(os.path.join(d, x), ignore_errors=True)
    return d


def ensure_subset(data, src, name, folders):
    """The first `folders` folders of `src` (quick mode's small stand-in for c)."""
    d = os.path.join(data, name)
    if not os.path.isdir(d):
        os.makedirs(d)
        for sub in sorted(os.listdir(src))[:folders]:
            sh(f"cp -a {os.path.join(src, sub)} {d}/")
    return d


def ensure_real_tree(data):
    """e: a copy of the Rust toolchain's lib folder (real names, sizes and depth)."""
    d = os.path.join(data, "e")
    if not os.path.isdir(d):
        sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
        sh(f"cp -a {sysroot}/lib {d}.tmp && mv {d}.tmp {d}")
    return d


def ensure_entries(data, n):
    """Two identical trees of n empty files in folders of 1000 (compare cost is per entry)."""
    left = os.path.join(data, f"entries{n}")
    right = left + "-copy"
    if not (os.path.isdir(left) and sum(len(f) for _, _, f in os.walk(left)) == n):
        shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(right, ignore_errors=True)
        for i in range(0, n, 1000):
            d = os.path.join(left, f"dir{i // 1000:04d}")
            os.makedirs(d)
            for j in range(min(1000, n - i)):
                open(os.path.join(d, f"file-{j:05d}.dat"), "w").close()
    if not os.path.isdir(right):
        sh(f"cp -a {left} {right}")
    return left, right


def ensure_sparse(data):
    """A 4 GiB sparse disk image with 3 MiB of data in three 1 MiB regions."""
    d = os.path.join(data, "sparse")
    f = os.path.join(d, "disk.img")
    if not (os.path.exists(f) and os.path.getsize(f) == 4 << 30):
        os.makedirs(d, exist_ok=True)
        sh(f"truncate -s 0 {f} && truncate -s 4G {f}")
        for k, at in enumerate((0, 1 << 30, (4 << 30) - (1 << 20))):
            sh(f"openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:s{k} </dev/zero 2>/dev/null"
               f" | head -c {1 << 20} | dd of={f} bs=1M seek={at >> 20} conv=notrunc status=none")
    return d


def allocated_kib(root):
    """Blocks a tree takes on its filesystem (du), in KiB."""
    return int(subprocess.run(["du", "-sk", root], capture_output=True, text=True, check=True).stdout.split()[0])


def tree_summary(root):
    """(files, bytes) of a tree."""
    files = size = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            files += 1
            size += os.lstat(os.path.join(dp, f)).st_size
    return files, size


# ---------------------------------------------------------------------------------------------
# Checking a result


def listing(root):
    """Every entry's relative path, type, size (files) or target (links), and each file's BLAKE3."""
    entries = {}
    files = []
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                entries[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                entries[rel] = ("dir",)
            else:
                entries[rel] = ("file", st.st_size)
                files.append(rel)
    if files:
        # b3sum reads the files in parallel; batching keeps the argument lists short.
        for i in range(0, len(files), 2000):
            batch = files[i:i + 2000]
            out = subprocess.run(["b3sum", "--no-names", *batch], cwd=root, capture_output=True, text=True, check=True).stdout.split()
            for rel, h in zip(batch, out):
                entries[rel] = entries[rel] + (h,)
    return entries


def check_identical(src_listing, dst, tool):
    got = listing(dst)
    if got != src_listing:
        missing = sorted(set(src_listing) - set(got))[:5]
        extra = sorted(set(got) - set(src_listing))[:5]
        wrong = sorted(k for k in set(got) & set(src_listing) if got[k] != src_listing[k])[:5]
        sys.exit(f"{tool} did not produce an identical tree in {dst}: missing {missing}, extra {extra}, different {wrong}")


# ---------------------------------------------------------------------------------------------
# Running a scenario


class Runner:
    def __init__(self, args, data):
        self.a = args
        self.data = data
        self.out = os.path.join(data, "out")
        self.listings = {}
        self.settle = 0.3 if args.quick else 1.0
        self.results = []  # dicts: scenario, dataset, tools {name: [s]}, rss {name: [KiB]}, notes, ours, peers
        self.no_journal = ext4_without_journal(data) is not None
        self.aside = 0  # targets set aside in this scenario (see `discard_out`)

    def src_listing(self, src):
        if src not in self.listings:
            self.listings[src] = listing(src)
        return self.listings[src]

    def discard_out(self, src):
        """The last run's target goes: deleted, or, where a delete would slow the next run down
        (see `ext4_without_journal`) and it holds many files, set aside until the scenario ends."""
        if not os.path.lexists(self.out):
            return
        if self.no_journal and src and len(self.src_listing(src)) > 1000:
            self.aside += 1
            os.rename(self.out, f"{self.out}-aside-{self.aside}")
        else:
            shutil.rmtree(self.out, ignore_errors=True)

    def settle_deletes(self):
        """Deletes the last target and those set aside; where that freed many inodes on an ext4
        without a journal, waits until it reuses them again."""
        many = self.aside > 0 or (self.no_journal and os.path.isdir(self.out)
                                  and sum(len(f) for _, _, f in os.walk(self.out)) > 1000)
        shutil.rmtree(self.out, ignore_errors=True)
        if not many:
            return
        for i in range(1, self.aside + 1):
            shutil.rmtree(f"{self.out}-aside-{i}", ignore_errors=True)
        self.aside = 0
        sh("sync")
        log("   (waiting 61 s: ext4 without a journal reuses freed inodes only after 60 s)")
        time.sleep(61)

    def prepare(self, src, cache):
        self.discard_out(src)
        for x in os.listdir(self.data):  # leftovers of a pipeline (checksum files)
            if x.startswith("out-aux"):
                os.remove(os.path.join(self.data, x))
        # Let the deletes' journal commits and discards settle, or whoever runs next pays for
        # them.
        sh("sync")
        time.sleep(self.settle)
        if cache == "cold":
            sh("sync; echo 3 > /proc/sys/vm/drop_caches")
        elif src:
            sh(f"tar cf - -C {src} . > /dev/null 2>&1")  # warm the source

    def scenario(self, name, dataset, src, tools, ours, cache="warm", durable=False, verify="",
                 check=True, setup=None, ok=(0,), notes=()):
        """tools: {label: command}; `ours` are the fcs labels whose ratios against every other
        label are reported. `setup(label)` (optional) replaces the default empty-target reset."""
        tools = {k: v for k, v in tools.items() if v}
        times = {t: [] for t in tools}
        rss = {t: [] for t in tools}
        order = list(tools)
        log(f"== {name} [{dataset}] {len(order)} tools × {self.a.reps}")
        self.settle_deletes()  # a target left by an earlier step or run
        for rep in range(self.a.reps):
            k = rep % len(order)
            for tool in order[k:] + order[:k]:
                if setup:
                    setup(tool)
                else:
                    self.prepare(src, cache)
                dt, kib = timed(tools[tool], ok=ok)
                times[tool].append(dt)
                rss[tool].append(kib)
                if check and rep == 0 and (not callable(check) or check(tool)):
                    check_identical(self.src_listing(src), self.out, tool)
            log("   " + ", ".join(f"{t}: {statistics.median(v):.3f}" for t, v in times.items()))
        self.results.append({
            "scenario": name, "dataset": dataset, "cache": cache, "durable": durable,
            "verify": verify, "times": times, "rss": rss,
            "ours": [t for t in ours if t in tools], "notes": list(notes),
        })
        self.settle_deletes()


# bench/floor.c: two threads that only open, read, create, write and rename (datasets c, d).
FLOOR_PEER = "bare copy (floor.c)"

# The durable copy plus a read of every byte from the disk (dataset b's target).
READBACK_PEER = "cp -r && sync + O_DIRECT read-back"


def peers_copy(tools, src, out, durable):
    """The peers' commands for copying the tree `src` to the new folder `out`."""
    s = " && sync" if durable else ""
    return {
        f"cp -r{s}": f"cp -r {src} {out}{s}",
        f"xcp -r{s}": tools["xcp"] and f"{tools['xcp']} -r {src} {out}{s}",
        f"fcp{s}": tools["fcp"] and f"{tools['fcp']} {src} {out}{s}",
        f"rsync -a{s}": tools["rsync"] and f"rsync -a {src}/ {out}/{s}",
        f"rclone copy{s}": tools["rclone"] and f"rclone copy --local-no-check-updated {src} {out}{s}",
    }


# ---------------------------------------------------------------------------------------------
# Report


def med(xs):
    return statistics.median(xs)


def fmt_t(xs):
    return f"{med(xs):.3f} s ({min(xs):.3f}–{max(xs):.3f})"


def ratio_rows(r):
    """(our label, peer label, ratio of medians) for every pair of a scenario."""
    rows = []
    for o in r["ours"]:
        for p in r["times"]:
            # Other fcs variants of the scenario (e.g. --verify none beside the verified runs)
            # are context, not peers.
            if p not in r["ours"] and not p.startswith("fcs"):
                rows.append((o, p, med(r["times"][o]) / med(r["times"][p])))
    return rows


def find(results, scenario, dataset):
    for r in results:
        # Quick mode labels its stand-ins "a (256 MiB)" …: match on the dataset's letter.
        if r["scenario"] == scenario and r["dataset"].split(" ")[0] == dataset:
            return r
    return None


def ratio(results, scenario, dataset, ours, peer):
    r = find(results, scenario, dataset)
    if not r or ours not in r["times"] or peer not in r["times"]:
        return None
    return med(r["times"][ours]) / med(r["times"][peer])


def targets(results, extra):
    """The targets of BENCHMARKS.md: (scenario, measured, target, met) — measured None = not run."""
    t = []
    fcs, ver_c, ver_d = "fcs (defaults)", "fcs --verify all, cache", "fcs --verify all, device"
    t.append(("a, unverified, durable: fcs --verify none vs cp && sync",
              ratio(results, "durable", "a", "fcs --verify none", "cp -r && sync"), 1.0))
    t.append(("a, verified, cache read-back vs cp && sync && b3sum src && b3sum -c dst",
              ratio(results, "verified", "a", ver_c, "cp && sync && b3sum && b3sum -c"), 0.8))
    t.append(("a, verified, device read-back vs fio O_DIRECT write + read",
              ratio(results, "verified", "a", ver_d, "fio write + read (O_DIRECT)"), 1.25))
    if extra.get("rss"):
        worst = max(kib / 1024 / (3 * w + 64) for w, kib in extra["rss"].items())
        t.append(("peak RSS copying a, any window (share of 3 windows + 64 MiB)", worst, 1.0))
    t.append(("c, fcs sync defaults (verified, durable) vs xcp -r", ratio(results, "plain", "c", fcs, "xcp -r"), 1.0))
    t.append(("c, same vs rsync -a", ratio(results, "plain", "c", fcs, "rsync -a"), 0.6))
    t.append(("b, fcs sync defaults vs cp -r && sync", ratio(results, "durable", "b", fcs, "cp -r && sync"), 1.2))
    t.append(("b, fcs sync defaults vs cp -r && sync, then an O_DIRECT read of every byte",
              ratio(results, "durable", "b", fcs, READBACK_PEER), 1.15))
    t.append(("re-sync c, nothing changed, vs rsync -a", ratio(results, "resync", "c", "fcs sync", "rsync -a"), 0.5))
    # Both sides from the cache, like rsync (the device read-back is reported beside it).
    t.append(("re-verify identical c (cache): fcs verify vs rsync -a --checksum",
              ratio(results, "reverify", "c", "fcs verify, cache", "rsync -a --checksum -n"), 0.7))
    t.append(("re-verify identical a (cache) vs two parallel b3sum",
              ratio(results, "reverify", "a", "fcs verify, cache", "b3sum both (parallel)"), 1.0))
    if extra.get("compare"):
        t.append(("compare memory, bytes per entry (≤ 300)", extra["compare"]["bytes_per_entry"], 300))
    t.append(("c, fcs sync -a (owners, xattrs, ACLs, flags) vs fcs sync (defaults)",
              ratio(results, "archive", "c", "fcs -a", "fcs (defaults)"), 1.1))
    t.append(("sparse 4 GiB image with 3 MiB of data: fcs copy vs cp --sparse=always",
              ratio(results, "sparse", "s", "fcs (defaults)", "cp --sparse=always"), 2.0))
    if extra.get("sparse"):
        s = extra["sparse"]
        t.append(("sparse image: allocated by fcs / by cp --sparse=always", s["fcs"] / max(s["cp"], 1), 1.05))
    return [(name, m, tgt, None if m is None else m <= tgt) for name, m, tgt in t]


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}"


def filesystem(path):
    line = subprocess.run(["df", "-T", path], capture_output=True, text=True).stdout.splitlines()[-1].split()
    opts = "?"
    for m in open("/proc/mounts"):
        f = m.split()
        if f[0] == line[0]:
            opts = f[3]
            break
    journal = "" if ext4_without_journal(path) is None else " — ext4 **without a journal**: targets of many files set aside and deleted after each scenario, which then waits out ext4's 60 s inode-reuse window"
    return f"{line[1]} on {line[0]} ({opts}){journal}"


def ext4_without_journal(path):
    """The device name when `path` is on an ext4 that has no journal, else None.

    Such an ext4 does not reuse an inode freed less than 60 s after its inode-table block was
    written (`recently_deleted` in fs/ext4/ialloc.c; 360 s while the block is dirty), and every
    create scans past all of those first: right after 20,000 files are deleted, creating 20,000
    more costs 4–16 s instead of 0.3 s (`perf`: `recently_deleted` and `find_get_block_common`
    take 58 % of the samples). Deleting each target before the next run would time whoever runs
    next on the last one's deletes. A journal (what mkfs.ext4 gives by default) turns the check off.
    """
    src = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE", "--target", path], capture_output=True, text=True).stdout.split()
    if len(src) < 2 or src[1] != "ext4":
        return None
    name = os.path.basename(src[0])
    if not os.path.isdir(f"/proc/fs/ext4/{name}") or glob.glob(f"/proc/fs/jbd2/{name}-*"):
        return None
    return name


def write_report(a, runner, extra, notes, vers, stamp, fcs):
    results = runner.results
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "crates"], capture_output=True, text=True).stdout.strip()
    L = [
        f"# fcs side-by-side benchmark, {stamp} UTC{' (quick)' if a.quick else ''}",
        "",
        f"- Machine: {machine()}",
        f"- Filesystem: {filesystem(runner.data)} (source and target on the same one)",
        f"- fcs: commit {commit or '?'}{' + uncommitted engine changes' if dirty else ''}, `{fcs}`",
        f"- Peers: {'; '.join(f'{k}: {v}' for k, v in vers.items())}",
        f"- Method: {a.reps} repetitions, tools interleaved and rotated each repetition; target deleted (or set aside, see "
        "Filesystem) and `sync`ed before each run (not timed); warm = source read once before each run, cold = `echo 3 > /proc/sys/vm/drop_caches` "
        "before each run. Medians with min–max. Every tool's tree was checked on its first run: same names, types, "
        "sizes and BLAKE3 of every file as the source.",
        "- fcs defaults: verify `lt_threshold` (files < 2 GiB, read back from the device), durability `batch` "
        "(tree runs: every temp durable before its atomic rename, small files made durable in groups with one "
        "`syncfs`, larger ones fsynced one by one; folders fsynced). Peers neither verify nor sync unless the "
        "label says so (`&& sync`). Ratio = fcs median / peer median from the same run: **< 1 means fcs is faster**.",
        "",
    ]
    for n in notes:
        L.append(f"> {n}")
    if notes:
        L.append("")
    L += ["## Targets (BENCHMARKS.md)", "", "| target | measured | goal | met |", "|---|---:|---:|:---:|"]
    for name, m, tgt, met in targets(results, extra):
        fmtm = "not run" if m is None else (f"{m:.0f}" if tgt >= 100 else f"{m:.2f}")
        L.append(f"| {name} | {fmtm} | ≤ {tgt:g} | {'—' if met is None else ('yes' if met else '**no**')} |")
    L.append("")
    L += ["## Ratios of the main fcs variant against each peer", "",
          "| scenario | dataset | cache | fcs variant | peer | ratio |", "|---|---|---|---|---|---:|"]
    for r in results:
        for o, p, x in ratio_rows(r):
            L.append(f"| {r['scenario']} | {r['dataset']} | {r['cache']} | {o} | {p} | **{x:.2f}** |")
    L.append("")
    L += ["## All measurements", ""]
    for r in results:
        L.append(f"### {r['scenario']} — {r['dataset']} ({r['cache']} cache"
                 f"{', durable peers' if r['durable'] else ''}{', ' + r['verify'] if r['verify'] else ''})")
        L.append("")
        for n in r["notes"]:
            L.append(f"> {n}")
        if r["notes"]:
            L.append("")
        L += ["| tool | median (min–max) | peak RSS |", "|---|---|---:|"]
        for t, xs in r["times"].items():
            L.append(f"| {t} | {fmt_t(xs)} | {max(r['rss'][t]) / 1024:.0f} MiB |")
        L.append("")
    if extra.get("rss"):
        L += ["### peak RSS of `fcs copy --verify all` of a (DIRECT-LARGE)", "",
              "| window | peak RSS | limit (3 windows + 64 MiB) |", "|---|---:|---:|"]
        for w, kib in extra["rss"].items():
            L.append(f"| {w} MiB | {kib / 1024:.0f} MiB | {3 * w + 64} MiB |")
        L.append("")
    if extra.get("compare"):
        c = extra["compare"]
        L += [f"### compare of two trees of {c['files']:,} files ({c['entries']:,} entries in all)", "",
              f"fcs compare: {fmt_t(c['times'])}, peak RSS {c['rss_kib'] / 1024:.1f} MiB → "
              f"**{c['bytes_per_entry']:.0f} bytes per entry** (process baseline {c['base_kib'] / 1024:.1f} MiB; "
              f"{(c['rss_kib'] - c['base_kib']) * 1024 / c['entries']:.0f} bytes per entry above it).", ""]
        for peer, (ts, kib) in c["peers"].items():
            L.append(f"- {peer}: {fmt_t(ts)}, peak RSS {kib / 1024:.1f} MiB; fcs / {peer} = **{med(c['times']) / med(ts):.2f}**")
        L.append("")
    return "\n".join(L) + "\n"


CHART = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
d = json.load(open(sys.argv[1]))
rows = d["ratios"]
tg = [t for t in d["targets"] if t[1] is not None and t[2] < 100]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, max(6, 0.24 * len(rows) + 1.5)),
                               gridspec_kw={"width_ratios": [3, 2]})
labels = [f"{r[0]} [{r[1]}] vs {r[3]}" for r in rows]
vals = [r[4] for r in rows]
y = range(len(rows))
ax1.barh(y, vals, color=["#2a9d8f" if v <= 1 else "#e76f51" for v in vals])
ax1.set_yticks(list(y)); ax1.set_yticklabels(labels, fontsize=7); ax1.invert_yaxis()
ax1.axvline(1, color="k", lw=0.8); ax1.set_xscale("log")
ticks = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20) if min(vals) / 1.5 <= t <= max(vals) * 1.5]
ax1.set_xticks(ticks); ax1.set_xticklabels([f"{t:g}" for t in ticks]); ax1.minorticks_off()
for i, v in enumerate(vals):
    ax1.text(v, i, f" {v:.2f}", va="center", fontsize=6)
ax1.set_xlabel("fcs time / peer time (log; < 1 = fcs faster)")
ax1.set_title("fcs (main variant) vs each peer, same run, medians")
y2 = range(len(tg))
ax2.barh(y2, [t[1] for t in tg], color=["#2a9d8f" if t[1] <= t[2] else "#e76f51" for t in tg])
ax2.scatter([t[2] for t in tg], list(y2), marker="|", s=300, color="k", zorder=3, label="target")
ax2.set_yticks(list(y2)); ax2.set_yticklabels([t[0][:60] for t in tg], fontsize=7); ax2.invert_yaxis()
for i, t in enumerate(tg):
    ax2.text(t[1], i, f" {t[1]:.2f}", va="center", fontsize=7)
ax2.set_xlabel("ratio (bar) and target (|)"); ax2.set_title("BENCHMARKS.md targets"); ax2.legend(fontsize=7)
fig.suptitle(d["title"], fontsize=9)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
'''


def chart(json_path, png_path, skip_install):
    """Draws the ratio chart with whichever Python has matplotlib (the system one after
    `apt-get install python3-matplotlib`, else pip)."""
    script = os.path.join(os.path.dirname(json_path), ".chart.py")
    with open(script, "w") as f:
        f.write(CHART)
    try:
        candidates = [sys.executable, "/usr/bin/python3"]
        for py in candidates:
            if os.path.exists(py) and subprocess.run([py, "-c", "import matplotlib"], capture_output=True).returncode == 0:
                return subprocess.run([py, script, json_path, png_path]).returncode == 0
        if not skip_install:
            subprocess.run("apt-get install -y -q python3-matplotlib >/dev/null 2>&1", shell=True)
            if subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], capture_output=True).returncode == 0:
                return subprocess.run(["/usr/bin/python3", script, json_path, png_path]).returncode == 0
            if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"]).returncode == 0:
                return subprocess.run([sys.executable, script, json_path, png_path]).returncode == 0
        return False
    finally:
        os.remove(script)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="reduced set, about a minute")
    ap.add_argument("--reps", type=int, help="repetitions (default 5, quick 3)")
    ap.add_argument("--only", help="comma-separated scenarios: plain,durable,cold,verified,rss,resync,reverify,compare,archive,sparse")
    ap.add_argument("--datasets", help="comma-separated datasets for the copy scenarios (default a,b,c,d,e)")
    ap.add_argument("--entries", type=int, help="files per tree for the compare (default 200,000; quick 20,000)")
    ap.add_argument("--data", default=os.environ.get("DATA", "/tmp/fcs-bench-data"))
    ap.add_argument("--fcs", help="measure this fcs binary instead of building one")
    ap.add_argument("--skip-install", action="store_true", help="do not install missing peers")
    ap.add_argument("--no-write", action="store_true", help="print the report, do not write bench/results")
    a = ap.parse_args()
    a.reps = a.reps or (3 if a.quick else 5)
    a.entries = a.entries or (20_000 if a.quick else 200_000)
    only = set(a.only.split(",")) if a.only else None
    want = lambda s: only is None or s in only  # noqa: E731
    if os.geteuid() != 0:
        a.skip_install = True

    started = time.time()
    tools, notes = install_peers(a.skip_install)
    if not tools["b3sum"]:
        sys.exit("b3sum is needed to check the results: apt-get install b3sum")
    fcs = build_fcs(a.fcs, notes)
    vers = versions(tools)
    vers = {"fcs": subprocess.run([fcs, "--version"], capture_output=True, text=True).stdout.strip(), **vers}
    has_verify = subprocess.run([fcs, "verify", "--help"], capture_output=True).returncode == 0
    can_drop = os.geteuid() == 0 and subprocess.run("sync; echo 3 > /proc/sys/vm/drop_caches", shell=True,
                                                    stderr=subprocess.DEVNULL).returncode == 0
    os.makedirs(a.data, exist_ok=True)

    # Datasets. Quick mode: a 256 MiB stand-in for a and c's first 20 folders (2,000 × 4 KiB).
    if a.quick:
        sets = {"a": ensure_single(a.data, 256)}
        sets["c"] = ensure_subset(a.data, ensure_generated(a.data, "c"), "c2000", 20)
        copy_sets = ["a", "c"]
    else:
        sets = {n: ensure_generated(a.data, n) for n in "abcd"}
        sets["e"] = ensure_real_tree(a.data)
        copy_sets = list("abcde")
    if a.datasets:
        copy_sets = [d for d in a.datasets.split(",") if d in sets]
    label = {n: n if not a.quick else {"a": "a (256 MiB)", "c": "c (2,000 × 4 KiB)"}[n] for n in sets}
    for n, p in sets.items():
        f, b = tree_summary(p)
        log(f"dataset {n}: {p}: {f} files, {b / 2**20:.0f} MiB")

    R = Runner(a, a.data)
    out = R.out
    aux = os.path.join(a.data, "out-aux")
    fcs_sync = f"{fcs} sync -q {LOG}"
    fcs_default = "fcs (defaults)"
    fcs_plain = "fcs --verify none, durability=none"
    quick_peers = {"cp -r", "rsync -a", "xcp -r", "cp -r && sync", "rsync -a && sync", "xcp -r && sync"}

    def pick(d):
        return {k: v for k, v in d.items() if not a.quick or k in quick_peers}

    extra = {}
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
    base = os.path.join(RESULTS, f"run-{stamp}{'-quick' if a.quick else ''}")

    floor = build_floor(a.data)
    if not floor:
        notes.append("No C compiler: the bare copier (bench/floor.c, the floor of creating the files) did not run.")

    def bare(n, sync=""):
        """The bare copier, on the datasets that are folders of small files."""
        return floor and n in ("c", "d") and f"{floor} {sets[n]} {out}{sync}"

    def plain(n):
        src = sets[n]
        R.scenario("plain", label[n], src, {
            fcs_default: f"{fcs_sync} {src} {out}",
            fcs_plain: not a.quick and f"{fcs_sync} --verify none --set durability=none {src} {out}",
            **pick(peers_copy(tools, src, out, False)),
            FLOOR_PEER: bare(n),
        }, ours=[fcs_default, fcs_plain], verify="fcs verifies (defaults) or not; peers do not")

    def durable(n):
        src = sets[n]
        R.scenario("durable", label[n], src, {
            fcs_default: f"{fcs_sync} {src} {out}",
            "fcs --verify none": f"{fcs_sync} --verify none {src} {out}",
            # The per-file fsync that was the default before durability=batch.
            "fcs --durability full": f"{fcs_sync} --durability full {src} {out}",
            **pick(peers_copy(tools, src, out, True)),
            # What fcs's default does, done by the simplest tools: a durable copy, then every
            # byte read back from the disk (O_DIRECT) — the physical floor of a verified copy.
            FLOOR_PEER + " && sync": bare(n, " && sync"),
            READBACK_PEER: n == "b" and not a.quick and (
                f"cp -r {src} {out} && sync && find {out} -type f "
                f"-exec dd if={{}} of=/dev/null bs=8M iflag=direct status=none ';'"),
        }, ours=[fcs_default, "fcs --verify none", "fcs --durability full"], durable=True)

    def cold(n):
        if not can_drop:
            if "cold" not in str(notes):
                notes.append("Cold-cache runs skipped: /proc/sys/vm/drop_caches is not writable (needs root).")
            return
        src = sets[n]
        R.scenario("cold", label[n], src, {
            fcs_default: f"{fcs_sync} {src} {out}",
            fcs_plain: f"{fcs_sync} --verify none --set durability=none {src} {out}",
            **{k: v for k, v in peers_copy(tools, src, out, False).items() if k != "rclone copy"},
        }, ours=[fcs_default, fcs_plain], cache="cold")

    def verified(n):
        """Each verify policy and verify_read vs the careful users' pipelines."""
        src = sets[n]
        _, size = tree_summary(src)
        sums = aux + ".b3"
        b3 = (f"cp -r {src} {out} && sync && (cd {src} && find . -type f -print0 | xargs -0 b3sum) > {sums}"
              f" && (cd {out} && b3sum -c --quiet {sums})")
        t = {"fcs --verify none": not a.quick and f"{fcs_sync} --verify none {src} {out}"}
        if n == "a":
            # lt_threshold (files < 2 GiB) verifies nothing of a 2 GiB file: same as none there.
            t["fcs --verify all, cache"] = f"{fcs_sync} --verify all --verify-read cache {src} {out}"
            t["fcs --verify all, device"] = f"{fcs_sync} --verify all --verify-read device {src} {out}"
            ours = ["fcs --verify all, cache", "fcs --verify all, device"]
            note = ("a's file is 2 GiB, so `lt_threshold` (< 2 GiB) does not verify it: "
                    "`--verify all` is the verified run.") if not a.quick else ""
        else:
            t["fcs lt_threshold, cache"] = f"{fcs_sync} --verify-read cache {src} {out}"
            t["fcs lt_threshold, device (defaults)"] = f"{fcs_sync} {src} {out}"
            ours = ["fcs lt_threshold, cache", "fcs lt_threshold, device (defaults)"]
            note = "Every file here is < 2 GiB, so `lt_threshold` verifies them all (= `all`)."
        t["cp && sync && b3sum && b3sum -c"] = b3
        if not a.quick:
            t["rsync -a + rsync -a --checksum"] = tools["rsync"] and f"rsync -a {src}/ {out}/ && rsync -a --checksum {src}/ {out}/"
            t["rclone copy + rclone check"] = tools["rclone"] and (
                f"rclone copy --local-no-check-updated {src} {out} && rclone check -q {src} {out}")
            if n == "a" and tools["fio"]:
                ff = aux + ".fio"
                t["fio write + read (O_DIRECT)"] = (
                    f"fio --name=w --filename={ff} --rw=write --bs=1M --size={size} --direct=1 --ioengine=sync --end_fsync=1 >/dev/null"
                    f" && fio --name=r --filename={ff} --rw=read --bs=1M --size={size} --direct=1 --ioengine=sync >/dev/null")
        R.scenario("verified", label[n], src, t, ours=ours, durable=True,
                   verify="fcs per policy; peers' pipelines check every byte",
                   check=lambda tool: not tool.startswith("fio"), notes=[note] if note else [])

    def rss(n):
        """Peak RSS of a verified DIRECT-LARGE copy of a per window size."""
        src = os.path.join(sets[n], "big.bin")
        extra["rss"] = {}
        for w in ([64] if a.quick else [16, 64, 256]):
            R.prepare(None, "warm")
            os.makedirs(out)
            _, kib = timed(f"{fcs} copy -q {LOG} {src} {out}/big.bin --verify all --set window={w}MiB --set direct_large_threshold=1MiB")
            extra["rss"][w] = kib
        shutil.rmtree(out, ignore_errors=True)

    def resync(n):
        """Sync again with nothing changed."""
        src = sets[n]
        shutil.rmtree(out, ignore_errors=True)
        sh(f"rsync -a {src}/ {out}/ && sync")  # same times everywhere: nobody has work to do
        R.scenario("resync", label[n], src, {
            "fcs sync": f"{fcs_sync} {src} {out}",
            "rsync -a": tools["rsync"] and f"rsync -a {src}/ {out}/",
            "cp -ru": f"cp -ru {src}/. {out}/",
            "rclone copy": not a.quick and tools["rclone"] and f"rclone copy --local-no-check-updated {src} {out}",
        }, ours=["fcs sync"], setup=lambda tool: None, check=lambda tool: tool == "fcs sync")

    def reverify(n):
        """Identical trees, both in the cache."""
        src = sets[n]
        shutil.rmtree(out, ignore_errors=True)
        sh(f"cp -a {src} {out} && sync")
        b3both = (f"(cd {src} && find . -type f -print0 | xargs -0 b3sum > /dev/null) & "
                  f"(cd {out} && find . -type f -print0 | xargs -0 b3sum > /dev/null); wait")
        t, notes_rv = {}, []
        if has_verify:
            t["fcs verify, cache"] = f"{fcs} verify -q {LOG} {src} {out} --set verify_read=cache"
            t["fcs verify (device)"] = f"{fcs} verify -q {LOG} {src} {out}"
        else:
            notes_rv.append("`fcs verify` is not implemented yet (`fcs verify --help` failed): only the peers ran.")
            if "fcs verify" not in str(notes):
                notes.append("`fcs verify` does not exist yet: the re-verify targets are not run (peers measured alone).")
        t["rsync -a --checksum -n"] = tools["rsync"] and f"rsync -a --checksum -n {src}/ {out}/"
        t["b3sum both (parallel)"] = b3both
        R.scenario("reverify", label[n], src, t, ours=[k for k in t if k.startswith("fcs")],
                   setup=lambda tool: sh(f"tar cf - -C {src} . -C {out} . > /dev/null 2>&1"),
                   check=False, verify="read both trees from the cache", notes=notes_rv)
        shutil.rmtree(out, ignore_errors=True)

    def compare(_n):
        """Two N-entry trees: time and peak RSS."""
        left, right = ensure_entries(a.data, a.entries)
        entries = 2 * (a.entries + -(-a.entries // 1000))
        c = {"files": a.entries, "entries": entries, "times": [], "rss_kib": 0, "peers": {}}
        peers = {"rsync -an": f"rsync -an {left}/ {right}/", "diff -rq": f"diff -rq {left} {right}"}
        pt = {p: [] for p in peers}
        prss = {p: 0 for p in peers}
        sh(f"find {left} {right} > /dev/null")
        for _ in range(a.reps):
            dt, kib = timed(f"{fcs} compare -q {LOG} {left} {right}", ok=(0, 1))
            c["times"].append(dt)
            c["rss_kib"] = max(c["rss_kib"], kib)
            for p, cmd in peers.items():
                dt, kib = timed(cmd)
                pt[p].append(dt)
                prss[p] = max(prss[p], kib)
        _, c["base_kib"] = timed(f"{fcs} compare -q {LOG} {sets['c']} {sets['c']}-missing", ok=(0, 1, 2))
        c["bytes_per_entry"] = c["rss_kib"] * 1024 / entries
        c["peers"] = {p: (pt[p], prss[p]) for p in peers}
        extra["compare"] = c
        log(f"== compare {entries} entries: {med(c['times']):.3f} s, {c['bytes_per_entry']:.0f} B/entry")

    def archive(n):
        """Everything kept, on files that have nothing but content, times and permissions."""
        src = sets[n]
        R.scenario("archive", label[n], src, {
            fcs_default: f"{fcs_sync} {src} {out}",
            "fcs -a": f"{fcs_sync} -a {src} {out}",
            "fcs -a -H": f"{fcs_sync} -a -H {src} {out}",
            "rsync -a": tools["rsync"] and f"rsync -a {src}/ {out}/",
            "rsync -aHAX": tools["rsync"] and f"rsync -aHAX {src}/ {out}/",
        }, ours=["fcs -a", "fcs -a -H", fcs_default],
            verify="fcs verifies and is durable (all three); rsync neither")

    def sparse(_n):
        """A mostly empty disk image: only its data is copied, its holes stay holes."""
        src = ensure_sparse(a.data)
        img, copy = os.path.join(src, "disk.img"), os.path.join(out, "disk.img")
        fcs_copy = f"mkdir -p {out} && {fcs} copy -q {LOG} {img} {copy}"
        R.scenario("sparse", "s (4 GiB image, 3 MiB of data)", src, {
            fcs_default: fcs_copy,
            "fcs durability=none": f"{fcs_copy} --set durability=none",
            "cp --sparse=always": f"mkdir -p {out} && cp --sparse=always {img} {copy}",
            "cp --sparse=always && sync": f"mkdir -p {out} && cp --sparse=always {img} {copy} && sync {copy} {out}",
            "rsync -aS": tools["rsync"] and f"rsync -aS {src}/ {out}/",
        }, ours=[fcs_default, "fcs durability=none"],
            verify="none (lt_threshold verifies files < 2 GiB); fcs (defaults) fsyncs the file and its folder")
        kib = {}
        for tool, cmd in (("fcs", fcs_copy), ("cp", f"mkdir -p {out} && cp --sparse=always {img} {copy}")):
            R.prepare(src, "warm")
            sh(cmd)
            kib[tool] = allocated_kib(out)
        shutil.rmtree(out, ignore_errors=True)
        extra["sparse"] = {**kib, "source": allocated_kib(src)}
        log(f"== sparse allocated: source {extra['sparse']['source']} KiB, fcs {kib['fcs']} KiB, cp {kib['cp']} KiB")

    # The order puts what the targets need first, so that an interrupted or time-boxed run
    # (the report is rewritten after every step) still answers them.
    steps = {"plain": plain, "durable": durable, "cold": cold, "verified": verified, "rss": rss,
             "resync": resync, "reverify": reverify, "compare": compare, "archive": archive,
             "sparse": sparse}
    if a.quick:
        schedule = [("plain", "a"), ("plain", "c"), ("verified", "a"), ("rss", "a"), ("resync", "c"),
                    ("reverify", "c"), ("compare", None), ("archive", "c"), ("sparse", None)]
    else:
        schedule = [("durable", "a"), ("verified", "a"), ("rss", "a"), ("plain", "c"), ("durable", "b"),
                    ("resync", "c"), ("reverify", "c"), ("reverify", "a"), ("compare", None),
                    ("archive", "c"), ("sparse", None),
                    ("plain", "a"), ("plain", "b"), ("plain", "d"), ("plain", "e"), ("durable", "c"),
                    ("verified", "c"), ("resync", "e"), ("cold", "a"), ("cold", "c")]
    schedule = [(st, n) for st, n in schedule if want(st) and (n is None or n in copy_sets)]
    for i, (st, n) in enumerate(schedule):
        steps[st](n)
        done = i + 1 == len(schedule)
        save(a, R, extra, notes, vers, stamp, fcs, base, started, final=done)


def save(a, R, extra, notes, vers, stamp, fcs, base, started, final):
    """Writes (or rewrites) the report; the chart only at the end."""
    report = write_report(a, R, extra, notes, vers, stamp, fcs)
    report += f"\nTotal harness time {(time.time() - started) / 60:.1f} min"
    report += ".\n" if final else f" so far — PARTIAL: {len(R.results)} scenarios done, the run goes on.\n"
    if a.no_write:
        if final:
            print(report)
        return
    os.makedirs(RESULTS, exist_ok=True)
    with open(base + ".json", "w") as f:
        json.dump({
            "title": f"fcs vs peers, {stamp} UTC{' (quick)' if a.quick else ''} — {machine()}",
            "results": R.results, "extra": extra,
            "ratios": [(r["scenario"], r["dataset"], o, p, x) for r in R.results for o, p, x in ratio_rows(r)
                       if o == r["ours"][0]],
            "targets": targets(R.results, extra),
        }, f, indent=1, default=str)
    if chart(base + ".json", base + ".png", a.skip_install):
        report += f"\n![ratios]({os.path.basename(base)}.png)\n"
    else:
        report += "\n(no chart: matplotlib is not available)\n"
    with open(base + ".md", "w") as f:
        f.write(report)
    if final:
        print(report)
        log(f"report: {base}.md")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The project's test command (the README's): formatting, lints, and every test of the workspace,
# natively and — for the Windows build — under Wine. The closing line counts every test of both
# runs: passed, failed, ignored (#[ignore]d, not run here) and filtered out (left out by name, with
# the reason beside the name, below and in scripts/test-windows.sh).
#
# * Tests that need root or tools (strace fault injection and crash sweeps, power cuts on loop
#   devices with xfs_io, chattr +i, exFAT/FAT/NTFS through FUSE, sshfs, bind mounts) are
#   #[ignore]d, each with its reason. As root (CI is) they run
#   too, in the same cargo run (`--include-ignored`), and fail — never pass unchecked — when what
#   they need is missing (scripts/test-deps.sh installs it first on Debian). Not root: they are
#   counted as ignored.
# * Permission tests re-run themselves as nobody when root (testkit::reran_as_nobody).
# * The fcs-gui window smoke test (scripts/gui-smoke.sh) runs when Xvfb is installed.
# * The Windows suite (scripts/test-windows.sh) runs when its toolchain is installed or can be
#   (as root on Debian); set FCS_SKIP_WINDOWS=1 to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
native=$(mktemp)
windows=$(mktemp)
python_log=$(mktemp)
trap 'rm -f "$native" "$windows" "$python_log"' EXIT
status=0

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The API docs build without a warning (every public item documented, no broken links).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

test_args=()
if [ "$(id -u)" = 0 ]; then
  ./scripts/test-deps.sh
fi
# Every crate built into the programs is under a licence deny.toml allows.
if command -v cargo-deny >/dev/null 2>&1; then
  # Every platform's crates (macOS, wasm) are read by the check, not only this one's.
  cargo fetch --locked >/dev/null
  cargo deny --offline check licenses
else
  echo "note: cargo-deny is not installed: the licence check did not run (cargo install --locked cargo-deny)" >&2
fi
if [ "$(id -u)" = 0 ]; then
  test_args=(
    --include-ignored
    # Ignored for its time, not for a need: a million GUI rows take about 15 s in a debug build
    # (run it with `cargo test -p fcs-gui -- --ignored`, or in release).
    --skip a_million_rows_lay_out_only_the_rows_in_view
  )
else
  echo "note: not root: the #[ignore]d tests (strace, loop devices, chattr) do not run" >&2
fi
cargo test --workspace --locked --no-fail-fast -- "${test_args[@]}" 2>&1 | tee "$native" ||
  status=1
# A test process killed mid-test cannot unmount its filesystems in Drop: nothing is left behind.
if [ "$(id -u)" = 0 ]; then
  ./test-support/unmount-leftovers.sh
fi
# The Python module (crates/py): its wheel, built from the same debug build, installed into a
# private virtualenv, and its pytest suite (the tkinter example among it, under Xvfb). pytest's
# closing line is counted with the others.
venv="${CARGO_TARGET_DIR:-$PWD/target}/py-venv"
if ./scripts/py-wheel.sh --venv "$venv" --with 'pytest>=7' >/dev/null; then
  "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider crates/py/tests 2>&1 | tee "$python_log" ||
    status=1
  # `29 passed, 1 skipped in 2.3s` → libtest's form, for count below.
  tail -n 1 "$python_log" | awk '{
      for (i = 1; i < NF; i++) { w = $(i + 1); sub(/,$/, "", w); n[w] += $i }
      printf "test result: python. %d passed; %d failed; %d ignored; 0 measured; %d filtered out\n",
        n["passed"], n["failed"] + n["error"] + n["errors"], n["skipped"], n["deselected"]
    }' >> "$python_log"
else
  echo "error: the Python wheel did not build or install" >&2
  status=1
fi
# The real fcs-gui window under Xvfb (skipped with a note when Xvfb is not installed).
./scripts/gui-smoke.sh || status=1
# The install script as a newcomer runs it (a debug build sharing this target folder): both
# programs, their completions and manual pages land under a scratch prefix and answer.
prefix=$(mktemp -d)
if CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" FCS_INSTALL_DEBUG=1 PREFIX="$prefix" \
  ./scripts/install.sh >/dev/null &&
  "$prefix/bin/fcs" --version >/dev/null && "$prefix/bin/fcs-gui" --version >/dev/null &&
  bash -c "source '$prefix/share/bash-completion/completions/fcs' && complete -p fcs" >/dev/null &&
  grep -q '^.TH fcs-sync 1' "$prefix/share/man/man1/fcs-sync.1"; then
  echo "install script: fcs, fcs-gui, completions and manual pages installed and answering (ok)"
else
  echo "error: the install script failed" >&2
  status=1
fi
rm -rf "$prefix"

if [ "${FCS_SKIP_WINDOWS:-0}" = 1 ]; then
  echo "note: FCS_SKIP_WINDOWS=1: the Windows suite under Wine was skipped" >&2
elif [ "$(id -u)" = 0 ] || { [ -x /usr/lib/wine/wine64 ] && [ -x /usr/bin/rustc ]; }; then
  ./scripts/test-windows.sh 2>&1 | tee "$windows" || status=1
  # The Windows wheel, cross-built from the same build folder (no Windows Python here to test it
  # with: crates/py/README.md); it must hold the extension module.
  # The listing is read whole before it is searched: `grep -q` stopping at the first match
  # would break the pipe under the listing's writer (a failure, with pipefail).
  if wheel=$(./scripts/py-wheel.sh --windows 2>/dev/null | tail -n 1) &&
    listing=$(python3 -m zipfile -l "$wheel") &&
    grep -q 'foldercomparesync/_native.pyd' <<<"$listing"; then
    echo "windows wheel: $(basename "$wheel") (ok)"
  else
    echo "error: the Windows wheel did not build" >&2
    status=1
  fi
  # The release artefacts from the same builds (debug here, to share them): the Windows zip and
  # MSI and the Linux tarball, then the MSI installed, run and removed under Wine.
  dist=$(mktemp -d)
  ./scripts/dist.sh --debug --check --out "$dist" 2>&1 | grep -v '^wine: Read access denied' ||
    status=1
  rm -rf "$dist"
  # The macOS backend of fsops keeps compiling: Debian's rustc with a std rebuilt for
  # x86_64-apple-darwin (the engine's C dependency, SQLite, needs Apple's SDK: fsops only).
  mac_log=$(mktemp)
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo check --locked -q -p fsops --all-targets \
    -Zbuild-std=std,panic_abort --target x86_64-apple-darwin \
    --target-dir "${CARGO_TARGET_DIR:-$PWD/target}/macos" > "$mac_log" 2>&1 || true
  if grep -q '^warning\|^error' "$mac_log"; then
    cat "$mac_log" >&2
    echo "error: the macOS backend of fsops does not compile cleanly" >&2
    status=1
  else
    echo "macOS backend (fsops, x86_64-apple-darwin): compiles (ok)"
  fi
  rm -f "$mac_log"
else
  echo "note: the Windows suite needs wine64 and rustc-web (run as root once to install them)" >&2
fi

# One line per run and a closing line over both, from libtest's lines
# `test result: ok. P passed; F failed; I ignored; M measured; O filtered out; finished in …`.
count() {
  awk -v run="$1" '
    /^test result:/ {
      for (i = 4; i < NF; i++) {
        w = $(i + 1)
        sub(/[;.,]$/, "", w)
        if (w == "passed") p += $i
        else if (w == "failed") f += $i
        else if (w == "ignored") g += $i
        else if (w == "filtered") o += $i
      }
    }
    END { printf "%s: %d passed, %d failed, %d ignored, %d filtered out\n", run, p, f, g, o }
  ' "${@:2}"
}
count native "$native"
count python "$python_log"
[ -s "$windows" ] && count windows "$windows"
count total "$native" "$python_log" "$windows"
if [ "$status" != 0 ]; then
  echo "error: a test, a test binary or a build failed (see above)" >&2
fi
exit "$status"

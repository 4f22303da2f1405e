#!/usr/bin/env bash
# The project's test command (the README's): formatting, lints, and every test of the workspace,
# natively and — for the Windows build — under Wine.
#
# * Fault-injection tests (strace errno injection) run when strace is installed.
# * Root-only checks (chattr +i, setpriv to an unprivileged user) run when we are root.
# * The fcs-gui window smoke test (scripts/gui-smoke.sh) runs when Xvfb is installed.
# * The Windows suite (scripts/test-windows.sh) runs when its toolchain is installed or can be
#   (as root on Debian); set FCS_SKIP_WINDOWS=1 to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if command -v strace >/dev/null 2>&1; then
  export FCS_FAULT_TESTS=1
else
  echo "note: strace not installed; the errno-injection tests will be skipped" >&2
fi
cargo test --workspace --locked 2>&1 | tee -a "$out"
# The real fcs-gui window under Xvfb (skipped with a note when Xvfb is not installed).
./scripts/gui-smoke.sh

if [ "${FCS_SKIP_WINDOWS:-0}" = 1 ]; then
  echo "note: FCS_SKIP_WINDOWS=1: the Windows suite under Wine was skipped" >&2
elif [ "$(id -u)" = 0 ] || { [ -x /usr/lib/wine/wine64 ] && [ -x /usr/bin/rustc ]; }; then
  ./scripts/test-windows.sh 2>&1 | tee -a "$out"
else
  echo "note: the Windows suite needs wine64 and rustc-web (run as root once to install them)" >&2
fi

# One closing line over every test binary, native and Windows.
awk '/^test result:/ { p += $4; f += $6 } END { printf "total: %d passed, %d failed\n", p, f }' "$out"

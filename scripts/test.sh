#!/usr/bin/env bash
# The project's test command (the README's): formatting, lints, and every test of the workspace.
# Fault-injection tests (strace errno injection) run when strace is installed, as CI installs it;
# root-only checks (chattr +i on a read-only target directory) run when we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if command -v strace >/dev/null 2>&1; then
  export FCS_FAULT_TESTS=1
else
  echo "note: strace not installed; the errno-injection tests will be skipped" >&2
fi
cargo test --workspace --locked

#!/usr/bin/env bash
# Builds the Python module's wheel (foldercomparesync, one abi3 wheel for CPython >= 3.9) with
# maturin, and installs it into a virtualenv.
#
#   scripts/py-wheel.sh [--release] [--venv DIR] [--with PKG]... [--windows] [--out DIR]
#
#   --release   an optimised build (the default is the debug profile, which shares the test
#               build's compiled crates: the test command builds its wheel this way)
#   --venv DIR  create the virtualenv DIR if needed and install the wheel into it
#   --with PKG  also install PKG into it from PyPI (e.g. pytest)
#   --windows   cross-build the Windows wheel (x86_64-pc-windows-gnu, mingw) instead; it is not
#               installed anywhere (no Windows Python here: see crates/py/README.md)
#   --out DIR   where the wheel goes (default: target/wheels, or under $CARGO_TARGET_DIR)
#
# maturin comes from PyPI into a private build virtualenv (target/py-build), made once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_root=${CARGO_TARGET_DIR:-$root/target}

profile=()
venv=""
with=()
windows=0
out="$target_root/wheels"
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=(--release) ;;
    --venv) venv=$2; shift ;;
    --with) with+=("$2"); shift ;;
    --windows) windows=1 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

python=${PYTHON:-python3}
build_venv="$target_root/py-build"
if [ ! -x "$build_venv/bin/maturin" ]; then
  "$python" -m venv "$build_venv"
  "$build_venv/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.9.4,<2'
fi
mkdir -p "$out"

if [ "$windows" = 1 ]; then
  # shellcheck source=scripts/windows-env.sh
  source "$root/scripts/windows-env.sh"
  rm -f "$out"/foldercomparesync-*-win_amd64.whl
  "$build_venv/bin/maturin" build --locked "${profile[@]}" -m crates/py/Cargo.toml \
    --target x86_64-pc-windows-gnu --target-dir "$windows_target_dir" -o "$out" \
    -Zbuild-std=std,panic_abort
  ls "$out"/foldercomparesync-*-win_amd64.whl
  exit 0
fi

rm -f "$out"/foldercomparesync-*linux*.whl
"$build_venv/bin/maturin" build --locked "${profile[@]}" -m crates/py/Cargo.toml -o "$out"
wheel=$(ls "$out"/foldercomparesync-*linux*.whl)
echo "$wheel"
if [ -n "$venv" ]; then
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
  if [ ${#with[@]} -gt 0 ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${with[@]}"
  fi
fi

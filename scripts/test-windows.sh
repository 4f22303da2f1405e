#!/usr/bin/env bash
# Builds the workspace for Windows (x86_64-pc-windows-gnu) and runs its whole test suite under
# Wine, as WINDOWS.md describes. Extra arguments go to `cargo test` (e.g. `-- --nocapture`).
# Tests of what Wine lacks and Windows has are left out by name (see wine_skips). Exits non-zero
# when any test fails.
#
# Needs Debian's rustc-web (a rustc whose std can be rebuilt for the target with -Zbuild-std,
# from rust-web-src), the mingw-w64 C toolchain (linker, and the compiler for the DLL shim below)
# and wine64. They are installed when missing, which needs root.
#
# Everything Wine-related lives under target/wine (its own WINEPREFIX, so CI and a developer's
# ~/.wine never share state) and the build under target/windows, so the native build in target/
# is not invalidated. Running it twice does no repeated work beyond the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# --- packages ------------------------------------------------------------------------------------
packages=(rustc-web rust-web-src gcc-mingw-w64-x86-64 wine64)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing packages: ${missing[*]} (run as root on Debian, or install them)" >&2
    exit 1
  fi
  echo "installing ${missing[*]} …" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
for f in /usr/bin/rustc "$wine" "$wineserver"; do
  [ -x "$f" ] || { echo "error: $f not found after installing ${packages[*]}" >&2; exit 1; }
done

# --- bcryptprimitives.dll shim (Wine 8 has none; Rust's std imports ProcessPrng from it) --------
wine_dir="$root/target/wine"
dll_dir="$wine_dir/dll"
shim_src=test-support/wine/prng_shim.c
shim_dll="$dll_dir/bcryptprimitives.dll"
mkdir -p "$dll_dir"
if [ ! -f "$shim_dll" ] || [ "$shim_src" -nt "$shim_dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -Wextra -Werror \
    -o "$shim_dll.tmp" "$shim_src" -ladvapi32
  mv -f "$shim_dll.tmp" "$shim_dll"
fi

# --- a private Wine prefix --------------------------------------------------------------------------
export WINEPREFIX="$wine_dir/prefix"
export WINEDEBUG=-all
# No Mono/Gecko install prompts when the prefix is created, no desktop menu entries written to
# the user's home.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
# Wine's Z: drive is the Unix root, so the DLL folder's Windows path is Z: plus the Unix path.
export WINEPATH="Z:${dll_dir//\//\\}"
# Whatever we started in this prefix (wineserver, a stray child) ends with the script.
trap '"$wineserver" -k >/dev/null 2>&1 || true' EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  "$wine" wineboot -i >/dev/null 2>&1
  "$wineserver" -w
fi

# Keep one wineserver alive for the whole run: each test binary is a new Wine process, and one
# starting just as an idle server exits dies with "recvmsg: Connection reset by peer".
"$wineserver" -p

# A UNC path that reaches a local folder, for the UNC-policy tests: Wine resolves
# \\server\share\… through $WINEPREFIX/dosdevices/unc/server/share.
unc_dir="$wine_dir/unc-share"
mkdir -p "$unc_dir" "$WINEPREFIX/dosdevices/unc/fcs-test"
ln -sfn "$unc_dir" "$WINEPREFIX/dosdevices/unc/fcs-test/share"
export FCS_TEST_UNC_DIR='\\fcs-test\share'

# --- tests of what Wine does not do --------------------------------------------------------------
# Each keeps its assertion for real Windows (the reason is also beside the test); under Wine it is
# left out by name, so the run counts it as filtered out rather than passing it unchecked.
wine_skips=(
  # Wine's CopyFileExW never calls the progress routine, so a cancel cannot stop it mid-copy
  # (windows::a_cancelled_copy_file_ex_copy_leaves_the_old_target_and_no_temp still runs).
  --skip windows::the_copy_file_ex_progress_routine_reports_and_cancel_stops_the_copy
  # Wine on a Linux host keeps no settable creation time.
  --skip windows::creation_time_round_trips_through_every_strategy
  # Wine's rename replaces a read-only target, as rename(2) does; Windows refuses.
  --skip windows::a_read_only_target_fails_the_rename_and_stays_intact
  # Wine cannot open a file without updating its access time: the host kernel updates it when
  # the verify reads the copy (copy::times_and_permissions_are_preserved still runs).
  --skip copy::the_access_time_is_preserved
  # fsops' own Windows tests of the same gaps: the progress routine; FILE_FLAG_NO_BUFFERING, which
  # Wine ignores (reads go through the host's cache, so alignment is not enforced); the access time
  # (the host kernel updates it); GetFinalPathNameByHandleW, which in Wine 8 cannot return paths
  # over MAX_PATH.
  --skip windows::tests::copy_file_ex_calls_the_progress_routine
  --skip windows::tests::an_unaligned_unbuffered_read_is_refused
  --skip windows::tests::reading_back_leaves_the_access_time_alone
  --skip windows::tests::drive_info_resolves_a_path_longer_than_max_path
)

# --- build and test ----------------------------------------------------------------------------------
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"
# Arguments before a `--` go to cargo, those after it to the test binaries, after the skips.
cargo_args=()
test_args=()
for a in "$@"; do
  if [ ${#test_args[@]} -gt 0 ] || [ "$a" = -- ]; then
    test_args+=("$a")
  else
    cargo_args+=("$a")
  fi
done
[ ${#test_args[@]} -gt 0 ] && test_args=("${test_args[@]:1}")
cargo test --workspace --locked --no-fail-fast -Zbuild-std=std,panic_abort \
  --target x86_64-pc-windows-gnu --target-dir target/windows "${cargo_args[@]}" \
  -- "${wine_skips[@]}" "${test_args[@]}"

#!/usr/bin/env bash
# Sourced by scripts/test-windows.sh and scripts/dist.sh: the Windows toolchain (Debian's
# rustc-web, whose std can be rebuilt for x86_64-pc-windows-gnu with -Zbuild-std, from
# rust-web-src; mingw-w64; wine64; wixl for the MSI), installed when missing (needs root), and
# a private Wine prefix under $target_root/wine (CI and a developer's ~/.wine never share
# state). The Windows build goes to $target_root/windows, so the native build is not
# invalidated. $target_root is $CARGO_TARGET_DIR, else target/ of the checkout.
# Expects `root` (the checkout) to be set; exports the cargo and Wine variables.

target_root=${CARGO_TARGET_DIR:-$root/target}

# --- packages ------------------------------------------------------------------------------------
packages=(rustc-web rust-web-src gcc-mingw-w64-x86-64 wine64 wixl msitools)
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
wine_dir="$target_root/wine"
dll_dir="$wine_dir/dll"
shim_src="$root/test-support/wine/prng_shim.c"
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

# --- the cross build ---------------------------------------------------------------------------------
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"
windows_target_dir="$target_root/windows"

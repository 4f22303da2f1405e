#!/usr/bin/env bash
# Release artefacts in dist/, each with a .sha256 beside it:
#   fcs-<version>-x86_64-pc-windows-gnu.zip   fcs.exe, fcs-gui.exe (cross-built here), licences, README
#   fcs-<version>-x86_64-pc-windows-gnu.msi   the same, installed under Program Files with a
#                                             Start-menu shortcut (made with wixl, packaging/fcs.wxs)
#   fcs-<version>-x86_64-unknown-linux-gnu.tar.gz  fcs, fcs-gui, completions, man pages, licences
#
#   scripts/dist.sh            # release builds (stripped, thin LTO)
#   scripts/dist.sh --debug    # packages the debug builds the tests made (quick; for checking)
#   scripts/dist.sh --check    # then installs the MSI under Wine, runs fcs.exe from Program Files
#                              # (--version and a small sync), uninstalls it, and checks nothing is left
#   scripts/dist.sh --out DIR  # writes there instead of dist/
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

profile=release
check=0
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug ;;
    --check) check=1 ;;
    --out) out=$(realpath -m "$2"); shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
native_target=${CARGO_TARGET_DIR:-$root/target}

# The third-party licence report shipped beside the programs: every crate built into them, its
# version and licence (the same graph `cargo deny check licenses` checks against deny.toml).
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "error: cargo-deny is needed for the licence report: cargo install --locked cargo-deny" >&2
  exit 1
fi
cargo deny --offline check licenses 2>/dev/null || { echo "error: cargo deny check licenses failed" >&2; exit 1; }
{
  echo "Third-party crates built into fcs and fcs-gui, with their licences (SPDX)."
  echo "fcs itself: MIT OR Apache-2.0 (LICENSE-MIT, LICENSE-APACHE)."
  echo
  cargo deny --offline --exclude-dev --exclude fcs-py --exclude fcs-testkit list -l crate -f human 2>/dev/null |
    grep -v '^fcs-\|^fsops@'
} > "$stage/THIRD-PARTY-LICENSES.txt"

# --- Linux: built before the Windows toolchain's variables are set (they name Debian's rustc) ---
if [ "$profile" = release ]; then
  cargo build --locked --release -p fcs-cli -p fcs-gui
fi
lin="$native_target/$profile"
lname="fcs-$version-x86_64-unknown-linux-gnu"
mkdir -p "$stage/$lname/completions" "$stage/$lname/man"
cp "$lin/fcs" "$lin/fcs-gui" LICENSE-MIT LICENSE-APACHE README.md "$stage/THIRD-PARTY-LICENSES.txt" \
  "$stage/$lname/"
for sh in bash zsh fish; do "$lin/fcs" completions "$sh" > "$stage/$lname/completions/fcs.$sh"; done
"$lin/fcs" man > "$stage/$lname/man/fcs.1"
for c in compare sync copy move verify resume settings logs bench completions man; do
  "$lin/fcs" man "$c" > "$stage/$lname/man/fcs-$c.1"
done
tar -C "$stage" -czf "$out/$lname.tar.gz" "$lname"

# --- Windows ---------------------------------------------------------------------------------------
# shellcheck source=scripts/windows-env.sh
source "$root/scripts/windows-env.sh"
# (windows-env.sh's own exit trap stops the wineserver; the stage goes too.)
trap 'rm -rf "$stage"; "$wineserver" -k >/dev/null 2>&1 || true' EXIT
if [ "$profile" = release ]; then
  cargo build --locked --release -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu \
    --target-dir "$windows_target_dir" -p fcs-cli -p fcs-gui
fi
win="$windows_target_dir/x86_64-pc-windows-gnu/$profile"
wname="fcs-$version-x86_64-pc-windows-gnu"
mkdir -p "$stage/$wname"
cp "$win/fcs.exe" "$win/fcs-gui.exe" LICENSE-MIT LICENSE-APACHE README.md \
  "$stage/THIRD-PARTY-LICENSES.txt" "$stage/$wname/"
(cd "$stage" && python3 -m zipfile -c "$out/$wname.zip" "$wname")
# wixl takes the sources relative to where it runs.
(cd "$stage" && wixl -a x64 -D Version="$version" -D SourceDir="$wname" \
  -o "$out/$wname.msi" "$root/packaging/fcs.wxs")
# fcs on PATH: wixl has no Environment element, so its rows go into the built MSI with msibuild
# — the system PATH gets the install folder appended ("[~];…"), and loses it on uninstall ("-") —
# with the two standard actions that apply them.
msiinfo export "$out/$wname.msi" InstallExecuteSequence > "$stage/seq.idt"
printf 'RemoveEnvironmentStrings\t\t3300\r\nWriteEnvironmentStrings\t\t5200\r\n' >> "$stage/seq.idt"
printf 'Environment\tName\tValue\tComponent_\r\ns72\tl255\tS255\ts72\r\nEnvironment\tEnvironment\r\nPathFcs\t=-*PATH\t[~];[INSTALLDIR]\tPrograms\r\n' \
  > "$stage/Environment.idt"
msibuild "$out/$wname.msi" -i "$stage/seq.idt"
msibuild "$out/$wname.msi" -i "$stage/Environment.idt"

(cd "$out" && for f in "$wname.zip" "$wname.msi" "$lname.tar.gz"; do sha256sum "$f" > "$f.sha256"; done)
ls -l "$out"

# --- the MSI, installed, used and removed under Wine ---------------------------------------------
if [ "$check" = 1 ]; then
  msi="Z:${out//\//\\}\\$wname.msi"
  installed="$WINEPREFIX/drive_c/Program Files/FolderCompareSync"
  rm -rf "$installed"
  "$wine" msiexec /i "$msi" /qn
  for f in fcs.exe fcs-gui.exe LICENSE-MIT.txt LICENSE-APACHE.txt THIRD-PARTY-LICENSES.txt; do
    [ -f "$installed/$f" ] || { echo "error: the MSI did not install $f" >&2; exit 1; }
  done
  env_key='HKLM\System\CurrentControlSet\Control\Session Manager\Environment'
  system_path() { "$wine" reg query "$env_key" /v PATH | tr -d '\r' | grep -i 'REG_'; }
  system_path | grep -qiF 'C:\Program Files\FolderCompareSync' ||
    { echo "error: the MSI did not add its folder to PATH: $(system_path)" >&2; exit 1; }
  got=$("$wine" 'C:\Program Files\FolderCompareSync\fcs.exe' --version | tr -d '\r')
  [ "$got" = "fcs $version" ] || { echo "error: the installed fcs.exe says '$got'" >&2; exit 1; }
  mkdir -p "$stage/sync/L/sub"
  echo "from the installed fcs.exe" > "$stage/sync/L/sub/a.txt"
  "$wine" 'C:\Program Files\FolderCompareSync\fcs.exe' sync -q --log NUL \
    "Z:${stage//\//\\}\\sync\\L" "Z:${stage//\//\\}\\sync\\R"
  cmp "$stage/sync/L/sub/a.txt" "$stage/sync/R/sub/a.txt"
  "$wine" msiexec /x "$msi" /qn
  if system_path | grep -qiF 'FolderCompareSync'; then
    echo "error: the uninstall left the folder on PATH: $(system_path)" >&2
    exit 1
  fi
  if [ -e "$installed" ] || [ -n "$(find "$WINEPREFIX/drive_c" -iname '*FolderCompareSync*')" ]; then
    echo "error: the MSI's uninstall left files behind:" >&2
    find "$WINEPREFIX/drive_c" -iname '*FolderCompareSync*' >&2
    exit 1
  fi
  echo "MSI: installed under Wine (folder on PATH), fcs.exe --version and a sync ran from Program Files, uninstalled clean (ok)"
fi

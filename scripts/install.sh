#!/usr/bin/env bash
# Installs fcs and fcs-gui from this checkout (`cargo install --locked`: the dependency versions
# the tests ran with), with shell completions (bash, zsh, fish) and manual pages, under $PREFIX
# (default ~/.local: bin/, share/bash-completion, share/zsh/site-functions, share/fish,
# share/man/man1 — places those shells and `man` look in by themselves on most systems).
#
#   scripts/install.sh               # both programs, release build
#   scripts/install.sh --no-gui      # fcs only
#   PREFIX=/usr/local scripts/install.sh
#   FCS_INSTALL_DEBUG=1 scripts/install.sh   # a debug build (quick; for trying the script)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${PREFIX:-$HOME/.local}
gui=1
for a in "$@"; do
  case "$a" in
    --no-gui) gui=0 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $a (see --help)" >&2; exit 2 ;;
  esac
done
profile=()
[ -n "${FCS_INSTALL_DEBUG:-}" ] && profile=(--debug)

cargo install --quiet --locked "${profile[@]}" --force --root "$prefix" --path crates/cli
if [ "$gui" = 1 ]; then
  cargo install --quiet --locked "${profile[@]}" --force --root "$prefix" --path crates/gui
fi

fcs="$prefix/bin/fcs"
share="$prefix/share"
mkdir -p "$share/bash-completion/completions" "$share/zsh/site-functions" \
  "$share/fish/vendor_completions.d" "$share/man/man1"
"$fcs" completions bash > "$share/bash-completion/completions/fcs"
"$fcs" completions zsh > "$share/zsh/site-functions/_fcs"
"$fcs" completions fish > "$share/fish/vendor_completions.d/fcs.fish"
"$fcs" man > "$share/man/man1/fcs.1"
for c in compare sync copy move verify resume settings bench completions man; do
  "$fcs" man "$c" > "$share/man/man1/fcs-$c.1"
done

echo "installed $("$fcs" --version) in $prefix/bin$([ "$gui" = 1 ] && echo ' (with fcs-gui)'),"
echo "completions and manual pages in $share."
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it (e.g. in ~/.profile)." ;;
esac

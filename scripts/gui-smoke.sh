#!/usr/bin/env bash
# Starts the real fcs-gui window under a virtual X server (Xvfb, Mesa's software OpenGL) on two
# generated folders with --compare, checks that the window opens and the app is still running
# after the comparison, and optionally saves a screenshot:
#
#   scripts/gui-smoke.sh [SCREENSHOT.png]
#
# The kittest tests (cargo test -p fcs-gui) drive the app without any window or GPU; this is the
# check that the native window itself (winit + glow) starts. Needs Xvfb and xwininfo (x11-utils);
# a screenshot also needs ImageMagick's `import`. Exits 0 with a note when Xvfb is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
shot=${1:-}

if ! command -v Xvfb >/dev/null 2>&1 || ! command -v xwininfo >/dev/null 2>&1; then
  echo "note: Xvfb or xwininfo not installed; the GUI window smoke test was skipped" >&2
  exit 0
fi

cargo build -p fcs-gui --locked -q
bin="${CARGO_TARGET_DIR:-target}/debug/fcs-gui"

work=$(mktemp -d)
display=:$((90 + RANDOM % 400))
xvfb_pid=
app_pid=
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Two trees that differ in every way the trees can show.
mkdir -p "$work/L/docs/old" "$work/L/src" "$work/R/docs" "$work/R/src/new"
for i in $(seq 1 40); do echo "file $i" >"$work/L/src/f$i.rs"; done
cp -a "$work/L/src/." "$work/R/src/"
echo changed >>"$work/R/src/f3.rs"
echo only-left >"$work/L/docs/old/notes.md"
echo only-right >"$work/R/src/new/mod.rs"

Xvfb "$display" -screen 0 1600x950x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do
  xwininfo -display "$display" -root >/dev/null 2>&1 && break
  sleep 0.1
done

# Settings and window state go to the temp folder, never the user's.
DISPLAY=$display XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config LIBGL_ALWAYS_SOFTWARE=1 \
  WAYLAND_DISPLAY= "$bin" --compare "$work/L" "$work/R" >"$work/app.log" 2>&1 &
app_pid=$!

found=
for _ in $(seq 1 100); do
  if xwininfo -display "$display" -root -tree 2>/dev/null | grep -q '"FolderCompareSync"'; then
    found=1
    break
  fi
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$found" ]; then
  echo "error: the fcs-gui window did not open" >&2
  cat "$work/app.log" >&2
  exit 1
fi
# Let the comparison finish and a few frames draw.
sleep 3
if ! kill -0 "$app_pid" 2>/dev/null; then
  echo "error: fcs-gui exited after opening its window" >&2
  cat "$work/app.log" >&2
  exit 1
fi
if [ -n "$shot" ]; then
  DISPLAY=$display import -window root "$shot"
  echo "screenshot: $shot"
fi
echo "gui smoke test: the window opened and compared (ok)"

#!/usr/bin/env bash
# Starts the real fcs-gui window under a virtual X server (Xvfb, Mesa's software OpenGL) on two
# generated folders with --compare, checks that the window opens and the app is still running
# after the comparison, and optionally saves a screenshot:
#
#   scripts/gui-smoke.sh [SCREENSHOT.png [WIDTHxHEIGHT [system|light|dark [SCALE]]]]
#
# (The screen and the window get that size in pixels, default 1600x950; SCALE, e.g. 1.5, is the
# display scaling the window is drawn at. docs/gui-*.png are made this way.)
#
# The kittest tests (cargo test -p fcs-gui) drive the app without any window or GPU; this is the
# check that the native window itself (winit + glow) starts. Needs Xvfb and xwininfo (x11-utils);
# a screenshot also needs ImageMagick's `import`. Exits 0 with a note when Xvfb is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
shot=${1:-}
size=${2:-1600x950}
theme=${3:-system}
scale=${4:-1}
# The window's size in logical pixels fills the screen at that scaling.
logical=$(awk -v s="$size" -v k="$scale" 'BEGIN { split(s, a, "x"); printf "%dx%d", a[1] / k, a[2] / k }')

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

# Two trees that differ in every way the grid can show: one-sided files and folders, a newer
# file on each side, a changed size with the same time, a file where the other side has a
# folder, permissions only, and equal files.
mkdir -p "$work/L/docs/old" "$work/L/src" "$work/R/docs" "$work/R/src/new" "$work/R/build"
for i in $(seq 1 40); do echo "file $i" >"$work/L/src/f$i.rs"; done
echo "# Project" >"$work/L/README.md"
echo "report" >"$work/L/docs/report.txt"
echo "build log" >"$work/L/build"
cp -a "$work/L/src/." "$work/R/src/"
cp -a "$work/L/README.md" "$work/R/README.md"
echo "report, revised on the right" >"$work/R/docs/report.txt"
echo "changed on the left" >>"$work/L/src/f2.rs"
echo changed >>"$work/R/src/f3.rs"
touch -d '2026-01-01 10:00' "$work/L/src/f3.rs" "$work/R/src/f3.rs" "$work/L/docs/report.txt"
touch -d '2026-02-01 10:00' "$work/R/docs/report.txt"
touch -d '2026-03-01 10:00' "$work/L/src/f2.rs"
touch -d '2026-01-01 10:00' "$work/R/src/f2.rs"
chmod 600 "$work/R/src/f5.rs"
echo only-left >"$work/L/docs/old/notes.md"
echo only-right >"$work/R/src/new/mod.rs"
echo "object" >"$work/R/build/main.o"

Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do
  xwininfo -display "$display" -root >/dev/null 2>&1 && break
  sleep 0.1
done

# Settings and window state go to the temp folder, never the user's.
DISPLAY=$display XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config LIBGL_ALWAYS_SOFTWARE=1 \
  WINIT_X11_SCALE_FACTOR=$scale \
  WAYLAND_DISPLAY= "$bin" --size "$logical" --theme "$theme" --compare "$work/L" "$work/R" >"$work/app.log" 2>&1 &
app_pid=$!

found=
for _ in $(seq 1 100); do
  # Read whole, then searched: `grep -q` in a pipe would break it under xwininfo (pipefail).
  windows=$(xwininfo -display "$display" -root -tree 2>/dev/null || true)
  if grep -q '"FolderCompareSync"' <<<"$windows"; then
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
  # The pointer rests in a corner, away from any hover text.
  if command -v xdotool >/dev/null 2>&1; then
    DISPLAY=$display xdotool mousemove 0 0 && sleep 0.5
  fi
  DISPLAY=$display import -window root "$shot"
  echo "screenshot: $shot"
fi
echo "gui smoke test: the window opened and compared (ok)"

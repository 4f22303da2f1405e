#!/usr/bin/env bash
# Unmounts what a killed test process left mounted (testkit::mounts mounts below temp folders
# named fcs-mount-*; its Drop unmounts them unless the process died) and detaches their loop
# devices. Safe to run any time; prints what it removed.
set -uo pipefail
awk '{ print $5 }' /proc/self/mountinfo | grep '/fcs-mount-' | sort -r | while read -r m; do
  echo "unmounting leftover $m"
  fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m"
done
losetup -a 2>/dev/null | grep '/fcs-mount-' | cut -d: -f1 | while read -r dev; do
  echo "detaching leftover $dev"
  losetup -d "$dev"
done
exit 0

#!/usr/bin/env bash
# Runs, as root, the tests that are #[ignore]d only because they need root and FUSE (their ignore
# reason starts with "needs root"): real exFAT/FAT/NTFS/sshfs targets, bind mounts, the harness's
# own checks (testkit::mounts). Tests whose reason starts with "pending:" stay ignored.
#
# Needs: exfatprogs exfat-fuse dosfstools fusefat ntfs-3g sshfs openssh-server openssh-client
# fuse3 strace (a missing tool fails the test that needs it, naming the package).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "run-root-tests.sh: needs root (mounts, loop devices, FUSE)" >&2
  exit 1
fi
status=0
for f in crates/*/tests/*.rs; do
  names=$(awk '
    /#\[ignore = "needs root/ { want = 1; next }
    want && /^fn / { sub(/^fn /, ""); sub(/\(.*/, ""); print; want = 0; next }
    want && !/^#\[/ { want = 0 }' "$f")
  [ -n "$names" ] || continue
  crate_dir=${f%%/tests/*}
  pkg=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$crate_dir/Cargo.toml" | head -n 1)
  # shellcheck disable=SC2086 # one argument per test name
  cargo test -p "$pkg" --test "$(basename "$f" .rs)" --locked -- --ignored --exact $names || status=1
done
# A killed test process cannot unmount in Drop; make sure nothing is left either way.
"$(dirname "$0")/unmount-leftovers.sh"
exit $status

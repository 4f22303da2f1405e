//! Real filesystems for tests: guards that make and mount a filesystem in a temp folder and
//! unmount it on `Drop` — also when the test panics — so a test can run `fcs` against the
//! targets users have (USB sticks and SD cards formatted exFAT or FAT, Windows disks, network
//! shares) on a kernel without their drivers. Everything here needs root and FUSE; a missing tool
//! is a panic that names the package, never a silent skip.
//!
//! What each filesystem does, measured here with small probes (Debian 12 packages; kernel without
//! vfat/exfat/ntfs drivers; the FUSE drivers below):
//!
//! | guard | case | mtime | symlinks | chmod | illegal names | fsync |
//! |---|---|---|---|---|---|---|
//! | [`Mount::exfat`] (exfat-fuse 1.3.0 on a loop device) | insensitive, honest case-only renames | 1 s, truncated | ENOSYS | accepted, ignored (always 0777) | `:` `?` … → ENOENT | file and folder fsync reach the device |
//! | [`Mount::fat`] (fusefat 0.1a, FAT16 image) | insensitive (ASCII only) | 2 s, truncated to even | ENOSYS | ENOSYS (always 0700) | `:` `?` … and every non-ASCII name → EPERM | succeeds, does nothing |
//! | [`Mount::ntfs`] (ntfs-3g 2022.10.3 `-o windows_names`) | sensitive | 100 ns | yes (reparse points) | accepted, ignored (always 0777) | `:` `?` `CON` `x.` … → EINVAL | file and folder fsync reach the image |
//! | [`Mount::ntfs_ignore_case`] (lowntfs-3g `-o ignore_case,windows_names`) | insensitive, listings lower-cased, case-only renames a silent no-op | 100 ns | yes | ignored | EINVAL | as ntfs-3g |
//! | [`Mount::sshfs`] (sshfs 3.7.3 → OpenSSH 9.2 on loopback) | sensitive | 1 s, truncated | yes | yes, setuid kept | none | file: server fsyncs; folder: succeeds, not forwarded |
//!
//! ("fsync" was measured by tracing the FUSE daemon, or the sftp server, while a file and its
//! folder were fsynced: which of them made an `fsync` of their own.)
//!
//! Details worth knowing when a test fails on one of them:
//!
//! * **exfat-fuse** refuses an image file ("Block device required") when run as root, so the
//!   image goes through a loop device. Case folding covers more than ASCII (`É.txt` opens
//!   `é.txt`), but NFC `é` and NFD `é` are two names. `rename("Docs", "docs")` works for files and
//!   folders; `rename("a", "B")` with an existing `b` replaces `b`. A failed `mkfifo` (EIO) leaves
//!   a regular file of that name behind. No hard links (EPERM), no chown (EPERM); `fallocate`,
//!   `fsync` and directory `fsync` succeed. Names longer than 255 bytes are accepted (255 UTF-16
//!   units).
//! * **fusefat** works on the image file directly (`-o rw+` is its "really write" switch). It
//!   stores no name outside ASCII (EPERM), so NFC/NFD tests cannot run on it. A case-only rename of
//!   a file works; of a folder (`Docs` → `docs`) it fails with EPERM, so a tool needs two renames
//!   there. A failed `mkfifo` (EIO) leaves a regular file behind too. `fsync` of a file or a
//!   folder succeeds, yet the daemon never calls `fsync` on its image: durability tests cannot
//!   run on it. It prints its own diagnostics on stdout and stderr.
//! * **ntfs-3g** is POSIX-like: case-sensitive, FIFOs and symlinks work, NFC/NFD are two names;
//!   without a user mapping every mode reads 0777 and `chmod` changes nothing.
//! * **lowntfs-3g `ignore_case`** folds case beyond ASCII (`É.txt` opens `é.txt`), lists every
//!   name in lower case (so the stored spelling is only visible through [`Mount::stored_names`], which
//!   remounts case-sensitively), and `rename("report.txt", "Report.txt")` returns 0 but keeps the
//!   old spelling on disk — a rename that lies.
//! * **sshfs** renames over an existing file (OpenSSH's posix-rename extension), forwards a
//!   file's `fsync` (fsync@openssh.com) but answers a folder's `fsync` itself, and supports hard
//!   links, symlinks and the mode bits including setuid; `mkfifo` is EPERM. It caches attributes
//!   for 20 s, which does not matter while every write goes through the mount. The server-side
//!   folder is [`Mount::remote_dir`].
//!
//! Leftovers from a test process that was killed (so `Drop` never ran) are mounted below a temp
//! folder named `fcs-mount-*`; `test-support/unmount-leftovers.sh` removes them.

#![cfg(target_os = "linux")]

use std::ffi::OsString;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Which filesystem a [`Mount`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fs {
    /// exFAT through exfat-fuse on a loop device.
    Exfat,
    /// FAT (12/16/32 by size) through fusefat.
    Fat,
    /// NTFS through ntfs-3g with `windows_names`.
    Ntfs,
    /// NTFS through lowntfs-3g with `ignore_case,windows_names`.
    NtfsIgnoreCase,
    /// A folder of a loopback OpenSSH server through sshfs.
    Sshfs,
    /// `mount --bind`.
    Bind,
    /// The kernel's ext4 on a loop device (its image can be changed beneath the page cache).
    Ext4,
}

impl Fs {
    /// Whether two names differing only in case are one file here.
    pub fn case_insensitive(self) -> bool {
        matches!(self, Fs::Exfat | Fs::Fat | Fs::NtfsIgnoreCase)
    }

    /// The modification-time granularity measured on this filesystem.
    pub fn mtime_granularity(self) -> Duration {
        match self {
            Fs::Exfat | Fs::Sshfs => Duration::from_secs(1),
            Fs::Fat => Duration::from_secs(2),
            Fs::Ntfs | Fs::NtfsIgnoreCase => Duration::from_nanos(100),
            Fs::Bind | Fs::Ext4 => Duration::from_nanos(1),
        }
    }

    /// Whether symbolic links can be created here.
    pub fn symlinks(self) -> bool {
        !matches!(self, Fs::Exfat | Fs::Fat)
    }

    fn is_fuse(self) -> bool {
        !matches!(self, Fs::Bind | Fs::Ext4)
    }
}

/// A mounted filesystem, unmounted (and its loop device, image and server released) on `Drop`.
#[derive(Debug)]
pub struct Mount {
    fs: Fs,
    mnt: PathBuf,
    /// The image file (exFAT, FAT, NTFS).
    image: Option<PathBuf>,
    /// The loop device the image is attached to (exFAT).
    loop_dev: Option<PathBuf>,
    /// The server folder (sshfs).
    remote: Option<PathBuf>,
    sshd: Option<Sshd>,
    /// Holds the image and the mount point; `None` for a bind mount, or once a failed unmount
    /// made it unsafe to delete recursively.
    dir: Option<TempDir>,
}

impl Mount {
    /// A fresh exFAT filesystem of `size` bytes (`mkfs.exfat` on a sparse image, attached to a
    /// loop device, mounted with `mount.exfat-fuse`).
    pub fn exfat(size: u64) -> Mount {
        require_root("an exFAT mount");
        need_tool("mkfs.exfat", "exfatprogs");
        need_tool("mount.exfat-fuse", "exfat-fuse");
        let (dir, image, mnt) = image_and_mountpoint(size);
        run_ok(Command::new("mkfs.exfat").arg(&image));
        let loop_dev = attach_loop(&image);
        let mut m = Mount::new(Fs::Exfat, dir, mnt, Some(image));
        m.loop_dev = Some(loop_dev.clone());
        m.mount_image();
        m
    }

    /// A fresh ext4 filesystem of `size` bytes, mounted by the kernel from a loop device whose
    /// backing image is read through the image's page cache: bytes written into [`Mount::image`]
    /// reach what the filesystem reads from its "disk", while the filesystem's own page cache
    /// still holds the old content — bit rot beneath the cache, for tests of reads from the
    /// medium.
    pub fn ext4(size: u64) -> Mount {
        require_root("an ext4 loop mount");
        need_tool("mkfs.ext4", "e2fsprogs");
        let (dir, image, mnt) = image_and_mountpoint(size);
        run_ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
        let loop_dev = attach_loop(&image);
        let mut m = Mount::new(Fs::Ext4, dir, mnt, Some(image));
        m.loop_dev = Some(loop_dev);
        m.mount_image();
        m
    }

    /// A fresh FAT filesystem of `size` bytes (`mkfs.vfat`, mounted with `fusefat -o rw+`).
    pub fn fat(size: u64) -> Mount {
        require_root("a FAT mount");
        need_tool("mkfs.vfat", "dosfstools");
        need_tool("fusefat", "fusefat");
        let (dir, image, mnt) = image_and_mountpoint(size);
        run_ok(Command::new("mkfs.vfat").arg(&image));
        let mut m = Mount::new(Fs::Fat, dir, mnt, Some(image));
        m.mount_image();
        m
    }

    /// A fresh NTFS filesystem of `size` bytes (`mkntfs -F -f -Q`, mounted with
    /// `ntfs-3g -o windows_names`: Windows-illegal names are refused).
    pub fn ntfs(size: u64) -> Mount {
        Mount::ntfs_kind(size, Fs::Ntfs)
    }

    /// A fresh NTFS filesystem mounted case-insensitively (`lowntfs-3g -o
    /// ignore_case,windows_names`); panics unless it really folds case.
    pub fn ntfs_ignore_case(size: u64) -> Mount {
        let m = Mount::ntfs_kind(size, Fs::NtfsIgnoreCase);
        let probe = m.mnt.join("Fold.Probe");
        std::fs::write(&probe, b"x").expect("write a probe file");
        let folds = m.mnt.join("fOLD.pROBE").exists();
        std::fs::remove_file(&probe).expect("remove the probe file");
        assert!(
            folds,
            "lowntfs-3g -o ignore_case did not fold case on {}",
            m.mnt.display()
        );
        m
    }

    fn ntfs_kind(size: u64, fs: Fs) -> Mount {
        require_root("an NTFS mount");
        need_tool("mkntfs", "ntfs-3g");
        need_tool(
            if fs == Fs::Ntfs {
                "ntfs-3g"
            } else {
                "lowntfs-3g"
            },
            "ntfs-3g",
        );
        let (dir, image, mnt) = image_and_mountpoint(size);
        run_ok(Command::new("mkntfs").args(["-F", "-f", "-Q"]).arg(&image));
        let mut m = Mount::new(fs, dir, mnt, Some(image));
        m.mount_image();
        m
    }

    /// The folder `remote` of a private OpenSSH server on 127.0.0.1 (started for this mount and
    /// stopped after it), mounted with sshfs as root with a generated key.
    pub fn sshfs(remote: &Path) -> Mount {
        let sshd = Sshd::start();
        let mut m = Mount::sshfs_via(&sshd, remote);
        m.sshd = Some(sshd);
        m
    }

    /// Like [`Mount::sshfs`], through a server the caller owns (to kill it mid-transfer).
    pub fn sshfs_via(sshd: &Sshd, remote: &Path) -> Mount {
        need_tool("sshfs", "sshfs");
        let dir = temp_root();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let remote = std::fs::canonicalize(remote)
            .unwrap_or_else(|e| panic!("sshfs: cannot resolve {}: {e}", remote.display()));
        run_ok(
            Command::new("sshfs")
                .arg(format!("root@127.0.0.1:{}", remote.display()))
                .arg(&mnt)
                .args(["-p", &sshd.port.to_string()])
                .args(sshd.client_options()),
        );
        let mut m = Mount::new(Fs::Sshfs, dir, mnt, None);
        m.remote = Some(remote);
        m.wait_mounted("sshfs");
        m
    }

    /// `mount --bind src dst` (`dst` must be an existing folder); `dst` is unmounted on `Drop`.
    pub fn bind(src: &Path, dst: &Path) -> Mount {
        require_root("a bind mount");
        run_ok(Command::new("mount").arg("--bind").arg(src).arg(dst));
        let mut m = Mount {
            fs: Fs::Bind,
            mnt: dst.to_path_buf(),
            image: None,
            loop_dev: None,
            remote: None,
            sshd: None,
            dir: None,
        };
        m.wait_mounted("mount --bind");
        m
    }

    fn new(fs: Fs, dir: TempDir, mnt: PathBuf, image: Option<PathBuf>) -> Mount {
        Mount {
            fs,
            mnt,
            image,
            loop_dev: None,
            remote: None,
            sshd: None,
            dir: Some(dir),
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.mnt
    }

    /// Which filesystem this is.
    pub fn fs(&self) -> Fs {
        self.fs
    }

    /// The image file of an image filesystem (exFAT, FAT, NTFS, ext4).
    pub fn image(&self) -> Option<&Path> {
        self.image.as_deref()
    }

    /// The folder on the server side of an sshfs mount.
    pub fn remote_dir(&self) -> Option<&Path> {
        self.remote.as_deref()
    }

    /// The server of an sshfs mount started by [`Mount::sshfs`].
    pub fn sshd(&self) -> Option<&Sshd> {
        self.sshd.as_ref()
    }

    /// The names in the folder `rel` (relative to the mount point) as the filesystem stores them,
    /// sorted. On a case-insensitive NTFS mount, whose listings are lower-cased, this unmounts,
    /// reads the folder through a case-sensitive read-only `ntfs-3g` mount and mounts again.
    pub fn stored_names(&mut self, rel: &Path) -> Vec<OsString> {
        fn names(dir: &Path) -> Vec<OsString> {
            let mut v: Vec<OsString> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        }
        if self.fs != Fs::NtfsIgnoreCase {
            return names(&self.mnt.join(rel));
        }
        assert!(self.unmount(), "cannot unmount {}", self.mnt.display());
        let image = self.image.clone().unwrap();
        let side = self.mnt.with_file_name("read-back");
        std::fs::create_dir_all(&side).unwrap();
        run_ok(
            Command::new("ntfs-3g")
                .arg("-o")
                .arg("ro")
                .arg(&image)
                .arg(&side),
        );
        let found = std::panic::catch_unwind(|| names(&side.join(rel)));
        assert!(
            unmount_path(&side, true),
            "cannot unmount {}",
            side.display()
        );
        wait_released(&image);
        self.mount_image();
        found.unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    fn mount_image(&mut self) {
        let image = self.image.clone().expect("an image");
        let mut cmd = match self.fs {
            Fs::Exfat => {
                let mut c = Command::new("mount.exfat-fuse");
                c.arg(self.loop_dev.as_ref().expect("a loop device"));
                c
            }
            Fs::Fat => {
                let mut c = Command::new("fusefat");
                c.args(["-o", "rw+"]).arg(&image);
                c
            }
            Fs::Ntfs => {
                let mut c = Command::new("ntfs-3g");
                c.args(["-o", "windows_names"]).arg(&image);
                c
            }
            Fs::NtfsIgnoreCase => {
                let mut c = Command::new("lowntfs-3g");
                c.args(["-o", "ignore_case,windows_names"]).arg(&image);
                c
            }
            Fs::Ext4 => {
                let mut c = Command::new("mount");
                c.arg(self.loop_dev.as_ref().expect("a loop device"));
                c
            }
            Fs::Sshfs | Fs::Bind => unreachable!("not an image filesystem"),
        };
        run_ok(cmd.arg(&self.mnt));
        self.wait_mounted(&format!("{:?}", self.fs));
    }

    fn wait_mounted(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !is_mounted(&self.mnt) {
            if Instant::now() > deadline {
                panic!("{what}: {} did not appear as a mount", self.mnt.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Unmounts the mount point; the FUSE daemon is then gone and the image released.
    fn unmount(&mut self) -> bool {
        if !is_mounted(&self.mnt) {
            return true;
        }
        let ok = unmount_path(&self.mnt, self.fs.is_fuse());
        if ok && let Some(dev) = self.loop_dev.as_ref().or(self.image.as_ref()) {
            wait_released(dev);
        }
        ok
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = self.unmount();
        if let Some(dev) = self.loop_dev.take() {
            // When the daemon still holds the device, the kernel detaches it on its last close.
            let _ = Command::new("losetup")
                .arg("-d")
                .arg(&dev)
                .stderr(Stdio::null())
                .status();
        }
        if !unmounted {
            // Removing the folder recursively would reach into a filesystem that is still
            // mounted (for a bind mount: the source folder itself), so it stays.
            eprintln!(
                "warning: could not unmount {}; leaving it in place",
                self.mnt.display()
            );
            if let Some(d) = self.dir.take() {
                let _ = d.keep();
            }
        }
    }
}

/// An OpenSSH server on 127.0.0.1 with a private configuration, host key and authorised key in
/// a temp folder (root may log in with that key only); killed on `Drop`.
#[derive(Debug)]
pub struct Sshd {
    port: u16,
    child: Child,
    dir: TempDir,
}

impl Sshd {
    /// Starts the server on a free port and waits until it accepts connections.
    pub fn start() -> Sshd {
        require_root("an sshd on loopback");
        need_tool("/usr/sbin/sshd", "openssh-server");
        need_tool("ssh-keygen", "openssh-client");
        need_tool("ssh", "openssh-client");
        // sshd refuses to start without its privilege-separation folder, which Debian creates
        // only when the service is started by the init system.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = temp_root();
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(d.join(key)),
            );
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = d.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
                     PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                     PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
                     StrictModes no\nSubsystem sftp internal-sftp\n",
                    d = d.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(d.join("sshd.log")).unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Sshd { port, child, dir };
                }
                if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default();
        }
        panic!("sshd did not start: {last_log}");
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The private key that logs in as root.
    pub fn identity(&self) -> PathBuf {
        self.dir.path().join("user_key")
    }

    /// A known_hosts file that holds this server's host key (as `ssh` would record it).
    pub fn known_hosts(&self) -> PathBuf {
        let path = self.dir.path().join("known_hosts");
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        std::fs::write(&path, format!("[127.0.0.1]:{} {key}", self.port)).unwrap();
        path
    }

    /// A known_hosts file that records another key for this server (a server impersonated, or
    /// re-installed).
    pub fn wrong_known_hosts(&self) -> PathBuf {
        let d = self.dir.path();
        let other = d.join("other_host_key");
        if !other.exists() {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(&other),
            );
        }
        let path = d.join("wrong_known_hosts");
        let key = std::fs::read_to_string(d.join("other_host_key.pub")).unwrap();
        std::fs::write(&path, format!("[127.0.0.1]:{} {key}", self.port)).unwrap();
        path
    }

    /// `-o` options for ssh, scp and sshfs: our key, no host-key checks, no prompts.
    pub fn client_options(&self) -> Vec<String> {
        [
            format!("IdentityFile={}", self.identity().display()),
            "StrictHostKeyChecking=no".into(),
            "UserKnownHostsFile=/dev/null".into(),
            "BatchMode=yes".into(),
            "LogLevel=ERROR".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }

    /// Kills the server and every session it started (a network share that drops).
    pub fn kill(&mut self) {
        for pid in children_of(self.child.id()) {
            quiet(Command::new("kill").args(["-KILL", &pid.to_string()]));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn require_root(what: &str) {
    assert!(
        crate::is_root(),
        "{what} needs root (scripts/test.sh runs these ignored tests as root)"
    );
}

/// Panics unless `tool` runs (or, for an absolute path, exists), naming the package to install.
pub(crate) fn need_tool(tool: &str, package: &str) {
    let found = if tool.starts_with('/') {
        Path::new(tool).exists()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || ["/usr/sbin", "/sbin"]
                .iter()
                .any(|d| Path::new(d).join(tool).is_file())
    };
    assert!(
        found,
        "`{tool}` not found: install the Debian package {package}"
    );
}

pub(crate) fn temp_root() -> TempDir {
    tempfile::Builder::new()
        .prefix("fcs-mount-")
        .tempdir()
        .expect("create a temp folder")
}

fn image_and_mountpoint(size: u64) -> (TempDir, PathBuf, PathBuf) {
    let dir = temp_root();
    let image = dir.path().join("fs.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::File::create(&image)
        .and_then(|f| f.set_len(size))
        .expect("create the image");
    (dir, image, mnt)
}

fn attach_loop(image: &Path) -> PathBuf {
    need_tool("losetup", "mount");
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(image)
        .output()
        .expect("run losetup");
    assert!(
        out.status.success(),
        "losetup -f --show {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs `cmd` (with its output captured) and panics with that output unless it succeeds.
fn run_ok(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Unmounts `path`, retrying while it is busy (a process that just exited may still hold it),
/// then lazily. Returns whether it is no longer mounted.
fn unmount_path(path: &Path, fuse: bool) -> bool {
    for _ in 0..30 {
        if fuse {
            quiet(Command::new("fusermount").arg("-u").arg(path));
        }
        if is_mounted(path) {
            quiet(Command::new("umount").arg(path));
        }
        if !is_mounted(path) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if fuse {
        quiet(Command::new("fusermount").arg("-u").arg("-z").arg(path));
    }
    if is_mounted(path) {
        quiet(Command::new("umount").arg("-l").arg(path));
    }
    !is_mounted(path)
}

/// Whether `path` is a mount point (of this mount namespace).
pub fn is_mounted(path: &Path) -> bool {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| Path::new(&unescape_mount_path(m)) == path)
}

/// `/proc/self/mountinfo` writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits (up to 10 s) until no process holds `file` open: a FUSE daemon keeps writing its image
/// for a moment after the unmount returns, and the image must not be mounted twice.
fn wait_released(file: &Path) {
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let deadline = Instant::now() + Duration::from_secs(10);
    while holders(&file) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn holders(file: &Path) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read_dir(p.path().join("fd"))
            .map(|fds| {
                fds.flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == file))
            })
            .unwrap_or(false)
    })
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let child: u32 = p.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(p.path().join("stat")).ok()?;
            // The command name is in parentheses and may contain spaces: the fields after it.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape_mount_path(r"/x\\y"), r"/x\\y");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }

    #[test]
    fn the_root_folder_is_mounted() {
        assert!(is_mounted(Path::new("/")));
    }
}

//! Linux backend: FICLONE, `copy_file_range`, `fallocate`, `posix_fadvise`, `O_DIRECT`,
//! `O_NOATIME`, `syncfs`, `sync_file_range`, and drive kinds from `/proc/self/mountinfo` (with
//! `statfs` magic numbers when mountinfo cannot be read). Everything POSIX does the same way
//! comes from [`crate::unix`].

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::unix::{errno, open_read};

mod batch;
pub use crate::unix_dir::{Dir, is_link_in_path, name_problem};
use crate::{
    CopyMethod, DriveInfo, DriveKind, KernelCopy, Progress, ReadBack, Times, TimesApplied,
};
pub use batch::read_files_direct;

pub use crate::unix::{
    MODE_BITS, allocated_size, copy_acl, copy_streams, create_symlink, create_temp, data_extents,
    describe_os_error, file_identity, free_space, identity_from_metadata, in_use, is_root,
    is_sparse, link_count, mode_bits, owner_of, path_from_bytes, path_identity,
    path_identity_nofollow, path_to_bytes, process_alive, remove_temp, remove_xattr, set_dir_times,
    set_file_mode, set_owner, set_symlink_times, set_xattr, sync_dir, xattrs, xattrs_at,
    xattrs_supported,
};
pub(crate) use crate::unix::{advise_sequential, read_at_once, write_at_once};

/// Owners, extended attributes, ACLs (`system.posix_acl_*`) and holes (`SEEK_DATA`).
pub const KEEPS: crate::Keeps = crate::Keeps {
    owner: true,
    xattrs: true,
    acls: true,
    holes: true,
    flags: true,
};

/// The file flags (`chattr`) a copy keeps: synchronous (S), immutable (i), append-only (a),
/// no-dump (d), no-atime (A). Others (compression, extents, encryption…) belong to the
/// filesystem, not to the file.
pub const FILE_FLAGS: u32 = 0x08 | 0x10 | 0x20 | 0x40 | 0x80;

/// The flags that forbid replacing or renaming a file (immutable, append-only): set after a
/// copy's rename, cleared on a file before it is replaced.
pub const LOCKING_FLAGS: u32 = 0x10 | 0x20;

/// The [`FILE_FLAGS`] of an open file (`FS_IOC_GETFLAGS`); none where its filesystem has no
/// flags.
pub fn file_flags(file: &File) -> io::Result<u32> {
    Ok(raw_flags(file)? & FILE_FLAGS)
}

fn raw_flags(file: &File) -> io::Result<u32> {
    // The kernel reads and writes an int here, whatever the ioctl number says.
    let mut v: libc::c_int = 0;
    // SAFETY: valid descriptor and a pointer to an int.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut v) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS) => Ok(0),
            _ => Err(e),
        };
    }
    Ok(v as u32)
}

/// Makes the [`FILE_FLAGS`] of an open file `flags` (`FS_IOC_SETFLAGS`), its other flags
/// untouched; nothing when they already are. Immutable and append-only need root.
pub fn set_file_flags(file: &File, flags: u32) -> io::Result<()> {
    let cur = raw_flags(file)?;
    let want = (cur & !FILE_FLAGS) | (flags & FILE_FLAGS);
    if want == cur {
        return Ok(());
    }
    let v = want as libc::c_int;
    // SAFETY: valid descriptor and a pointer to an int.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &v) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Buffer size of the read/write fallback. Large enough to amortise syscalls, small enough that
/// cancel and progress stay prompt.
const FALLBACK_BUF: usize = 1 << 20;

/// Where a path lives: its volume's kind and filesystem type, from the mount that holds it in
/// `/proc/self/mountinfo` (proc(5)) and the `removable` flag of its block device in sysfs. A
/// symlinked path is judged by its target (seed A.9); a path that does not exist yet by its
/// nearest existing ancestor.
pub fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    let resolved = crate::nearest_existing(path)?;
    let (fs_type, kind) = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => match find_mount(&text, &resolved) {
            Some(m) => {
                let removable = removable_flag(&m);
                (m.fs_type.clone(), classify(&m.fs_type, removable))
            }
            None => statfs_kind(&resolved)?,
        },
        Err(_) => statfs_kind(&resolved)?,
    };
    Ok(DriveInfo {
        kind,
        fs_type,
        resolved,
        is_unc: false,
    })
}

/// One mount from `/proc/self/mountinfo` (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) mount_point: PathBuf,
    pub(crate) fs_type: String,
    pub(crate) source: String,
}

/// Parses one mountinfo line:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
/// The optional fields end at a lone `-`; paths escape space, tab, newline and `\` as octal.
pub(crate) fn parse_mountinfo_line(line: &str) -> Option<Mount> {
    let mut fields = line.split(' ');
    let _id = fields.next()?;
    let _parent = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let _root = fields.next()?;
    let mount_point = unescape_octal(fields.next()?);
    let _opts = fields.next()?;
    for f in fields.by_ref() {
        if f == "-" {
            break;
        }
    }
    let fs_type = fields.next()?.to_string();
    let source = unescape_octal(fields.next().unwrap_or(""));
    Some(Mount {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        mount_point: PathBuf::from(mount_point),
        fs_type,
        source,
    })
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount holding `path`: the longest mount point that is a path prefix of it; among equal
/// mount points the last one listed (it is mounted over the earlier ones).
pub(crate) fn find_mount(mountinfo: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for m in mountinfo.lines().filter_map(parse_mountinfo_line) {
        if !path.starts_with(&m.mount_point) {
            continue;
        }
        let better = match &best {
            None => true,
            Some(b) => m.mount_point.components().count() >= b.mount_point.components().count(),
        };
        if better {
            best = Some(m);
        }
    }
    best
}

/// Maps a filesystem type name and the device's removable flag to a drive kind.
pub(crate) fn classify(fs_type: &str, removable: Option<bool>) -> DriveKind {
    const NETWORK: &[&str] = &[
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "afs",
        "openafs",
        "davfs",
        "fuse.sshfs",
        "sshfs",
        "fuse.glusterfs",
        "fuse.ceph",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.davfs2",
        "fuse.smbnetfs",
        "fuse.curlftpfs",
    ];
    const LOCAL: &[&str] = &[
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "ntfs3", "ntfs", "vfat", "msdos",
        "exfat", "jfs", "reiserfs", "bcachefs", "nilfs2", "hfsplus", "hfs", "fuseblk", "overlay",
    ];
    match fs_type {
        t if NETWORK.contains(&t) => DriveKind::NetworkUnc,
        "tmpfs" | "ramfs" => DriveKind::Ramdisk,
        "iso9660" | "udf" => DriveKind::Cdrom,
        t if LOCAL.contains(&t) => match removable {
            Some(true) => DriveKind::Removable,
            _ => DriveKind::LocalFixed,
        },
        _ => DriveKind::Unknown,
    }
}

/// The `removable` flag of the mount's block device (sysfs), or `None` when the mount has no
/// block device (overlay, zfs, a btrfs subvolume with an anonymous device number).
fn removable_flag(m: &Mount) -> Option<bool> {
    let (major, minor) = if m.major != 0 {
        (m.major, m.minor)
    } else {
        // btrfs and others report an anonymous 0:N device; the mount source names the real one.
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::metadata(&m.source).ok()?;
        if !meta.file_type().is_block_device() {
            return None;
        }
        let rdev = meta.rdev();
        (libc::major(rdev), libc::minor(rdev))
    };
    let dev = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    // A partition has no `removable` file of its own; its disk (the parent directory) does.
    for p in [dev.join("removable"), dev.join("../removable")] {
        if let Ok(s) = std::fs::read_to_string(&p) {
            return Some(s.trim() == "1");
        }
    }
    None
}

/// Fallback when mountinfo is unavailable: the statfs magic number (statfs(2)).
fn statfs_kind(path: &Path) -> io::Result<(String, DriveKind)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-parameter.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let name = magic_name(st.f_type as u64);
    Ok((name.to_string(), classify(name, None)))
}

fn magic_name(magic: u64) -> &'static str {
    match magic {
        0xEF53 => "ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x4d44 => "vfat",
        0x7366_746e => "ntfs3",
        0x794c_7630 => "overlay",
        0x6969 => "nfs",
        0xFF53_4D42 => "cifs",
        0xFE53_4D42 => "smb3",
        0x0102_1997 => "9p",
        0x00C3_6400 => "ceph",
        0x0BD0_0BD0 => "lustre",
        0x5346_414F => "afs",
        0x0102_1994 => "tmpfs",
        0x8584_58f6 => "ramfs",
        0x9660 => "iso9660",
        0x1501_3346 => "udf",
        0x6573_5546 => "fuse",
        _ => "unknown",
    }
}

/// Errors after which `copy_file_range` will not work for this pair of files and read/write must
/// take over (copy_file_range(2): EXDEV before 5.3 and across some filesystems, EOPNOTSUPP,
/// ENOSYS on old kernels, EINVAL for special files, EPERM/ETXTBSY in some sandboxes).
fn cfr_unsupported(e: &io::Error) -> bool {
    matches!(
        errno(e),
        libc::EXDEV | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL | libc::EPERM | libc::ETXTBSY
    )
}

/// One `copy_file_range` call at explicit offsets (no shared cursor).
fn cfr(src: &File, dst: &File, offset: u64, len: usize) -> io::Result<usize> {
    let mut off_in = offset as libc::loff_t;
    let mut off_out = offset as libc::loff_t;
    // SAFETY: both fds are open for the duration of the call; offsets are valid pointers.
    let n = unsafe {
        libc::copy_file_range(
            src.as_raw_fd(),
            &mut off_in,
            dst.as_raw_fd(),
            &mut off_out,
            len,
            0,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Copies all of `src` (open, `len` bytes) into a new file at `dst` (which must not exist) with
/// the fastest mechanism the filesystems allow: FICLONE when they can share extents, else
/// `copy_file_range` in chunks of at most `chunk` bytes with `progress` after each, else
/// read/write (on EXDEV, EOPNOTSUPP, or a call that makes no progress). `try_clone: false`
/// skips the clone attempt (the caller learnt that these filesystems cannot share extents).
#[allow(clippy::too_many_arguments)]
pub fn kernel_copy(
    src: &File,
    _src_path: &Path,
    dir: &Dir,
    name: &std::ffi::OsStr,
    len: u64,
    chunk: u64,
    try_clone: bool,
    progress: Progress<'_>,
) -> io::Result<KernelCopy> {
    let out = dir.create_temp(name)?;
    let chunk = chunk.clamp(64 * 1024, 1 << 30);

    // FICLONE shares extents on btrfs/xfs/bcachefs: instant, and the data is already durable.
    // Any error just means "not here" (EOPNOTSUPP on ext4, EXDEV across filesystems …).
    if len > 0 && try_clone {
        // SAFETY: both fds are valid; FICLONE takes the source fd as its argument.
        let rc = unsafe { libc::ioctl(out.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
        if rc == 0 {
            let cloned = out.metadata()?.len();
            if progress(cloned).is_break() {
                return Ok(KernelCopy::Cancelled);
            }
            return Ok(KernelCopy::Copied {
                file: out,
                method: CopyMethod::Clone,
                bytes: cloned,
            });
        }
    }

    let mut off = 0u64;
    let mut method = CopyMethod::CopyFileRange;
    while off < len {
        let want = (len - off).min(chunk) as usize;
        match cfr(src, &out, off, want) {
            Ok(0) => {
                // No progress before the expected end: the source shrank, or this filesystem
                // reports 0 for files it cannot copy in-kernel (procfs, some FUSE). Read/write
                // tells the two apart; the caller checks the final byte count.
                method = CopyMethod::ReadWrite;
                break;
            }
            Ok(n) => off += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if cfr_unsupported(&e) => {
                method = CopyMethod::ReadWrite;
                break;
            }
            Err(e) => return Err(e),
        }
        if progress(off).is_break() {
            return Ok(KernelCopy::Cancelled);
        }
    }
    if method == CopyMethod::ReadWrite {
        match crate::common::copy_read_write(src, &out, off, len, FALLBACK_BUF, progress)? {
            Some(n) => off = n,
            None => return Ok(KernelCopy::Cancelled),
        }
    }
    Ok(KernelCopy::Copied {
        file: out,
        method,
        bytes: off,
    })
}

/// Copies `len` bytes at `offset` from `src` to the same offset in `dst` with
/// `copy_file_range(2)`. `Ok(None)` when the kernel cannot for these files (use
/// [`read_at`](crate::read_at) / [`write_all_at`](crate::write_all_at)); `Ok(Some(n))` with
/// `n < len` when the source ended early.
pub fn copy_range(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<Option<u64>> {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(1 << 30) as usize;
        match cfr(src, dst, offset + done, want) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if done == 0 && cfr_unsupported(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(done))
}

/// Reserves real blocks for `len` bytes and sets the file's length to exactly `len`, with
/// `fallocate(2)` mode 0. Never creates a sparse file: `Ok(false)` when the filesystem cannot
/// allocate (the caller fails with `COPY_E_PREALLOC` rather than write into a hole that may later
/// find the disk full).
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    if len == 0 {
        file.set_len(0)?;
        return Ok(true);
    }
    // Mode 0 allocates real blocks and extends the size (fallocate(2)); it never leaves a hole.
    // SAFETY: valid fd; offsets are in range for off_t (checked by the kernel).
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if errno(&e) == libc::EOPNOTSUPP {
        return Ok(false);
    }
    Err(e)
}

/// Evicts `file`'s cached pages (after it has been fsynced) with `posix_fadvise(2)`
/// `POSIX_FADV_DONTNEED`, so the next read of its `len` bytes comes from the medium. On tmpfs
/// and ramfs, which *are* the page cache, nothing can be evicted: the caller knows them by their
/// drive kind ([`DriveKind::Ramdisk`], from [`drive_info`], asked once per folder) and reads the
/// cache without calling this.
pub fn drop_cache(file: &File, len: u64) -> io::Result<ReadBack> {
    // POSIX_FADV_DONTNEED drops clean pages only; the caller has fsynced the file, so all of
    // them are clean and the next read is served by the device.
    // SAFETY: valid fd.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // The read-back is one sequential pass: double the read-ahead window so the device streams
    // instead of answering 128 KiB requests one at a time (a file inside one read-ahead window
    // gains nothing: no call for it). Advisory; failure changes nothing.
    if len > SEQUENTIAL_MIN {
        // SAFETY: valid fd.
        let _ = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
    }
    Ok(ReadBack::Device)
}

/// Files up to this size are read back within the default read-ahead window.
const SEQUENTIAL_MIN: u64 = 128 << 10;

/// Bytes of this machine's page cache waiting to be written (`Dirty` + `Writeback` of
/// `/proc/meminfo`): what a filesystem sync may have to flush besides our own files.
pub fn dirty_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((kib("Dirty:")? + kib("Writeback:")?) * 1024)
}

/// Applies `times` to an open file: access and modified times through std (nanoseconds where
/// the filesystem stores them). A requested creation time is reported as not applied.
pub fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    file.set_times(crate::common::std_file_times(times))?;
    // Linux has no call that sets a file's birth time (statx reports it, nothing writes it).
    Ok(TimesApplied {
        created: times.created.is_none(),
    })
}

/// Copies the source's user-visible attributes that permissions do not carry: none on Linux, a
/// no-op.
pub fn copy_attributes(_src_meta: &std::fs::Metadata, _dst: &File) -> io::Result<()> {
    // Linux has no hidden or archive attribute: a dot name hides a file, and the name is copied.
    Ok(())
}

/// Whether open(2) refused `O_NOATIME`: it answers EPERM on a file we neither own nor may
/// override as root. The open is then retried without it.
fn refuses_noatime(e: &io::Error) -> bool {
    errno(e) == libc::EPERM
}

/// Opens a copy source for reading like every Unix does (with `O_NONBLOCK`, so that a FIFO
/// swapped in for a regular file after it was checked can never block the open; the caller checks
/// the opened file's type before reading), and with `O_NOATIME` where permitted, so that copying
/// does not even change the source's access time (I1).
pub fn open_source(path: &Path) -> io::Result<File> {
    match open_read(path, libc::O_NONBLOCK | libc::O_NOATIME) {
        Err(e) if refuses_noatime(&e) => crate::unix::open_source(path),
        r => r,
    }
}

/// Opens a file we wrote (a temp) for its verify read-back with `O_NOATIME`, so the times
/// applied before the verify survive it.
pub fn open_readback(path: &Path) -> io::Result<File> {
    match open_read(path, libc::O_NOATIME) {
        Err(e) if refuses_noatime(&e) => crate::unix::open_readback(path),
        r => r,
    }
}

/// Opens a file with `O_DIRECT` for reads that bypass the page cache, for a verify that must read
/// the medium. `Ok(None)` where the filesystem refuses it (tmpfs answers EINVAL). Reads on the
/// handle must use an [`AlignedBuf`](crate::AlignedBuf), offsets and lengths that are multiples
/// of [`DIRECT_ALIGN`](crate::DIRECT_ALIGN) (the last read may return fewer bytes).
pub fn open_direct(path: &Path) -> io::Result<Option<File>> {
    for noatime in [libc::O_NOATIME, 0] {
        match open_read(path, libc::O_DIRECT | noatime) {
            Ok(f) => return Ok(Some(f)),
            Err(e) if refuses_noatime(&e) => continue,
            Err(e) if errno(&e) == libc::EINVAL => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Flushes every dirty page and inode of the filesystem holding `path` in one `syncfs(2)`
/// instead of one fsync per file; `Ok(true)`.
pub fn sync_filesystem(path: &Path) -> io::Result<bool> {
    let f = File::open(path)?;
    // SAFETY: valid fd.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

/// Starts write-back of `len` bytes at `offset` without waiting for it
/// (`sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`), so the device works while we go on
/// reading and hashing, and dirty pages never pile up. Durability still comes from the final
/// fsync; this only paces the writes.
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    // SAFETY: valid fd; the kernel validates the range.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes `len` bytes at `offset` to the device and waits until they are there
/// (`sync_file_range(2)` with `WAIT_BEFORE | WRITE | WAIT_AFTER`): `Ok(true)`. A write error
/// of the range is reported here, as the fsync would. Only data: the file's metadata (its size,
/// its extents) still needs the fsync.
pub fn wait_writeback(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    // SAFETY: valid fd; the kernel validates the range.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

/// Opens the directory `rel` beneath `dir` in one `openat2(2)` that refuses every symbolic link
/// on the way (`RESOLVE_NO_SYMLINKS`, answered `ELOOP`) and any escape from `dir`
/// (`RESOLVE_BENEATH`). `Ok(None)` where the kernel has no `openat2` (before 5.6, or a seccomp
/// filter answering ENOSYS or EPERM): the caller walks one component at a time instead.
pub(crate) fn openat2_beneath(
    dir: std::os::fd::RawFd,
    rel: &Path,
) -> io::Result<Option<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c = crate::unix::c_path(rel)?;
    // SAFETY: `open_how` is plain data; all-zero is valid (and what unused fields must be).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: valid descriptor, C string and `open_how` of the size passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if rc >= 0 {
            // SAFETY: just opened, owned by nothing else.
            return Ok(Some(unsafe {
                std::os::fd::OwnedFd::from_raw_fd(rc as i32)
            }));
        }
        let e = io::Error::last_os_error();
        match errno(&e) {
            // A rename elsewhere on the system raced the lookup (openat2(2)): try again.
            libc::EAGAIN => continue,
            libc::ENOSYS | libc::EPERM => return Ok(None),
            _ => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 27 0:27 / /mnt/ram rw,relatime - tmpfs tmpfs rw,size=8m
31 27 0:40 / /mnt/share rw,nosuid shared:5 master:2 - fuse.sshfs user@127.0.0.1:/srv rw
32 27 0:41 / /mnt/my\\040disk rw - nfs4 server:/export rw
33 27 7:0 / /mnt/iso ro - iso9660 /dev/loop0 ro
34 30 0:42 / /mnt/ram/inner rw - cifs //srv/share rw
";

    #[test]
    fn parses_mountinfo_lines_with_optional_fields_and_escapes() {
        let m = parse_mountinfo_line(
            "31 27 0:40 / /mnt/share rw,nosuid shared:5 master:2 - fuse.sshfs u@h:/srv rw",
        )
        .unwrap();
        assert_eq!(m.fs_type, "fuse.sshfs");
        assert_eq!(m.mount_point, PathBuf::from("/mnt/share"));
        assert_eq!(m.source, "u@h:/srv");
        assert_eq!((m.major, m.minor), (0, 40));
        let m = parse_mountinfo_line("32 27 0:41 / /mnt/my\\040disk rw - nfs4 s:/e rw").unwrap();
        assert_eq!(m.mount_point, PathBuf::from("/mnt/my disk"));
        assert!(parse_mountinfo_line("garbage").is_none());
    }

    #[test]
    fn finds_the_deepest_mount_holding_a_path() {
        let fs = |p: &str| find_mount(SAMPLE, Path::new(p)).unwrap().fs_type;
        assert_eq!(fs("/home/u/file"), "ext4");
        assert_eq!(fs("/mnt/ram/x"), "tmpfs");
        assert_eq!(fs("/mnt/ram/inner/deep/f"), "cifs");
        assert_eq!(fs("/mnt/share/a"), "fuse.sshfs");
        assert_eq!(fs("/mnt/my disk/a"), "nfs4");
        assert_eq!(fs("/mnt/iso"), "iso9660");
        // A path component prefix is not a path prefix.
        assert_eq!(fs("/mnt/rambo"), "ext4");
    }

    #[test]
    fn classifies_filesystem_types() {
        for t in [
            "nfs",
            "nfs4",
            "cifs",
            "smb3",
            "smbfs",
            "fuse.sshfs",
            "9p",
            "ceph",
            "lustre",
        ] {
            assert_eq!(classify(t, None), DriveKind::NetworkUnc, "{t}");
        }
        assert_eq!(classify("glusterfs", None), DriveKind::NetworkUnc);
        assert_eq!(classify("afs", None), DriveKind::NetworkUnc);
        assert_eq!(classify("tmpfs", None), DriveKind::Ramdisk);
        assert_eq!(classify("ramfs", None), DriveKind::Ramdisk);
        assert_eq!(classify("iso9660", None), DriveKind::Cdrom);
        assert_eq!(classify("udf", None), DriveKind::Cdrom);
        for t in [
            "ext4", "xfs", "btrfs", "zfs", "f2fs", "ntfs3", "vfat", "overlay",
        ] {
            assert_eq!(classify(t, Some(false)), DriveKind::LocalFixed, "{t}");
            assert_eq!(classify(t, None), DriveKind::LocalFixed, "{t}");
        }
        assert_eq!(classify("vfat", Some(true)), DriveKind::Removable);
        assert_eq!(classify("ext4", Some(true)), DriveKind::Removable);
        assert_eq!(classify("fuse.mystery", None), DriveKind::Unknown);
        assert_eq!(classify("proc", None), DriveKind::Unknown);
    }

    #[test]
    fn statfs_magic_names_map_to_kinds() {
        assert_eq!(magic_name(0xEF53), "ext4");
        assert_eq!(magic_name(0x0102_1994), "tmpfs");
        assert_eq!(magic_name(0x6969), "nfs");
        assert_eq!(classify(magic_name(0x6969), None), DriveKind::NetworkUnc);
    }

    #[test]
    fn dev_shm_is_a_ramdisk_and_cannot_drop_cache() {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return; // no /dev/shm in this sandbox
        }
        let info = drive_info(shm).unwrap();
        assert_eq!(info.kind, DriveKind::Ramdisk, "{info:?}");
        let _ = ReadBack::Cache;
    }
}

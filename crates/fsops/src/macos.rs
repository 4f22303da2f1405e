//! macOS backend: `fclonefileat` (APFS clones), `fcopyfile`, `F_PREALLOCATE`, `F_NOCACHE`, and
//! drive kinds from `statfs` (`f_fstypename` and the `MNT_LOCAL` / `MNT_REMOVABLE` flags).
//! Everything POSIX does the same way comes from [`crate::unix`].

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::unix::{c_path, errno};
pub use crate::unix_dir::{Dir, is_link_in_path, name_problem};
use crate::{
    CopyMethod, DriveInfo, DriveKind, KernelCopy, Progress, ReadBack, Times, TimesApplied,
};

pub(crate) use crate::unix::{advise_sequential, read_at_once, write_at_once};

pub use crate::linux_only::{
    FILE_FLAGS, LOCKING_FLAGS, file_flags, read_files_direct, set_file_flags,
};

/// Owners, extended attributes and holes (`SEEK_DATA`); macOS ACLs are not attributes.
pub const KEEPS: crate::Keeps = crate::Keeps {
    owner: true,
    xattrs: true,
    acls: false,
    holes: true,
    flags: false,
};
pub use crate::unix::{
    MODE_BITS, allocated_size, copy_acl, copy_streams, create_symlink, create_temp, data_extents,
    describe_os_error, file_identity, free_space, identity_from_metadata, in_use, is_root,
    is_sparse, link_count, mode_bits, open_readback, open_source, owner_of, path_from_bytes,
    path_identity, path_identity_nofollow, path_to_bytes, process_alive, remove_temp, remove_xattr,
    set_dir_times, set_file_mode, set_owner, set_symlink_times, set_xattr, sync_dir, xattrs,
    xattrs_at, xattrs_supported,
};

/// Buffer size of the read/write fallback. Large enough to amortise syscalls, small enough that
/// cancel and progress stay prompt.
const FALLBACK_BUF: usize = 1 << 20;

/// `MNT_REMOVABLE` from XNU's `<sys/mount.h>` ("storage which can be removed from the system by
/// the user"); the libc crate does not export it.
const MNT_REMOVABLE: u32 = 0x0000_0200;

// ---------------------------------------------------------------------------------------------
// Drive kind
// ---------------------------------------------------------------------------------------------

/// Where a path lives: its volume's kind and filesystem type, from `statfs(2)` (`f_fstypename`
/// and the `MNT_LOCAL` / `MNT_REMOVABLE` flags). A symlinked path is judged by its target (seed
/// A.9); a path that does not exist yet by its nearest existing ancestor.
pub fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    let resolved = crate::nearest_existing(path)?;
    let c = c_path(&resolved)?;
    // SAFETY: `statfs` is plain data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-parameter.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let fs_type: String = String::from_utf8_lossy(
        &st.f_fstypename
            .iter()
            .take_while(|&&ch| ch != 0)
            .map(|&ch| ch as u8)
            .collect::<Vec<u8>>(),
    )
    .into_owned();
    let kind = classify(&fs_type, st.f_flags);
    Ok(DriveInfo {
        kind,
        fs_type,
        resolved,
        is_unc: false,
    })
}

/// Maps a `statfs` filesystem type name and mount flags to a drive kind.
pub(crate) fn classify(fs_type: &str, flags: u32) -> DriveKind {
    const NETWORK: &[&str] = &["smbfs", "nfs", "afpfs", "webdav", "ftp", "cifs", "ncp"];
    const LOCAL: &[&str] = &["apfs", "hfs", "msdos", "exfat", "ntfs"];
    let local = flags & libc::MNT_LOCAL as u32 != 0;
    match fs_type {
        t if NETWORK.contains(&t) => DriveKind::NetworkUnc,
        "cd9660" | "udf" => DriveKind::Cdrom,
        t if local && LOCAL.contains(&t) => {
            if flags & MNT_REMOVABLE != 0 {
                DriveKind::Removable
            } else {
                DriveKind::LocalFixed
            }
        }
        // devfs, macFUSE (which may be local or remote), a local type without MNT_LOCAL …
        _ => DriveKind::Unknown,
    }
}

// ---------------------------------------------------------------------------------------------
// Copy
// ---------------------------------------------------------------------------------------------

/// Opens a freshly cloned `name` in `dir` for reading and writing. A clone carries the source's
/// mode, so a read-only source gives a read-only clone: make it owner-only read/write first,
/// like [`Dir::create_temp`] would have created it.
fn open_clone(dir: &Dir, name: &std::ffi::OsStr) -> io::Result<File> {
    dir.set_mode(name, 0o600)?;
    dir.open_with(name, libc::O_RDWR | libc::O_NOFOLLOW)
}

/// `fcopyfile(COPYFILE_DATA)` of all of `src` into `dst` in one call. fcopyfile reads and writes
/// at the descriptors' current offsets, so `src` is rewound for the call and its offset restored
/// afterwards (the engine itself only uses positional I/O on it).
fn fcopyfile_all(src: &File, dst: &File) -> io::Result<()> {
    let fd = src.as_raw_fd();
    // SAFETY: valid fd.
    let pos = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
    if pos < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: valid fd.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are open for the duration of the call; a null state is allowed (the
    // library allocates and frees its own).
    let rc = unsafe {
        libc::fcopyfile(
            fd,
            dst.as_raw_fd(),
            std::ptr::null_mut(),
            libc::COPYFILE_DATA,
        )
    };
    let result = if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    // SAFETY: valid fd; restoring the offset it had.
    unsafe { libc::lseek(fd, pos, libc::SEEK_SET) };
    result
}

/// Copies all of `src` (open, `len` bytes) into a new file at `dst` (which must not exist) with
/// the fastest mechanism the volume allows: an APFS clone (`fclonefileat`), else `fcopyfile`
/// (which reports progress only at the end), else read/write in steps of at most `chunk`.
/// `try_clone: false` skips the clone attempt (the caller learnt the volumes cannot clone).
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
    let c_dst = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))?;

    // An APFS clone shares the source's blocks: instant, and nothing to write. It creates `dst`
    // itself and fails with EEXIST if the name exists (a planted symlink included); any other
    // error means "not here" (ENOTSUP on HFS+/exFAT/SMB, EXDEV across volumes).
    // SAFETY: valid fds and C string; the name is created in `dir`.
    let rc = if try_clone {
        unsafe { libc::fclonefileat(src.as_raw_fd(), dir.raw_fd(), c_dst.as_ptr(), 0) }
    } else {
        -1
    };
    if rc == 0 {
        let out = open_clone(dir, name)?;
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
    if try_clone {
        let e = io::Error::last_os_error();
        if errno(&e) == libc::EEXIST {
            return Err(e);
        }
    }

    let out = dir.create_temp(name)?;
    // fcopyfile runs to the end in one call, with no progress or cancel inside: ask first.
    if progress(0).is_break() {
        return Ok(KernelCopy::Cancelled);
    }
    if fcopyfile_all(src, &out).is_ok() {
        let bytes = out.metadata()?.len();
        if progress(bytes).is_break() {
            return Ok(KernelCopy::Cancelled);
        }
        return Ok(KernelCopy::Copied {
            file: out,
            method: CopyMethod::Fcopyfile,
            bytes,
        });
    }

    // fcopyfile failed (an unusual filesystem, a special file): start over with read/write.
    out.set_len(0)?;
    match crate::common::copy_read_write(
        src,
        &out,
        0,
        len,
        (chunk.max(64 * 1024) as usize).min(FALLBACK_BUF),
        progress,
    )? {
        Some(bytes) => Ok(KernelCopy::Copied {
            file: out,
            method: CopyMethod::ReadWrite,
            bytes,
        }),
        None => Ok(KernelCopy::Cancelled),
    }
}

/// An in-kernel copy of one byte range: macOS has no `copy_file_range`, so always `Ok(None)` (use
/// [`read_at`](crate::read_at) / [`write_all_at`](crate::write_all_at)).
pub fn copy_range(_src: &File, _dst: &File, _offset: u64, _len: u64) -> io::Result<Option<u64>> {
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Allocation, cache, times
// ---------------------------------------------------------------------------------------------

/// Errors meaning "this filesystem cannot preallocate" rather than a real failure.
fn prealloc_unsupported(e: &io::Error) -> bool {
    matches!(errno(e), libc::ENOTSUP | libc::EOPNOTSUPP | libc::ENOTTY)
}

/// Reserves real blocks for `len` bytes (`fcntl(2)` `F_PREALLOCATE`) and sets the file's length
/// to exactly `len`. Never creates a sparse file: `Ok(false)` when the filesystem cannot
/// allocate (the caller fails with `COPY_E_PREALLOC`).
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    let current = file.metadata()?.len();
    if len > current {
        // F_PEOFPOSMODE allocates `fst_length` bytes past the physical end of file; the file is
        // never sparse (create_temp made it empty), so that covers everything up to `len`.
        let extra = libc::off_t::try_from(len - current)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length exceeds off_t"))?;
        let mut store = libc::fstore_t {
            fst_flags: libc::F_ALLOCATECONTIG | libc::F_ALLOCATEALL,
            fst_posmode: libc::F_PEOFPOSMODE,
            fst_offset: 0,
            fst_length: extra,
            fst_bytesalloc: 0,
        };
        // Contiguous first (faster to read back), then any blocks at all.
        // SAFETY: valid fd; `store` is a properly initialised fstore_t.
        let mut rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_PREALLOCATE, &mut store) };
        if rc == -1 {
            store.fst_flags = libc::F_ALLOCATEALL;
            store.fst_bytesalloc = 0;
            // SAFETY: as above.
            rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_PREALLOCATE, &mut store) };
        }
        if rc == -1 {
            let e = io::Error::last_os_error();
            if prealloc_unsupported(&e) {
                return Ok(false);
            }
            return Err(e);
        }
    }
    // F_PREALLOCATE reserves blocks without moving the end of file.
    file.set_len(len)?;
    Ok(true)
}

/// Makes later reads through `file` (fsynced) bypass the unified buffer cache with `fcntl(2)`
/// `F_NOCACHE`; [`ReadBack::Cache`] when the call is refused.
pub fn drop_cache(file: &File, len: u64) -> io::Result<ReadBack> {
    let _ = len;
    // F_NOCACHE turns the unified buffer cache off for this open file: subsequent reads through
    // this same descriptor bypass the UBC and come from the device (page-aligned reads go direct;
    // the caller has fsynced, so no dirty page has to be reconciled first). There is no call to
    // evict one file's pages for other descriptors, so the read-back must use `file` itself.
    // SAFETY: valid fd; F_NOCACHE takes an int argument.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_NOCACHE, 1) };
    if rc == -1 {
        return Ok(ReadBack::Cache);
    }
    Ok(ReadBack::Device)
}

/// Bytes waiting to be written to disk: not known here (no filesystem-wide sync is batched on
/// this OS either).
pub fn dirty_bytes() -> Option<u64> {
    None
}

/// Applies `times` to an open file, the creation time included (std's `FileTimesExt`, through
/// `setattrlist(2)`).
pub fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    use std::os::macos::fs::FileTimesExt;
    let mut ft = crate::common::std_file_times(times);
    if let Some(c) = times.created {
        ft = ft.set_created(c);
    }
    file.set_times(ft)?;
    Ok(TimesApplied { created: true })
}

/// Copies the source's user-visible attributes that permissions do not carry: not yet on macOS,
/// a no-op.
pub fn copy_attributes(_src_meta: &std::fs::Metadata, _dst: &File) -> io::Result<()> {
    // macOS keeps "hidden" in the BSD file flags (UF_HIDDEN), which are not copied yet.
    Ok(())
}

/// Opens a file for reads that bypass the page cache: macOS has no `O_DIRECT`, so `Ok(None)`;
/// [`drop_cache`] (`F_NOCACHE`) on the read-back's own descriptor does that job.
pub fn open_direct(path: &Path) -> io::Result<Option<File>> {
    let _ = path;
    Ok(None)
}

/// Flushes a whole filesystem in one call: macOS has no `syncfs`, so `Ok(false)` and the caller
/// fsyncs file by file.
pub fn sync_filesystem(path: &Path) -> io::Result<bool> {
    let _ = path;
    Ok(false)
}

/// Paces write-back during a copy: macOS has no `sync_file_range`, so a data sync of the whole
/// file (`offset` and `len` are ignored). Durability still comes from the final fsync.
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let _ = (offset, len);
    file.sync_data()
}

/// Waits for the write-back of a range: no range call here, so `Ok(false)` without waiting
/// (the caller reads the range after the final fsync instead).
pub fn wait_writeback(file: &File, offset: u64, len: u64) -> io::Result<bool> {
    let _ = (file, offset, len);
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_filesystem_types() {
        let local = libc::MNT_LOCAL as u32;
        for t in ["smbfs", "nfs", "afpfs", "webdav"] {
            assert_eq!(classify(t, 0), DriveKind::NetworkUnc, "{t}");
        }
        assert_eq!(classify("cd9660", local), DriveKind::Cdrom);
        assert_eq!(classify("udf", local), DriveKind::Cdrom);
        for t in ["apfs", "hfs", "msdos", "exfat"] {
            assert_eq!(classify(t, local), DriveKind::LocalFixed, "{t}");
            assert_eq!(
                classify(t, local | MNT_REMOVABLE),
                DriveKind::Removable,
                "{t}"
            );
            assert_eq!(classify(t, 0), DriveKind::Unknown, "{t}");
        }
        assert_eq!(classify("devfs", local), DriveKind::Unknown);
        assert_eq!(classify("macfuse", 0), DriveKind::Unknown);
    }
}

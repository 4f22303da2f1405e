//! Fallback backend for any OS without a dedicated one (the BSDs, illumos, WASI …): std only, plus
//! the POSIX helpers of [`crate::unix`] where the OS is a Unix. Every fast path answers "not
//! supported here" (`Ok(false)`, `None`, [`ReadBack::Cache`], [`DriveKind::Unknown`]), so the
//! engine takes its safe, STAGED route.
//!
//! [`Dir`] is the Unix one (`*at` calls with `O_NOFOLLOW`) on a Unix; elsewhere it is
//! `portable_dir`'s path-based one, which gives **no protection against links swapped in during
//! a run** (see there).

use std::fs::File;
use std::io;
use std::path::Path;

use crate::{
    CopyMethod, DriveInfo, DriveKind, KernelCopy, Progress, ReadBack, Times, TimesApplied,
};

/// On another Unix: owners, extended attributes and holes where its `SEEK_DATA` works; no ACLs.
#[cfg(unix)]
pub const KEEPS: crate::Keeps = crate::Keeps {
    owner: true,
    xattrs: true,
    acls: false,
    holes: true,
    flags: false,
};
/// Elsewhere: contents, times and the read-only bit only.
#[cfg(not(unix))]
pub const KEEPS: crate::Keeps = crate::Keeps {
    owner: false,
    xattrs: false,
    acls: false,
    holes: false,
    flags: false,
};

pub use crate::linux_only::{
    FILE_FLAGS, LOCKING_FLAGS, file_flags, read_files_direct, set_file_flags,
};

#[cfg(not(unix))]
pub use crate::portable_dir::{Dir, is_link_in_path};
#[cfg(unix)]
pub use crate::unix_dir::{Dir, is_link_in_path};

#[cfg(not(unix))]
pub use self::portable::{
    MODE_BITS, allocated_size, copy_acl, copy_streams, create_symlink, create_temp, data_extents,
    describe_os_error, file_identity, free_space, identity_from_metadata, in_use, is_root,
    is_sparse, link_count, mode_bits, name_problem, open_readback, open_source, owner_of,
    path_from_bytes, path_identity, path_identity_nofollow, path_to_bytes, remove_temp,
    remove_xattr, set_dir_times, set_file_mode, set_owner, set_symlink_times, set_xattr, sync_dir,
    xattrs, xattrs_at, xattrs_supported,
};
#[cfg(not(unix))]
pub(crate) use self::portable::{advise_sequential, read_at_once, write_at_once};
#[cfg(unix)]
pub use crate::unix::{
    MODE_BITS, allocated_size, copy_acl, copy_streams, create_symlink, create_temp, data_extents,
    describe_os_error, file_identity, free_space, identity_from_metadata, in_use, is_root,
    is_sparse, link_count, mode_bits, open_readback, open_source, owner_of, path_from_bytes,
    path_identity, path_identity_nofollow, path_to_bytes, process_alive, remove_temp, remove_xattr,
    set_dir_times, set_file_mode, set_owner, set_symlink_times, set_xattr, xattrs, xattrs_at,
    xattrs_supported,
};
#[cfg(unix)]
pub(crate) use crate::unix::{advise_sequential, read_at_once, write_at_once};
#[cfg(unix)]
pub use crate::unix_dir::name_problem;

/// Buffer size of the read/write copy: prompt progress and cancel, few syscalls.
const COPY_BUF: usize = 1 << 20;

/// Where a path lives: there is no portable way to learn the filesystem or device, so
/// [`DriveKind::Unknown`] (copied STAGED) for the nearest existing ancestor of `path`.
pub fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    let resolved = crate::nearest_existing(path)?;
    Ok(DriveInfo {
        kind: DriveKind::Unknown,
        fs_type: String::new(),
        resolved,
        is_unc: false,
    })
}

/// Copies all of `src` (open, `len` bytes) into a new file `name` in `dir` (which must not exist)
/// by read/write in steps of at most `chunk` bytes, with `progress` after each (no clones here:
/// `try_clone` changes nothing).
#[allow(clippy::too_many_arguments)]
pub fn kernel_copy(
    src: &File,
    src_path: &Path,
    dir: &Dir,
    name: &std::ffi::OsStr,
    len: u64,
    chunk: u64,
    try_clone: bool,
    progress: Progress<'_>,
) -> io::Result<KernelCopy> {
    let _ = (src_path, try_clone);
    let out = dir.create_temp(name)?;
    let step = (chunk.max(64 * 1024) as usize).min(COPY_BUF);
    let Some(off) = crate::common::copy_read_write(src, &out, 0, len, step, progress)? else {
        return Ok(KernelCopy::Cancelled);
    };
    Ok(KernelCopy::Copied {
        file: out,
        method: CopyMethod::ReadWrite,
        bytes: off,
    })
}

/// An in-kernel copy of one byte range: not available here, so always `Ok(None)` (use
/// [`read_at`](crate::read_at) / [`write_all_at`](crate::write_all_at)).
pub fn copy_range(src: &File, dst: &File, offset: u64, len: u64) -> io::Result<Option<u64>> {
    let _ = (src, dst, offset, len);
    Ok(None)
}

/// Makes the entries of directory `dir` durable where this Unix allows an fsync on a directory
/// opened read-only; a no-op where it does not.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    // fsync on a directory opened read-only is how POSIX makes a rename durable, but not every
    // Unix allows it (some want a writable descriptor and answer EBADF, some filesystems answer
    // EINVAL or EOPNOTSUPP). Then there is no such call here: a no-op, like on Windows.
    match crate::unix::sync_dir(dir) {
        Err(e)
            if matches!(
                crate::unix::errno(&e),
                libc::EBADF | libc::EINVAL | libc::EOPNOTSUPP
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Reserves real blocks for `len` bytes: std cannot, and `set_len` alone would make a sparse
/// file, so `Ok(false)` and the caller fails with `COPY_E_PREALLOC` rather than write into a hole.
pub fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    let _ = (file, len);
    Ok(false)
}

/// Evicts a file's cached pages: no portable call, so [`ReadBack::Cache`].
pub fn drop_cache(file: &File, len: u64) -> io::Result<ReadBack> {
    let _ = (file, len);
    Ok(ReadBack::Cache)
}

/// Bytes waiting to be written to disk: not known here (no filesystem-wide sync is batched on
/// this OS either).
pub fn dirty_bytes() -> Option<u64> {
    None
}

/// Applies the access and modified times of `times` to an open file. No portable call sets a
/// creation time: a requested one is reported as not applied, never faked.
pub fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    file.set_times(crate::common::std_file_times(times))?;
    Ok(TimesApplied {
        created: times.created.is_none(),
    })
}

/// Copies the source's user-visible attributes that permissions do not carry: there are no
/// portable ones, so a no-op.
pub fn copy_attributes(src_meta: &std::fs::Metadata, dst: &File) -> io::Result<()> {
    let _ = (src_meta, dst);
    Ok(())
}

/// Opens a file for reads that bypass the page cache: no portable way, so `Ok(None)`.
pub fn open_direct(path: &Path) -> io::Result<Option<File>> {
    let _ = path;
    Ok(None)
}

/// Flushes a whole filesystem in one call: no portable way, so `Ok(false)` and the caller fsyncs
/// file by file.
pub fn sync_filesystem(path: &Path) -> io::Result<bool> {
    let _ = path;
    Ok(false)
}

/// Paces write-back during a copy: no portable range call, so a data sync of the whole file
/// (`offset` and `len` are ignored).
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

/// The non-Unix half of the fallback: what std alone can do.
#[cfg(not(unix))]
mod portable {
    use std::fs::File;
    use std::io;
    use std::path::{Path, PathBuf};
    use std::time::SystemTime;

    use crate::{FileIdentity, Times, TimesApplied};

    /// Creates `path`, which must not exist, open for reading and writing (std has no portable
    /// way to narrow its permissions).
    pub fn create_temp(path: &Path) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
    }

    /// Serialises seek + read / seek + write pairs: std has no portable positional I/O, so the
    /// shared cursor is used under one process-wide lock (all our I/O goes through here).
    static CURSOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// One read at `offset`, through the shared cursor under [`CURSOR`].
    pub(crate) fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        let _guard = CURSOR.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read(buf)
    }

    /// One write at `offset`, through the shared cursor under [`CURSOR`].
    pub(crate) fn write_at_once(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
        use std::io::{Seek, SeekFrom, Write};
        let _guard = CURSOR.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.write(buf)
    }

    /// No portable read-ahead advice for a map: nothing to do.
    pub(crate) fn advise_sequential(map: &memmap2::Mmap) {
        let _ = map;
    }

    /// Opens a copy source for reading with std's defaults.
    pub fn open_source(path: &Path) -> io::Result<File> {
        File::open(path)
    }

    /// Opens a temp for its verify read-back with std's defaults.
    pub fn open_readback(path: &Path) -> io::Result<File> {
        File::open(path)
    }

    /// Makes a directory's entries durable: std cannot open a directory for syncing portably, so
    /// a no-op.
    pub fn sync_dir(dir: &Path) -> io::Result<()> {
        let _ = dir;
        Ok(())
    }

    /// Bytes available on the volume of `path`: no portable call, so an `Unsupported` error.
    pub fn free_space(path: &Path) -> io::Result<u64> {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "free space is not available on this OS",
        ))
    }

    /// (volume, file) identity of an open file: no portable call, so an `Unsupported` error.
    pub fn file_identity(file: &File) -> io::Result<FileIdentity> {
        let _ = file;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "file identity is not available on this OS",
        ))
    }

    /// Identity from metadata in hand: std's portable metadata has none, so `None`.
    pub fn identity_from_metadata(m: &std::fs::Metadata) -> Option<FileIdentity> {
        let _ = m;
        None
    }

    /// (volume, file) identity of whatever `path` names now, through [`file_identity`].
    pub fn path_identity(path: &Path) -> io::Result<FileIdentity> {
        file_identity(&File::open(path)?)
    }

    /// Applies `times` to a directory opened like a file.
    pub fn set_dir_times(dir: &Path, times: &Times) -> io::Result<TimesApplied> {
        super::set_times(&File::open(dir)?, times)
    }

    /// Sets a symbolic link's own times: no portable call, so `Ok(false)`.
    pub fn set_symlink_times(
        link: &Path,
        accessed: SystemTime,
        modified: SystemTime,
    ) -> io::Result<bool> {
        let _ = (link, accessed, modified);
        Ok(false)
    }

    /// Creates a symbolic link: no portable call, so an `Unsupported` error.
    pub fn create_symlink(target: &Path, link: &Path, target_is_dir: bool) -> io::Result<()> {
        let _ = (target, link, target_is_dir);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "symbolic links are not supported here",
        ))
    }

    /// A path as bytes for the run journal: only its Unicode form is portable, so lossy.
    pub fn path_to_bytes(p: &Path) -> Vec<u8> {
        p.to_string_lossy().as_bytes().to_vec()
    }

    /// The inverse of [`path_to_bytes`].
    pub fn path_from_bytes(b: &[u8]) -> PathBuf {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }

    /// The permission bits the scan records: only "read-only" is portable (1 when set, else 0).
    pub fn mode_bits(m: &std::fs::Metadata) -> u32 {
        u32::from(m.permissions().readonly())
    }

    /// Whether a file has holes: no portable way to tell, so false.
    pub fn is_sparse(m: &std::fs::Metadata) -> bool {
        let _ = m;
        false
    }

    /// The bits [`mode_bits`] reports: the read-only flag only.
    pub const MODE_BITS: u32 = 1;

    /// The read-only flag (bit 0 of `mode`) onto an open file.
    pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
        let mut p = file.metadata()?.permissions();
        p.set_readonly(mode & 1 != 0);
        file.set_permissions(p)
    }

    /// (volume, file) identity of what `path` names itself; here the same as [`path_identity`].
    pub fn path_identity_nofollow(path: &Path) -> io::Result<FileIdentity> {
        path_identity(path)
    }

    /// No portable way to find holes: the whole file is data.
    pub fn data_extents(file: &File, len: u64) -> io::Result<Option<Vec<(u64, u64)>>> {
        let _ = (file, len);
        Ok(None)
    }

    /// No portable allocated size: the length.
    pub fn allocated_size(m: &std::fs::Metadata) -> u64 {
        m.len()
    }

    /// No portable notion of root: never.
    pub fn is_root() -> bool {
        false
    }

    /// No portable owner ids.
    pub fn owner_of(m: &std::fs::Metadata) -> Option<(u32, u32)> {
        let _ = m;
        None
    }

    /// No portable owners: unsupported.
    pub fn set_owner(file: &File, uid: u32, gid: u32) -> io::Result<()> {
        let _ = (file, uid, gid);
        Err(io::ErrorKind::Unsupported.into())
    }

    /// One name per item: no portable link count.
    pub fn link_count(m: &std::fs::Metadata) -> u64 {
        let _ = m;
        1
    }

    /// No alternate data streams.
    pub fn copy_streams(src: &Path, dir: &crate::Dir, name: &std::ffi::OsStr) -> io::Result<u64> {
        let _ = (src, dir, name);
        Ok(0)
    }

    /// No portable ACLs: nothing to do.
    pub fn copy_acl(src: &File, dst: &File) -> io::Result<()> {
        let _ = (src, dst);
        Ok(())
    }

    /// No portable extended attributes.
    pub fn xattrs_supported(file: &File) -> bool {
        let _ = file;
        false
    }

    /// No portable extended attributes: none.
    pub fn xattrs_at(path: &Path) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
        let _ = path;
        Ok(Vec::new())
    }

    /// No portable extended attributes: none.
    pub fn xattrs(file: &File) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
        let _ = file;
        Ok(Vec::new())
    }

    /// No portable extended attributes: unsupported.
    pub fn set_xattr(file: &File, name: &std::ffi::OsStr, value: &[u8]) -> io::Result<()> {
        let _ = (file, name, value);
        Err(io::ErrorKind::Unsupported.into())
    }

    /// No portable extended attributes: unsupported.
    pub fn remove_xattr(file: &File, name: &std::ffi::OsStr) -> io::Result<()> {
        let _ = (file, name);
        Err(io::ErrorKind::Unsupported.into())
    }

    /// No portable way to ask whether a process lives: assume it does (its temps are kept).
    pub fn process_alive(pid: u32) -> bool {
        let _ = pid;
        true
    }

    /// No portable error codes to read a name problem from.
    pub fn name_problem(e: &io::Error) -> Option<crate::NameProblem> {
        match e.kind() {
            io::ErrorKind::Unsupported => Some(crate::NameProblem::Unsupported),
            _ => None,
        }
    }

    /// Deletes a file of ours (a temp) with `std::fs::remove_file`.
    pub fn remove_temp(path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    /// Whether another program has `path` open so that deleting it may fail: no portable way to
    /// ask, so `Ok(false)`.
    pub fn in_use(path: &Path) -> io::Result<bool> {
        let _ = path;
        Ok(false)
    }

    /// A plain-words cause for an OS error: `None`, the OS's own text is all there is.
    pub fn describe_os_error(e: &io::Error) -> Option<&'static str> {
        let _ = e;
        None
    }
}

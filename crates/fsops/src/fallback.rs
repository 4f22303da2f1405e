//! Fallback backend for any OS without a dedicated one (the BSDs, illumos, WASI …): std only, plus
//! the POSIX helpers of [`crate::unix`] where the OS is a Unix. Every fast path answers "not
//! supported here" (`Ok(false)`, `None`, [`ReadBack::Cache`], [`DriveKind::Unknown`]), so the
//! engine takes its safe, STAGED route.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::{
    CopyMethod, DriveInfo, DriveKind, KernelCopy, Progress, ReadBack, Times, TimesApplied,
};

#[cfg(unix)]
pub(crate) use crate::unix::{create_temp, file_identity, free_space, read_at_once, write_at_once};

/// Buffer size of the read/write copy: prompt progress and cancel, few syscalls.
const COPY_BUF: usize = 1 << 20;

pub(crate) fn drive_info(path: &Path) -> io::Result<DriveInfo> {
    // No portable way to learn the filesystem or device: UNKNOWN, which is copied STAGED.
    let resolved = crate::nearest_existing(path)?;
    Ok(DriveInfo {
        kind: DriveKind::Unknown,
        fs_type: String::new(),
        resolved,
        is_unc: false,
    })
}

pub(crate) fn kernel_copy(
    src: &File,
    _src_path: &Path,
    dst: &Path,
    len: u64,
    chunk: u64,
    progress: Progress<'_>,
) -> io::Result<KernelCopy> {
    let out = create_temp(dst)?;
    let step = (chunk.max(64 * 1024) as usize).min(COPY_BUF);
    let Some(off) = crate::copy_read_write(src, &out, 0, len, step, progress)? else {
        return Ok(KernelCopy::Cancelled);
    };
    Ok(KernelCopy::Copied {
        file: out,
        method: CopyMethod::ReadWrite,
        bytes: off,
    })
}

pub(crate) fn copy_range(
    _src: &File,
    _dst: &File,
    _offset: u64,
    _len: u64,
) -> io::Result<Option<u64>> {
    Ok(None)
}

#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
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

pub(crate) fn preallocate(_file: &File, _len: u64) -> io::Result<bool> {
    // std cannot reserve blocks, and set_len alone would make a sparse file: say so, and let the
    // caller decide (it fails with COPY_E_PREALLOC rather than write into a hole).
    Ok(false)
}

pub(crate) fn drop_cache(_file: &File) -> io::Result<ReadBack> {
    Ok(ReadBack::Cache)
}

pub(crate) fn set_times(file: &File, times: &Times) -> io::Result<TimesApplied> {
    #[cfg(unix)]
    crate::unix::set_std_times(file, times)?;
    #[cfg(not(unix))]
    {
        let mut ft = std::fs::FileTimes::new();
        if let Some(a) = times.accessed {
            ft = ft.set_accessed(a);
        }
        if let Some(m) = times.modified {
            ft = ft.set_modified(m);
        }
        file.set_times(ft)?;
    }
    // No portable way to set a creation time: reported as not applied, never faked.
    Ok(TimesApplied {
        created: times.created.is_none(),
    })
}

pub(crate) fn copy_attributes(_src_meta: &std::fs::Metadata, _dst: &File) -> io::Result<()> {
    // No portable attributes beyond permissions, which the caller applies with std.
    Ok(())
}

// ----- Non-Unix: std alone ------------------------------------------------------------------

#[cfg(not(unix))]
pub(crate) fn create_temp(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

/// Serialises seek + read / seek + write pairs: std has no portable positional I/O, so the
/// shared cursor is used under one process-wide lock (all our I/O goes through here).
#[cfg(not(unix))]
static CURSOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(not(unix))]
pub(crate) fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let _guard = CURSOR.lock().unwrap_or_else(|e| e.into_inner());
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read(buf)
}

#[cfg(not(unix))]
pub(crate) fn write_at_once(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    use std::io::{Seek, SeekFrom, Write};
    let _guard = CURSOR.lock().unwrap_or_else(|e| e.into_inner());
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.write(buf)
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    // std cannot open a directory for syncing portably; nothing more can be done here.
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn free_space(_path: &Path) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "free space is not available on this OS",
    ))
}

#[cfg(not(unix))]
pub(crate) fn file_identity(_file: &File) -> io::Result<crate::FileIdentity> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "file identity is not available on this OS",
    ))
}

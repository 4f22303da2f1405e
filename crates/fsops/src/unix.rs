//! Helpers shared by the Unix backends (Linux, macOS): everything POSIX gives us the same way.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::{FileIdentity, Times};

pub(crate) fn create_temp(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        // Never follow a symlink someone planted at the temp name.
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

pub(crate) fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

pub(crate) fn write_at_once(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.write_at(buf, offset)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    // A directory opened read-only can be fsynced on Linux and macOS; that is what makes a
    // rename or unlink inside it durable (see fsync(2), "Calling fsync() does not necessarily
    // ensure that the entry in the directory containing the file has also reached disk").
    let d = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?;
    d.sync_all()
}

pub(crate) fn free_space(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between Linux and macOS
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

pub(crate) fn file_identity(file: &File) -> io::Result<FileIdentity> {
    let m = file.metadata()?;
    Ok(FileIdentity {
        volume: m.dev(),
        file: m.ino(),
    })
}

/// Applies access and modified times; returns whether a creation time could be applied too
/// (`can_set_created` is decided by the caller's OS).
pub(crate) fn set_std_times(file: &File, times: &Times) -> io::Result<()> {
    let mut ft = std::fs::FileTimes::new();
    if let Some(a) = times.accessed {
        ft = ft.set_accessed(a);
    }
    if let Some(m) = times.modified {
        ft = ft.set_modified(m);
    }
    #[cfg(target_os = "macos")]
    if let Some(c) = times.created {
        use std::os::macos::fs::FileTimesExt;
        ft = ft.set_created(c);
    }
    file.set_times(ft)
}

pub(crate) fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

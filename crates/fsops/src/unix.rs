//! What every Unix does the same way (POSIX calls and std's Unix extensions), shared by the Linux
//! and macOS backends and by the fallback on other Unixes. The functions without `(crate)` here
//! are the backends' public functions: each backend re-exports those it does not do its own way.

use std::ffi::{CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{FileIdentity, Times, TimesApplied};

/// `path` as a C string for a libc call.
pub(crate) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// The OS error number of `e`, or 0 when it has none.
pub(crate) fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Creates `path`, which must not exist, readable and writable by its owner only (0600), open for
/// reading and writing; a symlink planted at the name is refused, never followed (`O_NOFOLLOW`).
pub fn create_temp(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// One `pread(2)`: positional, so threads sharing the file never race on a cursor.
pub(crate) fn read_at_once(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

/// One `pwrite(2)`.
pub(crate) fn write_at_once(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    file.write_at(buf, offset)
}

/// Asks for aggressive read-ahead on a map that is read once from start to end (`madvise(2)`
/// `MADV_SEQUENTIAL`). Advisory only: a refusal changes nothing.
pub(crate) fn advise_sequential(map: &memmap2::Mmap) {
    let _ = map.advise(memmap2::Advice::Sequential);
}

/// Opens `path` read-only with `O_CLOEXEC` and `flags`.
pub(crate) fn open_read(path: &Path, flags: libc::c_int) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | flags)
        .open(path)
}

/// Opens a copy source for reading with `O_NONBLOCK`, so that a FIFO swapped in for a regular
/// file after it was checked can never block the open (the caller checks the opened file's type
/// before reading).
pub fn open_source(path: &Path) -> io::Result<File> {
    open_read(path, libc::O_NONBLOCK)
}

/// Opens a file we wrote (a temp) for its verify read-back. POSIX has no way to keep the reads
/// from updating its access time (Linux adds `O_NOATIME` where permitted); the mount options
/// decide.
pub fn open_readback(path: &Path) -> io::Result<File> {
    open_read(path, 0)
}

/// Makes the entries of directory `dir` durable: fsync on the directory, which is what makes a
/// rename or unlink inside it survive a crash (fsync(2): "Calling fsync() does not necessarily
/// ensure that the entry in the directory containing the file has also reached disk").
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let d = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?;
    d.sync_all()
}

/// Bytes available to the current user on the volume that holds `path` (an existing path), from
/// `statvfs(3)`: `f_bavail` excludes the blocks reserved for root.
pub fn free_space(path: &Path) -> io::Result<u64> {
    let c = c_path(path)?;
    // SAFETY: `statvfs` is plain data; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between Linux and macOS
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// (volume, file) identity of an open file: its device and inode numbers.
pub fn file_identity(file: &File) -> io::Result<FileIdentity> {
    Ok(identity_of(&file.metadata()?))
}

fn identity_of(m: &std::fs::Metadata) -> FileIdentity {
    FileIdentity {
        volume: m.dev(),
        file: m.ino(),
    }
}

/// (volume, file) identity from metadata already in hand (device and inode are in every `stat`),
/// which saves [`file_identity`]'s open and `fstat`.
pub fn identity_from_metadata(m: &std::fs::Metadata) -> Option<FileIdentity> {
    Some(identity_of(m))
}

/// (volume, file) identity of whatever `path` names now (following symlinks), from one `stat`.
/// Used to notice a source that was replaced (renamed over) while it was being copied.
pub fn path_identity(path: &Path) -> io::Result<FileIdentity> {
    Ok(identity_of(&std::fs::metadata(path)?))
}

/// (volume, file) identity of what `path` names itself — a link's own, not its target's
/// (`lstat`). Used to check that a path still leads to an item found beneath a root before the
/// item is handed to a path-only API (the trash).
pub fn path_identity_nofollow(path: &Path) -> io::Result<FileIdentity> {
    Ok(identity_of(&std::fs::symlink_metadata(path)?))
}

/// Whether the process `pid` exists (`kill(pid, 0)`: EPERM means it exists, owned by another
/// user).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Raises this process's soft limit on open descriptors to its hard limit and returns the
/// limit then in force (`u64::MAX`: none). A desktop session's soft limit (1,024 on Linux, 256
/// on macOS) is far below what the hard limit allows and what a tree run of small files holds.
/// macOS refuses a soft limit above `OPEN_MAX` (10,240) whatever the hard limit says.
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid `rlimit` for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let want = if cfg!(target_os = "macos") {
        lim.rlim_max.min(10_240)
    } else {
        lim.rlim_max
    };
    if want > lim.rlim_cur {
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: a valid `rlimit`; raising the soft limit up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = want;
        }
    }
    Some(if lim.rlim_cur == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        // `rlim_t` is `u64` on Linux and macOS.
        #[allow(clippy::unnecessary_cast)]
        {
            lim.rlim_cur as u64
        }
    })
}

/// Whether this process runs as root (effective uid 0): root keeps owners by default, and
/// reads and writes every file whatever its mode.
pub fn is_root() -> bool {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The owner and group of a file, as numeric ids.
pub fn owner_of(m: &std::fs::Metadata) -> Option<(u32, u32)> {
    Some((m.uid(), m.gid()))
}

/// How many names the item of `m` has (its hard links).
pub fn link_count(m: &std::fs::Metadata) -> u64 {
    m.nlink()
}

/// Gives an open file an owner and group (`fchown(2)`; only root may give a file away).
pub fn set_owner(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::fchown(file, Some(uid), Some(gid))
}

/// Every extended attribute of an open file this process may read, with its value (one
/// `flistxattr`, and one `fgetxattr` per name). A filesystem without them answers an empty list.
pub fn xattrs(file: &File) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
    use xattr::FileExt;
    let names = match file.list_xattr() {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        if let Some(value) = file.get_xattr(&name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// No alternate data streams here (extended attributes are the counterpart: [`xattrs`]).
pub fn copy_streams(src: &Path, dir: &crate::Dir, name: &OsStr) -> io::Result<u64> {
    let _ = (src, dir, name);
    Ok(0)
}

/// Nothing to do: POSIX ACLs are extended attributes here, copied with them ([`xattrs`]).
/// (Windows copies the explicit entries of a file's DACL.)
pub fn copy_acl(src: &File, dst: &File) -> io::Result<()> {
    let _ = (src, dst);
    Ok(())
}

/// Whether the filesystem of an open file answers for extended attributes at all (a listing
/// that is not `ENOTSUP`).
pub fn xattrs_supported(file: &File) -> bool {
    use xattr::FileExt;
    !matches!(file.list_xattr(), Err(e) if e.kind() == io::ErrorKind::Unsupported)
}

/// Every extended attribute of the item at `path` (a link itself, never what it points to),
/// as [`xattrs`] gives them for an open file: what a scan compares without opening anything.
pub fn xattrs_at(path: &Path) -> io::Result<Vec<(std::ffi::OsString, Vec<u8>)>> {
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        if let Some(value) = xattr::get(path, &name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// Sets one extended attribute of an open file.
pub fn set_xattr(file: &File, name: &OsStr, value: &[u8]) -> io::Result<()> {
    use xattr::FileExt;
    file.set_xattr(name, value)
}

/// Removes one extended attribute of an open file.
pub fn remove_xattr(file: &File, name: &OsStr) -> io::Result<()> {
    use xattr::FileExt;
    file.remove_xattr(name)
}

/// The data extents of an open file of length `len`, as (offset, length), from
/// `lseek(SEEK_DATA / SEEK_HOLE)`: the holes between them read as zeros and take no space.
/// `Ok(None)` where the filesystem cannot tell (it answers EINVAL or ENXIO at offset 0 for a
/// file that has data): treat the whole file as data.
pub fn data_extents(file: &File, len: u64) -> io::Result<Option<Vec<(u64, u64)>>> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let seek = |off: u64, whence: libc::c_int| -> io::Result<Option<u64>> {
        let Ok(off) = libc::off_t::try_from(off) else {
            return Ok(None);
        };
        // SAFETY: valid descriptor; lseek only moves this descriptor's offset (all our I/O on
        // it is positional).
        let r = unsafe { libc::lseek(fd, off, whence) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // ENXIO: no data (SEEK_DATA) or no hole (SEEK_HOLE) at or after `off`.
            return match e.raw_os_error() {
                Some(libc::ENXIO) => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(r as u64))
    };
    let mut extents = Vec::new();
    let mut off = 0;
    while off < len {
        let start = match seek(off, libc::SEEK_DATA) {
            Ok(Some(s)) => s.min(len),
            Ok(None) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
            Err(e) => return Err(e),
        };
        if start >= len {
            break;
        }
        let end = seek(start, libc::SEEK_HOLE)?.unwrap_or(len).min(len);
        extents.push((start, end - start));
        off = end;
    }
    Ok(Some(extents))
}

/// Bytes a file really takes on its disk (512-byte blocks): less than its length when sparse.
pub fn allocated_size(m: &std::fs::Metadata) -> u64 {
    m.blocks().saturating_mul(512)
}

/// The bits [`mode_bits`] reports and [`set_file_mode`] sets: the permission bits with setuid,
/// setgid and sticky.
pub const MODE_BITS: u32 = 0o7777;

/// Sets the permission bits of an open file (`fchmod(2)`).
pub fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Applies `times` to a directory: Unix opens a directory read-only like any file, and
/// `futimens(2)` on that descriptor needs no write access.
pub fn set_dir_times(dir: &Path, times: &Times) -> io::Result<TimesApplied> {
    crate::backend::set_times(&File::open(dir)?, times)
}

/// Sets the access and modified times of a symbolic link itself, not of what it points to
/// (`utimensat(2)` with `AT_SYMLINK_NOFOLLOW`); `Ok(true)`, as every Unix can.
pub fn set_symlink_times(
    link: &Path,
    accessed: SystemTime,
    modified: SystemTime,
) -> io::Result<bool> {
    fn ts(t: SystemTime) -> libc::timespec {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as _,
        }
    }
    let c = c_path(link)?;
    let times = [ts(accessed), ts(modified)];
    // SAFETY: valid C string and a two-element timespec array, as utimensat(2) requires.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

/// Creates a symbolic link at `link` pointing to `target`, stored as given so relative links stay
/// relative. `target_is_dir` matters only on Windows, whose links have a kind.
pub fn create_symlink(target: &Path, link: &Path, target_is_dir: bool) -> io::Result<()> {
    let _ = target_is_dir;
    std::os::unix::fs::symlink(target, link)
}

/// Deletes a file of ours (a temp): Unix deletes a read-only file like any other, so this is
/// `std::fs::remove_file`.
pub fn remove_temp(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)
}

/// Whether another program has `path` open so that deleting it may fail: never on Unix, which
/// deletes an open file without complaint (the open handles keep the data until closed).
pub fn in_use(path: &Path) -> io::Result<bool> {
    let _ = path;
    Ok(false)
}

/// A plain-words cause for an OS error whose code says little to a user: `None` on Unix, whose
/// own `strerror(3)` text is as good.
pub fn describe_os_error(e: &io::Error) -> Option<&'static str> {
    let _ = e;
    None
}

/// A path as bytes for storage (the run journal), losslessly: a Unix name is already bytes, even
/// one that is not valid Unicode.
pub fn path_to_bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

/// The inverse of [`path_to_bytes`].
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

/// The permission bits the scan records and compares: the mode's low twelve bits (read, write
/// and execute for owner, group and others, plus setuid, setgid and sticky).
pub fn mode_bits(m: &std::fs::Metadata) -> u32 {
    m.permissions().mode() & 0o7777
}

/// Whether a file has holes: its allocated 512-byte blocks (`st_blocks`, stat(2)) cover less
/// than its length, with a page of slack for a tail the filesystem packs into metadata.
pub fn is_sparse(m: &std::fs::Metadata) -> bool {
    m.blocks().saturating_mul(512) + 4096 < m.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_bits_keep_permissions_and_the_setuid_bit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, b"x").unwrap();
        for mode in [0o640, 0o755, 0o4750] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(mode_bits(&std::fs::metadata(&p).unwrap()), mode, "{mode:o}");
        }
    }

    #[test]
    fn a_file_with_a_hole_is_sparse_and_a_written_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full");
        std::fs::write(&full, vec![9u8; 1 << 20]).unwrap();
        File::open(&full).unwrap().sync_all().unwrap();
        assert!(!is_sparse(&std::fs::metadata(&full).unwrap()));

        let holey = dir.path().join("holey");
        File::create(&holey).unwrap().set_len(64 << 20).unwrap();
        assert!(is_sparse(&std::fs::metadata(&holey).unwrap()));
    }

    #[test]
    fn paths_that_are_not_unicode_round_trip() {
        let p = Path::new(OsStr::from_bytes(b"caf\xe9/x"));
        assert_eq!(path_from_bytes(&path_to_bytes(p)), p);
    }

    #[test]
    fn symlink_times_apply_to_the_link_not_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        create_symlink(Path::new("target"), &link, false).unwrap();
        let before = std::fs::metadata(&target).unwrap().modified().unwrap();
        let when = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
        assert!(set_symlink_times(&link, when, when).unwrap());
        assert_eq!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .modified()
                .unwrap(),
            when
        );
        assert_eq!(
            std::fs::metadata(&target).unwrap().modified().unwrap(),
            before
        );
    }
}

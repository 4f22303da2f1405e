//! [`Dir`] on Unix: an open directory descriptor, and every operation on an entry as the `*at(2)`
//! call relative to it (`openat`, `mkdirat`, `renameat`, `linkat`, `unlinkat`, `symlinkat`,
//! `fstatat`, `utimensat`, `fchmodat`), so that no path is ever resolved again from the top: a
//! symbolic link swapped in for a folder of the tree during a run is met as a link, never
//! followed. Folders beneath a `Dir` are opened one component at a time with `O_NOFOLLOW`
//! (Linux first tries one `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`).

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::{EntryStat, EntryType, FileIdentity, NameProblem, Times, TimesApplied};

/// An open directory; see the module docs. Entry names are single path components.
///
/// Portable code drops a `Dir` before it removes or renames that folder: on Unix nothing stops
/// it, but on Windows a `Dir` pins its folder and every folder above it until it is dropped.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// `name` as a C string; a name with a separator or NUL is refused (it would leave the folder).
fn c_name(name: &OsStr) -> io::Result<CString> {
    let b = name.as_bytes();
    if b.is_empty() || b.contains(&b'/') || b == b"." || b == b".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a single name: {:?}", name),
        ));
    }
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))
}

/// The result of a libc call that returns -1 on error.
fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn ts(t: Option<SystemTime>) -> libc::timespec {
    match t {
        Some(t) => {
            let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as _,
            }
        }
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT as _,
        },
    }
}

/// Whether `e` says that a symbolic link stood where a folder was needed (a link met on the way
/// beneath a [`Dir`], never followed): `ELOOP`, which `O_NOFOLLOW` and `RESOLVE_NO_SYMLINKS`
/// answer.
pub fn is_link_in_path(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// What an error says about a name the filesystem will not take, if that is what it says:
/// `EINVAL` or `EILSEQ` from a create or rename (FAT, exFAT, NTFS-3G refuse `:` `?` … or bytes
/// that are not valid in their encoding), `ENAMETOOLONG`, and `ENOSYS` / `EOPNOTSUPP` (a FUSE
/// filesystem that does not implement the call).
pub fn name_problem(e: &io::Error) -> Option<NameProblem> {
    match e.raw_os_error()? {
        libc::EINVAL | libc::EILSEQ => Some(NameProblem::Refused),
        libc::ENAMETOOLONG => Some(NameProblem::TooLong),
        libc::ENOSYS | libc::EOPNOTSUPP => Some(NameProblem::Unsupported),
        _ => None,
    }
}

impl Dir {
    /// Opens the directory at `path` — a root the user named, so a link in `path` itself is
    /// followed; only what lies beneath it is resolved without links.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = crate::unix::c_path(path)?;
        // SAFETY: `c` is a valid C string; the returned descriptor is owned below.
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(Dir {
            // SAFETY: `fd` was just opened and is owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The descriptor, for the backends' own `*at` calls.
    #[cfg_attr(not(target_os = "macos"), allow(dead_code))]
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Opens `name` with `flags` (and `O_CLOEXEC`), for the backends.
    #[cfg_attr(not(target_os = "macos"), allow(dead_code))]
    pub(crate) fn open_with(&self, name: &OsStr, flags: libc::c_int) -> io::Result<File> {
        self.open_at(name, flags, 0)
    }

    /// The path this directory was reached by (for messages; never used for I/O).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory `rel` (relative, without `..`) beneath this one, never following a
    /// symbolic link on the way: a link there is an error for which [`is_link_in_path`] holds.
    /// An empty `rel` opens this directory again.
    pub fn open_dir(&self, rel: &Path) -> io::Result<Dir> {
        let path = self.path.join(rel);
        #[cfg(target_os = "linux")]
        if let Some(fd) = crate::linux::openat2_beneath(self.fd.as_raw_fd(), rel)? {
            return Ok(Dir { fd, path });
        }
        let mut fd = dup(self.fd.as_raw_fd())?;
        for c in rel.components() {
            match c {
                Component::Normal(name) => fd = open_child_dir(fd.as_raw_fd(), name)?,
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("not a path beneath the folder: {}", rel.display()),
                    ));
                }
            }
        }
        Ok(Dir { fd, path })
    }

    /// The child directory `name`, not followed if it is a link.
    pub fn child(&self, name: &OsStr) -> io::Result<Dir> {
        Ok(Dir {
            fd: open_child_dir(self.fd.as_raw_fd(), name)?,
            path: self.path.join(name),
        })
    }

    /// Creates the directory `name` (mode 0777 less the umask, like `mkdir(1)`).
    pub fn create_dir(&self, name: &OsStr) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string.
        cvt(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o777) }).map(drop)
    }

    /// Creates the file `name`, which must not exist, readable and writable by its owner only
    /// (0600) and open for reading and writing; a link planted at the name is refused.
    ///
    /// On Linux it is opened with `O_NOATIME`, so the verify can read the copy back through this
    /// same handle without touching the access time applied before it ([`crate::temp_reads_keep_atime`]
    /// says whether that holds); a filesystem that refuses the flag gets the plain open.
    pub fn create_temp(&self, name: &OsStr) -> io::Result<File> {
        let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        #[cfg(target_os = "linux")]
        if !crate::NOATIME_REFUSED.load(std::sync::atomic::Ordering::Relaxed) {
            match self.open_at(name, flags | libc::O_NOATIME, 0o600) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) => {
                    crate::NOATIME_REFUSED.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                r => return r,
            }
        }
        self.open_at(name, flags, 0o600)
    }

    /// Opens the file `name` for reading without following a link there (a link is `ELOOP`),
    /// and without blocking on a FIFO.
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(
            name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            0,
        )
    }

    /// Opens a file we wrote (a temp) for its verify read-back, without following a link there
    /// and (Linux) with `O_NOATIME` where permitted, so the times applied before the verify
    /// survive it.
    pub fn open_readback(&self, name: &OsStr) -> io::Result<File> {
        #[cfg(target_os = "linux")]
        match self.open_at(name, libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NOATIME, 0) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            r => return r,
        }
        self.open_at(name, libc::O_RDONLY | libc::O_NOFOLLOW, 0)
    }

    /// Opens a file we wrote for reads that bypass the page cache (Linux `O_DIRECT`; see
    /// [`crate::open_direct`]). `Ok(None)` where the filesystem or OS cannot.
    pub fn open_direct(&self, name: &OsStr) -> io::Result<Option<File>> {
        #[cfg(target_os = "linux")]
        for noatime in [libc::O_NOATIME, 0] {
            match self.open_at(
                name,
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_DIRECT | noatime,
                0,
            ) {
                Ok(f) => return Ok(Some(f)),
                Err(e) if noatime != 0 && e.raw_os_error() == Some(libc::EPERM) => continue,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        let _ = name;
        Ok(None)
    }

    fn open_at(&self, name: &OsStr, flags: libc::c_int, mode: libc::c_uint) -> io::Result<File> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string; the descriptor is owned by the File.
        let fd = cvt(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                flags | libc::O_CLOEXEC,
                mode,
            )
        })?;
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// What `name` is, without following a link (`fstatat` with `AT_SYMLINK_NOFOLLOW`).
    pub fn stat(&self, name: &OsStr) -> io::Result<EntryStat> {
        let c = c_name(name)?;
        // SAFETY: all-zero is a valid `stat`; the call fills it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, C string and out-pointer.
        cvt(unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => EntryType::File,
            libc::S_IFDIR => EntryType::Dir,
            libc::S_IFLNK => EntryType::Symlink,
            _ => EntryType::Other,
        };
        let mtime_ns = i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec);
        Ok(EntryStat {
            kind,
            len: st.st_size as u64,
            mtime_ns,
            mode: st.st_mode as u32 & 0o7777,
            identity: FileIdentity {
                volume: st.st_dev as u64,
                file: st.st_ino as u64,
            },
        })
    }

    /// Renames `from` to `to` in this directory unless `to` exists: `Ok(false)` then, and nothing
    /// changed. One call on Linux (`renameat2` with `RENAME_NOREPLACE`); elsewhere, and on
    /// filesystems that refuse the flag, a look at `to` before the rename.
    pub fn rename_noreplace(&self, from: &OsStr, to: &OsStr) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            let (a, b) = (c_name(from)?, c_name(to)?);
            // SAFETY: valid descriptor and C strings.
            let rc = unsafe {
                libc::renameat2(
                    self.fd.as_raw_fd(),
                    a.as_ptr(),
                    self.fd.as_raw_fd(),
                    b.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            };
            if rc == 0 {
                return Ok(true);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EEXIST) => return Ok(false),
                Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {}
                _ => return Err(e),
            }
        }
        match self.stat(to) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.rename(from, self, to).map(|()| true)
            }
            Err(e) => Err(e),
        }
    }

    /// Renames `from` in this directory to `to` in `to_dir` (atomically replacing a file there);
    /// neither name is followed if it is a link.
    pub fn rename(&self, from: &OsStr, to_dir: &Dir, to: &OsStr) -> io::Result<()> {
        let (a, b) = (c_name(from)?, c_name(to)?);
        // SAFETY: valid descriptors and C strings.
        cvt(unsafe {
            libc::renameat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                to_dir.fd.as_raw_fd(),
                b.as_ptr(),
            )
        })
        .map(drop)
    }

    /// A second name `to` in `to_dir` for the file `name` (a link at `name` is linked as a
    /// link, never followed).
    pub fn hard_link(&self, name: &OsStr, to_dir: &Dir, to: &OsStr) -> io::Result<()> {
        let (a, b) = (c_name(name)?, c_name(to)?);
        // SAFETY: valid descriptors and C strings; flags 0 do not follow `a`.
        cvt(unsafe {
            libc::linkat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                to_dir.fd.as_raw_fd(),
                b.as_ptr(),
                0,
            )
        })
        .map(drop)
    }

    /// Creates the symbolic link `name` pointing at `target` (stored as given).
    pub fn symlink(&self, target: &Path, name: &OsStr, target_is_dir: bool) -> io::Result<()> {
        let _ = target_is_dir;
        let (t, n) = (crate::unix::c_path(target)?, c_name(name)?);
        // SAFETY: valid descriptor and C strings.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), n.as_ptr()) }).map(drop)
    }

    /// Deletes the file or link `name` (a link is removed as a link).
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string.
        cvt(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
    }

    /// Deletes a file of ours (a temp): on Unix as any file.
    pub fn remove_temp(&self, name: &OsStr) -> io::Result<()> {
        self.remove_file(name)
    }

    /// Deletes the empty directory `name`.
    pub fn remove_dir(&self, name: &OsStr) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string.
        cvt(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) })
            .map(drop)
    }

    /// Deletes `name` and, if it is a directory, everything in it — beneath this directory
    /// only: links inside are removed as links, never followed.
    pub fn remove_tree(&self, name: &OsStr) -> io::Result<()> {
        match self.stat(name)?.kind {
            EntryType::Dir => {
                let child = self.child(name)?;
                for e in child.entries()? {
                    child.remove_tree(&e)?;
                }
                self.remove_dir(name)
            }
            _ => self.remove_file(name),
        }
    }

    /// The names in this directory (`.` and `..` left out).
    pub fn entries(&self) -> io::Result<Vec<std::ffi::OsString>> {
        // `fdopendir` takes ownership of its descriptor: give it a duplicate.
        let fd = dup(self.fd.as_raw_fd())?;
        // SAFETY: `fd` is a valid directory descriptor, owned by the DIR stream from here.
        let dir = unsafe { libc::fdopendir(fd.as_raw_fd()) };
        if dir.is_null() {
            return Err(io::Error::last_os_error());
        }
        std::mem::forget(fd);
        // SAFETY: `dir` is a valid stream; rewinding reads from the start whatever an earlier
        // listing of the shared file description left behind.
        unsafe { libc::rewinddir(dir) };
        let mut names = Vec::new();
        loop {
            // SAFETY: `dir` is valid; readdir returns NULL at the end (or on error).
            let ent = unsafe { libc::readdir(dir) };
            if ent.is_null() {
                break;
            }
            // SAFETY: `d_name` is a NUL-terminated name inside the entry.
            let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
            let b = name.to_bytes();
            if b != b"." && b != b".." {
                names.push(OsStr::from_bytes(b).to_os_string());
            }
        }
        // SAFETY: `dir` is valid and closed once.
        unsafe { libc::closedir(dir) };
        Ok(names)
    }

    /// Sets the permission bits of the file or directory `name` (a link there is refused).
    pub fn set_mode(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        if self.stat(name)?.kind == EntryType::Symlink {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string. The stat above refused a link; the window
        // between them is closed by `AT_SYMLINK_NOFOLLOW` where the C library supports it.
        match cvt(unsafe {
            libc::fchmodat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                mode as libc::mode_t,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        }) {
            Ok(_) => Ok(()),
            // Older C libraries and kernels refuse the flag altogether; the stat above stands.
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                // SAFETY: as above.
                cvt(unsafe {
                    libc::fchmodat(self.fd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t, 0)
                })
                .map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets this directory's own permission bits.
    pub fn set_own_mode(&self, mode: u32) -> io::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
    }

    /// Applies `times` to the directory `name` (not followed if it is a link).
    pub fn set_dir_times(&self, name: &OsStr, times: &Times) -> io::Result<TimesApplied> {
        let d = open_child_dir(self.fd.as_raw_fd(), name)?;
        crate::backend::set_times(&File::from(d), times)
    }

    /// Applies `times` to this directory itself.
    pub fn set_own_times(&self, times: &Times) -> io::Result<TimesApplied> {
        crate::backend::set_times(&File::from(dup(self.fd.as_raw_fd())?), times)
    }

    /// Sets the access and modified times of the link `name` itself.
    pub fn set_symlink_times(
        &self,
        name: &OsStr,
        accessed: SystemTime,
        modified: SystemTime,
    ) -> io::Result<bool> {
        let c = c_name(name)?;
        let t = [ts(Some(accessed)), ts(Some(modified))];
        // SAFETY: valid descriptor, C string and a two-element array.
        cvt(unsafe {
            libc::utimensat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                t.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(|_| true)
    }

    /// Gives the link `name` itself (never what it points to) an owner and group
    /// (`fchownat(2)` with `AT_SYMLINK_NOFOLLOW`; only root may give it away).
    pub fn set_symlink_owner(&self, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor and C string.
        cvt(unsafe {
            libc::fchownat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
        .map(drop)
    }

    /// Makes this directory's entries durable (`fsync(2)` on it).
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: valid descriptor.
        cvt(unsafe { libc::fsync(self.fd.as_raw_fd()) }).map(drop)
    }

    /// This directory's (device, inode).
    pub fn identity(&self) -> io::Result<FileIdentity> {
        crate::backend::file_identity(&File::from(dup(self.fd.as_raw_fd())?))
    }

    /// A second handle to this directory, for the calls that take a file (owner, extended
    /// attributes).
    pub fn file(&self) -> io::Result<File> {
        Ok(File::from(dup(self.fd.as_raw_fd())?))
    }

    /// This directory's own times and permissions (`fstat`).
    pub fn metadata(&self) -> io::Result<std::fs::Metadata> {
        File::from(dup(self.fd.as_raw_fd())?).metadata()
    }

    /// Tries to lock this directory for this process (`flock(2)`): exclusive, or shared with
    /// other shared holders. `Ok(None)` when another holder conflicts. The lock lives as long
    /// as the returned file and is released by the OS when the process dies, whatever user or
    /// data folder the other run has, and through every path to the folder (bind mounts).
    pub fn try_lock(&self, exclusive: bool) -> io::Result<Option<File>> {
        // A descriptor of its own: each holder's flock is per open file description.
        let c = crate::unix::c_path(Path::new("."))?;
        // SAFETY: valid descriptor and C string; the new descriptor is owned below.
        let fd = cvt(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: just opened, owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: valid descriptor.
        match cvt(unsafe { libc::flock(fd.as_raw_fd(), op | libc::LOCK_NB) }) {
            Ok(_) => Ok(Some(File::from(fd))),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fd` is a valid descriptor; the duplicate is owned below.
    let d = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: just created, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

/// The directory `name` inside `dir`, never following a link there (`ELOOP`).
fn open_child_dir(dir: RawFd, name: &OsStr) -> io::Result<OwnedFd> {
    let c = c_name(name)?;
    // SAFETY: valid descriptor and C string; the result is owned below.
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })
    .map_err(|e| {
        // Some systems answer ENOTDIR for a link opened with O_DIRECTORY | O_NOFOLLOW: say
        // what it really is.
        if e.raw_os_error() == Some(libc::ENOTDIR) && is_link_at(dir, &c) {
            io::Error::from_raw_os_error(libc::ELOOP)
        } else {
            e
        }
    })?;
    // SAFETY: just opened, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn is_link_at(dir: RawFd, name: &CString) -> bool {
    // SAFETY: all-zero is a valid `stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out-pointer.
    let rc = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

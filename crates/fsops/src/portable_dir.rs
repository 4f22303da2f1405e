//! [`Dir`] for an OS that is neither Unix nor Windows (WASI …): std's path-based calls only.
//!
//! **This OS gets no protection against links swapped in during a run.** std offers no
//! handle-relative calls here, so a `Dir` is just a path: every operation on an entry resolves
//! `folder/name` again from the top, and a folder of that path that someone replaces with a
//! symbolic link between our check and our use is followed. What this module does is check each
//! folder when it is opened ([`Dir::open_dir`], [`Dir::child`]) and each entry before it is opened
//! for reading or given a mode, so a link that is already there when we look is refused with an
//! error for which [`is_link_in_path`] holds — a check, not a guarantee.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::{EntryStat, EntryType, FileIdentity, Times, TimesApplied};

/// An open directory, as a path; see the module docs for what that does not protect against.
/// Entry names are single path components.
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
}

/// The payload of the error for "a link stood where a folder was needed", which
/// [`is_link_in_path`] recognises: this OS has no error code of its own for it that std exposes.
#[derive(Debug)]
struct LinkInPath;

impl std::fmt::Display for LinkInPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a symbolic link stands where a folder is needed")
    }
}

impl std::error::Error for LinkInPath {}

/// Whether `e` says that a symbolic link stood where a folder was needed (met when a folder
/// beneath a [`Dir`] was opened, or an entry was checked, and never followed then).
pub fn is_link_in_path(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LinkInPath>())
}

fn link_error() -> io::Error {
    io::Error::other(LinkInPath)
}

/// Refuses a name that is not one component: empty, `.`, `..`, or with a separator.
fn check_name(name: &OsStr) -> io::Result<()> {
    let mut c = Path::new(name).components();
    match (c.next(), c.next()) {
        (Some(Component::Normal(n)), None) if n == name => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a single name: {:?}", name),
        )),
    }
}

/// Fails if `path` is a symbolic link (it is not followed to look).
fn refuse_link(path: &Path) -> io::Result<std::fs::Metadata> {
    let m = std::fs::symlink_metadata(path)?;
    if m.file_type().is_symlink() {
        return Err(link_error());
    }
    Ok(m)
}

/// A stand-in identity: std exposes no (device, inode) on this OS, so the identity is a hash
/// (64-bit FNV-1a) of the path the entry was reached by. Equal paths give equal identities;
/// two names of one file (hard links, aliases) look like two files.
fn path_hash_identity(path: &Path) -> FileIdentity {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    FileIdentity { volume: 0, file: h }
}

fn ns_since_epoch(t: SystemTime) -> i128 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

impl Dir {
    /// Opens the directory at `path` (a link in `path` itself is followed: the user named it).
    pub fn open(path: &Path) -> io::Result<Dir> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(io::ErrorKind::NotADirectory.into());
        }
        Ok(Dir {
            path: path.to_path_buf(),
        })
    }

    /// The path this directory was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn entry(&self, name: &OsStr) -> io::Result<PathBuf> {
        check_name(name)?;
        Ok(self.path.join(name))
    }

    /// The directory `rel` (relative, without `..`) beneath this one, each folder on the way
    /// checked not to be a symbolic link (see the module docs: a check when it runs, not a
    /// guarantee). An empty `rel` opens this directory again.
    pub fn open_dir(&self, rel: &Path) -> io::Result<Dir> {
        let mut path = self.path.clone();
        for c in rel.components() {
            match c {
                Component::Normal(name) => {
                    path.push(name);
                    if !refuse_link(&path)?.is_dir() {
                        return Err(io::ErrorKind::NotADirectory.into());
                    }
                }
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("not a path beneath the folder: {}", rel.display()),
                    ));
                }
            }
        }
        Ok(Dir {
            path: self.path.join(rel),
        })
    }

    /// The child directory `name`, checked not to be a link.
    pub fn child(&self, name: &OsStr) -> io::Result<Dir> {
        check_name(name)?;
        self.open_dir(Path::new(name))
    }

    /// Creates the directory `name`.
    pub fn create_dir(&self, name: &OsStr) -> io::Result<()> {
        std::fs::create_dir(self.entry(name)?)
    }

    /// Creates the file `name`, which must not exist (a link there included), open for reading
    /// and writing.
    pub fn create_temp(&self, name: &OsStr) -> io::Result<File> {
        crate::backend::create_temp(&self.entry(name)?)
    }

    /// Opens the file `name` for reading, refusing a link there (checked first).
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let p = self.entry(name)?;
        refuse_link(&p)?;
        crate::backend::open_source(&p)
    }

    /// Opens a file we wrote (a temp) for its verify read-back, refusing a link there.
    pub fn open_readback(&self, name: &OsStr) -> io::Result<File> {
        let p = self.entry(name)?;
        refuse_link(&p)?;
        crate::backend::open_readback(&p)
    }

    /// Reads that bypass the page cache: no portable way, so `Ok(None)`.
    pub fn open_direct(&self, name: &OsStr) -> io::Result<Option<File>> {
        self.entry(name)?;
        Ok(None)
    }

    /// What `name` is, without following a link (`symlink_metadata`); the mode is 1 for
    /// read-only, else 0, and the identity a stand-in (a hash of the path: this OS exposes no file identity).
    pub fn stat(&self, name: &OsStr) -> io::Result<EntryStat> {
        let p = self.entry(name)?;
        let m = std::fs::symlink_metadata(&p)?;
        Ok(EntryStat {
            kind: EntryType::from(m.file_type()),
            len: m.len(),
            mtime_ns: m.modified().map(ns_since_epoch).unwrap_or(0),
            mode: crate::backend::mode_bits(&m),
            identity: path_hash_identity(&p),
        })
    }

    /// Renames `from` to `to` in this directory unless `to` exists: `Ok(false)` then, and
    /// nothing changed (a look at `to`, then the rename).
    pub fn rename_noreplace(&self, from: &OsStr, to: &OsStr) -> io::Result<bool> {
        match self.stat(to) {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.rename(from, self, to).map(|()| true)
            }
            Err(e) => Err(e),
        }
    }

    /// Renames `from` in this directory to `to` in `to_dir` (replacing a file there).
    pub fn rename(&self, from: &OsStr, to_dir: &Dir, to: &OsStr) -> io::Result<()> {
        std::fs::rename(self.entry(from)?, to_dir.entry(to)?)
    }

    /// A second name `to` in `to_dir` for the file `name`.
    pub fn hard_link(&self, name: &OsStr, to_dir: &Dir, to: &OsStr) -> io::Result<()> {
        std::fs::hard_link(self.entry(name)?, to_dir.entry(to)?)
    }

    /// Creates the symbolic link `name` pointing at `target`, where this OS can.
    pub fn symlink(&self, target: &Path, name: &OsStr, target_is_dir: bool) -> io::Result<()> {
        crate::backend::create_symlink(target, &self.entry(name)?, target_is_dir)
    }

    /// Deletes the file or link `name`.
    pub fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_file(self.entry(name)?)
    }

    /// Deletes a file of ours (a temp).
    pub fn remove_temp(&self, name: &OsStr) -> io::Result<()> {
        crate::backend::remove_temp(&self.entry(name)?)
    }

    /// Deletes the empty directory `name`.
    pub fn remove_dir(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_dir(self.entry(name)?)
    }

    /// Deletes `name` and, if it is a directory, everything in it (std's `remove_dir_all`,
    /// which removes links inside as links).
    pub fn remove_tree(&self, name: &OsStr) -> io::Result<()> {
        match self.stat(name)?.kind {
            EntryType::Dir => std::fs::remove_dir_all(self.entry(name)?),
            _ => self.remove_file(name),
        }
    }

    /// The names in this directory.
    pub fn entries(&self) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(&self.path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }

    /// Sets `name` read-only when `mode & 1` (the one portable permission), refusing a link.
    pub fn set_mode(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let p = self.entry(name)?;
        let mut perm = refuse_link(&p)?.permissions();
        perm.set_readonly(mode & 1 != 0);
        std::fs::set_permissions(&p, perm)
    }

    /// Sets this directory read-only when `mode & 1`.
    pub fn set_own_mode(&self, mode: u32) -> io::Result<()> {
        let mut perm = std::fs::metadata(&self.path)?.permissions();
        perm.set_readonly(mode & 1 != 0);
        std::fs::set_permissions(&self.path, perm)
    }

    /// Applies `times` to the directory `name`, refusing a link there.
    pub fn set_dir_times(&self, name: &OsStr, times: &Times) -> io::Result<TimesApplied> {
        let p = self.entry(name)?;
        refuse_link(&p)?;
        crate::backend::set_dir_times(&p, times)
    }

    /// Applies `times` to this directory itself.
    pub fn set_own_times(&self, times: &Times) -> io::Result<TimesApplied> {
        crate::backend::set_dir_times(&self.path, times)
    }

    /// No portable owners: unsupported.
    pub fn set_symlink_owner(&self, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
        let _ = (name, uid, gid);
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Sets a link's own times, where this OS can (`Ok(false)` where it cannot).
    pub fn set_symlink_times(
        &self,
        name: &OsStr,
        accessed: SystemTime,
        modified: SystemTime,
    ) -> io::Result<bool> {
        crate::backend::set_symlink_times(&self.entry(name)?, accessed, modified)
    }

    /// Makes this directory's entries durable, as far as [`crate::sync_dir`] can.
    pub fn sync(&self) -> io::Result<()> {
        crate::backend::sync_dir(&self.path)
    }

    /// This directory's identity: a stand-in, a hash of its path (this OS exposes none).
    pub fn identity(&self) -> io::Result<FileIdentity> {
        Ok(path_hash_identity(&self.path))
    }

    /// This directory's own times and permissions.
    pub fn metadata(&self) -> io::Result<std::fs::Metadata> {
        std::fs::metadata(&self.path)
    }

    /// A handle to this directory, for the calls that take a file.
    pub fn file(&self) -> io::Result<std::fs::File> {
        std::fs::File::open(&self.path)
    }

    /// Tries to lock this directory (std's `File::try_lock` on the directory opened as a file):
    /// exclusive, or shared with other shared holders; `Ok(None)` when another holder conflicts,
    /// an `Unsupported` error where this OS has no file locks.
    pub fn try_lock(&self, exclusive: bool) -> io::Result<Option<File>> {
        let file = File::open(&self.path)?;
        let r = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match r {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

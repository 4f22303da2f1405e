//! A folder's entries with the facts a tree's scan keeps of each, stat'ed relative to the open
//! folder. On Linux the listing is `getdents64` into one buffer per folder and the stat one
//! `statx` on the entry's name, with no allocation per entry: std's `read_dir` allocates each
//! entry's name twice, and its `Metadata` cannot be built from anything but its own calls
//! (the walk was 4 % of a no-change re-sync's CPU above the kernel's own work, `perf`).
//! Elsewhere it is std's `read_dir`, whose entries carry their metadata on Windows.

use std::ffi::OsStr;
use std::io;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::SystemTime;

use crate::{EntryType, FileIdentity};

/// What a scan keeps of an entry: one `lstat` (never following a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListStat {
    /// What the entry is.
    pub kind: EntryType,
    /// Its length in bytes.
    pub len: u64,
    /// Its modified time, when the filesystem gives one.
    pub modified: Option<SystemTime>,
    /// Its creation time, when the filesystem and OS give one.
    pub created: Option<SystemTime>,
    /// Its permission bits ([`crate::mode_bits`]).
    pub mode: u32,
    /// Its owner and group, where there are any ([`crate::owner_of`]).
    pub owner: Option<(u32, u32)>,
    /// How many names it has ([`crate::link_count`]).
    pub links: u64,
    /// Its identity, where the stat carries one ([`crate::identity_from_metadata`]).
    pub identity: Option<FileIdentity>,
}

impl ListStat {
    /// The same facts from std's metadata (a followed link's target, and every entry where the
    /// listing is std's).
    pub fn from_metadata(m: &std::fs::Metadata) -> ListStat {
        ListStat {
            kind: EntryType::from(m.file_type()),
            len: m.len(),
            modified: m.modified().ok(),
            created: m.created().ok(),
            mode: crate::mode_bits(m),
            owner: crate::owner_of(m),
            links: crate::link_count(m),
            identity: crate::identity_from_metadata(m),
        }
    }
}

/// One entry of [`list_dir`]: its name now, its stat when asked for.
pub struct Listed<'a>(imp::Listed<'a>);

impl std::fmt::Debug for Listed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Listed").field(&self.name()).finish()
    }
}

impl Listed<'_> {
    /// The entry's name in its folder.
    pub fn name(&self) -> &OsStr {
        self.0.name()
    }

    /// Whether it is a folder (a link to one is not): the listing's own type where it gives
    /// one, else a stat (which [`Listed::stat`] then reuses).
    pub fn is_dir(&self) -> bool {
        self.0.is_dir()
    }

    /// Its stat, relative to the open folder, never following a link.
    pub fn stat(&self) -> io::Result<ListStat> {
        self.0.stat()
    }
}

/// Lists the folder `path` (following a link there, as `read_dir` does), calling `each` for
/// every entry but `.` and `..` until it says stop. An error that cuts the listing short is
/// returned after the entries read before it.
pub fn list_dir(
    path: &Path,
    each: &mut dyn FnMut(&Listed<'_>) -> ControlFlow<()>,
) -> io::Result<()> {
    imp::list_dir(path, &mut |l| each(&Listed(l)))
}

#[cfg(target_os = "linux")]
mod imp {
    use std::cell::Cell;
    use std::ffi::{CStr, OsStr};
    use std::io;
    use std::ops::ControlFlow;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, StatxFlags};

    use super::ListStat;
    use crate::{EntryType, FileIdentity};

    /// Room for a few hundred names per `getdents64`, as glibc's `readdir` has.
    const LIST_BUF: usize = 32 << 10;

    pub(super) struct Listed<'a> {
        dir: &'a OwnedFd,
        name: &'a CStr,
        kind: FileType,
        stat: Cell<Option<ListStat>>,
    }

    impl Listed<'_> {
        pub(super) fn name(&self) -> &OsStr {
            OsStr::from_bytes(self.name.to_bytes())
        }

        pub(super) fn is_dir(&self) -> bool {
            match self.kind {
                FileType::Unknown => self.stat().is_ok_and(|s| s.kind == EntryType::Dir),
                k => k == FileType::Directory,
            }
        }

        pub(super) fn stat(&self) -> io::Result<ListStat> {
            if let Some(s) = self.stat.get() {
                return Ok(s);
            }
            let s = stat_at(self.dir, self.name)?;
            self.stat.set(Some(s));
            Ok(s)
        }
    }

    pub(super) fn list_dir(
        path: &Path,
        each: &mut dyn FnMut(Listed<'_>) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let dir = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut buf: Vec<u8> = Vec::with_capacity(LIST_BUF);
        let mut it = RawDir::new(&dir, buf.spare_capacity_mut());
        while let Some(e) = it.next() {
            let e = e?;
            let name = e.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            let l = Listed {
                dir: &dir,
                name,
                kind: e.file_type(),
                stat: Cell::new(None),
            };
            if each(l).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// One `statx` of `name` in `dir`, asking for what std's `symlink_metadata` asks (the basic
    /// facts and the birth time); a kernel or sandbox without `statx` gets std's `lstat`.
    fn stat_at(dir: &OwnedFd, name: &CStr) -> io::Result<ListStat> {
        let x = match rustix::fs::statx(
            dir,
            name,
            AtFlags::SYMLINK_NOFOLLOW | AtFlags::STATX_SYNC_AS_STAT,
            StatxFlags::BASIC_STATS | StatxFlags::BTIME,
        ) {
            Ok(x) => x,
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                return lstat_at(dir, name);
            }
            Err(e) => return Err(e.into()),
        };
        let has = |f: StatxFlags| StatxFlags::from_bits_retain(x.stx_mask).contains(f);
        Ok(ListStat {
            kind: kind_of(x.stx_mode.into()),
            len: x.stx_size,
            modified: has(StatxFlags::MTIME)
                .then(|| time(x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec))
                .flatten(),
            created: has(StatxFlags::BTIME)
                .then(|| time(x.stx_btime.tv_sec, x.stx_btime.tv_nsec))
                .flatten(),
            mode: u32::from(x.stx_mode) & 0o7777,
            owner: Some((x.stx_uid, x.stx_gid)),
            links: u64::from(x.stx_nlink),
            // The device number as `stat`'s `st_dev` (and std's `dev()`) spells it, so these
            // identities compare equal to those taken through std.
            identity: Some(FileIdentity {
                volume: libc::makedev(x.stx_dev_major, x.stx_dev_minor),
                file: x.stx_ino,
            }),
        })
    }

    /// `fstatat` where `statx` is missing (before Linux 4.11) or refused (older container
    /// sandboxes say EPERM): no birth time.
    pub(super) fn lstat_at(dir: &OwnedFd, name: &CStr) -> io::Result<ListStat> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let mode = st.st_mode as u32;
        Ok(ListStat {
            kind: kind_of(mode as _),
            len: st.st_size as u64,
            modified: time(st.st_mtime as i64, st.st_mtime_nsec as u32),
            created: None,
            mode: mode & 0o7777,
            owner: Some((st.st_uid, st.st_gid)),
            links: st.st_nlink as u64,
            identity: Some(FileIdentity {
                volume: st.st_dev as u64,
                file: st.st_ino as u64,
            }),
        })
    }

    fn kind_of(mode: rustix::fs::RawMode) -> EntryType {
        match FileType::from_raw_mode(mode) {
            FileType::RegularFile => EntryType::File,
            FileType::Directory => EntryType::Dir,
            FileType::Symlink => EntryType::Symlink,
            _ => EntryType::Other,
        }
    }

    /// A time as seconds and nanoseconds since the Unix epoch (before it: negative seconds,
    /// nanoseconds forward from there, as `timespec` has them).
    fn time(sec: i64, nsec: u32) -> Option<SystemTime> {
        let nanos = Duration::from_nanos(u64::from(nsec));
        if sec >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(sec as u64) + nanos)
        } else {
            SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(sec.unsigned_abs()))?
                .checked_add(nanos)
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::ops::ControlFlow;

    /// The `fstatat` fallback says what `statx` says, but for the birth time it cannot know.
    #[test]
    fn the_lstat_fallback_agrees_with_statx() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), b"abc").unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        std::os::unix::fs::symlink("f", tmp.path().join("l")).unwrap();
        let dir = rustix::fs::open(
            tmp.path(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let mut n = 0;
        super::list_dir(tmp.path(), &mut |e| {
            let name = std::ffi::CString::new(e.name().as_encoded_bytes()).unwrap();
            let fallback = super::imp::lstat_at(&dir, &name).unwrap();
            let full = e.stat().unwrap();
            assert_eq!(fallback.created, None);
            assert_eq!(
                super::ListStat {
                    created: None,
                    ..full
                },
                fallback
            );
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(n, 3);
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::cell::OnceCell;
    use std::ffi::{OsStr, OsString};
    use std::fs::DirEntry;
    use std::io;
    use std::ops::ControlFlow;
    use std::path::Path;

    use super::ListStat;

    pub(super) struct Listed<'a> {
        entry: &'a DirEntry,
        name: OsString,
        stat: OnceCell<ListStat>,
    }

    impl Listed<'_> {
        pub(super) fn name(&self) -> &OsStr {
            &self.name
        }

        pub(super) fn is_dir(&self) -> bool {
            self.entry.file_type().is_ok_and(|t| t.is_dir())
        }

        pub(super) fn stat(&self) -> io::Result<ListStat> {
            if let Some(s) = self.stat.get() {
                return Ok(*s);
            }
            let s = ListStat::from_metadata(&self.entry.metadata()?);
            Ok(*self.stat.get_or_init(|| s))
        }
    }

    pub(super) fn list_dir(
        path: &Path,
        each: &mut dyn FnMut(Listed<'_>) -> ControlFlow<()>,
    ) -> io::Result<()> {
        for e in std::fs::read_dir(path)? {
            let e = e?;
            let l = Listed {
                name: e.file_name(),
                entry: &e,
                stat: OnceCell::new(),
            };
            if each(l).is_break() {
                break;
            }
        }
        Ok(())
    }
}

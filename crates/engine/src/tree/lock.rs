//! One run at a time per target, by the target's identity (DESIGN.md §9).
//!
//! Two kinds of lock, both released by the OS when their holder dies (a dead run's lock is simply
//! taken over, never cleaned up by hand):
//!
//! * **Folder locks** on the folders themselves (`fsops::Dir::try_lock`: `flock(2)` on Unix, a
//!   machine-wide lock file per folder identity on Windows): the target exclusively, every folder
//!   around it shared. They hold whatever path reached the folder (a bind mount, a symbolic
//!   link), whatever user or data folder the other run has: two runs into one folder, or into a
//!   folder and a folder inside it, exclude each other; runs into two sibling folders do not.
//! * **A lock file in the data folder**, per target path — the only lock a target that does
//!   not exist yet can have. Once the run creates the target it takes its folder lock too
//!   ([`TargetLock::claim_created`]), before writing into it.
//!
//! Who holds a lock is written beside it in the data folder (Windows refuses to read a locked
//! byte range), so a refused run can name the holder's pid and start time.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Code, Error, IoResultExt};
use crate::tree::journal::{data_dir, key, now_text};

/// The locks of one run's target; dropping it releases them.
#[derive(Debug)]
pub struct TargetLock {
    /// The lock file in the data folder.
    _file: File,
    /// The folder locks held.
    _folders: Vec<File>,
    /// The lock file's path.
    pub path: PathBuf,
    data: PathBuf,
    target: PathBuf,
    /// Whether the target folder itself is locked (it exists, and its filesystem has locks).
    claimed: bool,
}

impl TargetLock {
    /// Locks `target` (a canonical path; it may not exist yet) for this run.
    pub(crate) fn acquire(target: &Path) -> Result<TargetLock, Error> {
        let data = data_dir().ok_or_else(|| {
            Error::new(
                Code::JournalOpen,
                target,
                "no local data folder for the lock (set FCS_DATA_DIR)",
            )
        })?;
        TargetLock::acquire_in(&data, target)
    }

    /// Locks `target` with the lock files of the data folder `data`.
    pub fn acquire_in(data: &Path, target: &Path) -> Result<TargetLock, Error> {
        let dir = data.join("locks");
        std::fs::create_dir_all(&dir).or_code(
            Code::JournalOpen,
            &dir,
            "cannot create the lock folder",
        )?;
        let k = key(&[&fsops::path_to_bytes(target)]);
        let path = dir.join(format!("{k}.lock"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .or_code(Code::JournalOpen, &path, "cannot open the lock file")?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(locked(target, &holder(data, &k)));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(Code::JournalOpen, &path, "cannot lock", e));
            }
        }
        let mut lock = TargetLock {
            _file: file,
            _folders: Vec::new(),
            path,
            data: data.to_path_buf(),
            target: target.to_path_buf(),
            claimed: false,
        };
        write_holder(data, &k, target);
        // The folders around the target, shared: a run into one of them excludes this one.
        for a in target.ancestors().skip(1) {
            lock.folder(a, false)?;
        }
        if target.is_dir() {
            lock.claim_created()?;
        }
        Ok(lock)
    }

    /// Locks the target folder itself, exclusively: at the start of a run whose target exists,
    /// and right after a run created it (a run that created the same new folder at the same
    /// time is refused here, before it writes into it).
    pub(crate) fn claim_created(&mut self) -> Result<(), Error> {
        if self.claimed {
            return Ok(());
        }
        let target = self.target.clone();
        self.folder(&target, true)?;
        self.claimed = true;
        if let Ok(id) = fsops::path_identity(&target) {
            write_holder(&self.data, &identity_key(id), &target);
        }
        Ok(())
    }

    /// Takes the folder lock of `dir` (exclusive or shared). A folder that cannot be opened, or
    /// whose filesystem has no locks, is passed over: the data folder's lock still stands.
    fn folder(&mut self, dir: &Path, exclusive: bool) -> Result<(), Error> {
        let Ok(d) = fsops::Dir::open(dir) else {
            return Ok(());
        };
        match d.try_lock(exclusive) {
            Ok(Some(f)) => {
                self._folders.push(f);
                Ok(())
            }
            Ok(None) => {
                let who = d
                    .identity()
                    .map(|id| holder(&self.data, &identity_key(id)))
                    .unwrap_or_default();
                let around = if dir == self.target {
                    String::new()
                } else {
                    format!(" (it writes to '{}', around this folder)", dir.display())
                };
                Err(locked(&self.target, &format!("{who}{around}")))
            }
            Err(_) => Ok(()),
        }
    }
}

fn identity_key(id: fsops::FileIdentity) -> String {
    key(&[&id.volume.to_le_bytes(), &id.file.to_le_bytes()])
}

/// The holder's record beside a lock (best effort: the lock itself is what excludes).
fn write_holder(data: &Path, k: &str, target: &Path) {
    let _ = std::fs::write(
        data.join("locks").join(format!("{k}.holder")),
        format!(
            "pid={} started={} target={}\n",
            std::process::id(),
            now_text(),
            target.display()
        ),
    );
}

fn holder(data: &Path, k: &str) -> String {
    std::fs::read_to_string(data.join("locks").join(format!("{k}.holder")))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn locked(target: &Path, who: &str) -> Error {
    Error::new(
        Code::JournalLocked,
        target,
        format!(
            "another fcs run is writing to this folder ({}); wait for it to finish",
            if who.is_empty() {
                "holder unknown"
            } else {
                who
            }
        ),
    )
}

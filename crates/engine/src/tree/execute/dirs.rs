//! The folders of one root, opened beneath it: every write of a run goes through one of these
//! handles (DESIGN.md §9), so a symbolic link in the middle of a target path — there from the
//! start, or swapped in for a folder during the run — is met as a link and never followed.
//!
//! Handles are cached per folder (a tree run writes thousands of files into a few hundred
//! folders); the cache is bounded, and a folder is forgotten before the run renames or deletes
//! it. A cached handle keeps naming the folder it opened even if someone renames that folder
//! meanwhile: writes then land in that folder, wherever it went — never through a link.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fsops::Dir;

use crate::copy::Target;
use crate::error::{Code, Error};

/// The folders of one root, opened beneath it.
#[derive(Debug)]
pub(crate) struct Dirs {
    root: Arc<Dir>,
    cache: Mutex<HashMap<PathBuf, Arc<Dir>>>,
    /// Open folders held at most (each is one descriptor or handle).
    cap: usize,
}

impl Dirs {
    /// Opens `root` (a path the user named: links in it are followed; beneath it, never).
    pub fn open(root: &Path) -> Result<Dirs, Error> {
        let dir = Dir::open(root)
            .map_err(|e| Error::io(Code::PreflightTargetDir, root, "cannot open the folder", e))?;
        Ok(Dirs {
            root: Arc::new(dir),
            cache: Mutex::new(HashMap::new()),
            cap: super::budget::Budget::new(0).folders,
        })
    }

    /// The folder `rel` beneath the root (`""` is the root). A link on the way is
    /// `TREE_E_SYMLINK_IN_PATH`.
    pub fn get(&self, rel: &Path) -> Result<Arc<Dir>, Error> {
        if rel.as_os_str().is_empty() {
            return Ok(self.root.clone());
        }
        if let Some(d) = self.lock().get(rel) {
            return Ok(d.clone());
        }
        let d = Arc::new(self.root.open_dir(rel).map_err(|e| self.error(rel, e))?);
        let mut cache = self.lock();
        if cache.len() >= self.cap {
            cache.clear();
        }
        cache.insert(rel.to_path_buf(), d.clone());
        Ok(d)
    }

    /// The folder holding `rel`, and `rel`'s name in it.
    pub fn parent_of<'r>(&self, rel: &'r Path) -> Result<(Arc<Dir>, &'r OsStr), Error> {
        let name = rel.file_name().ok_or_else(|| {
            Error::new(
                Code::TreeMkdir,
                self.root.path().join(rel),
                "not an item beneath the root",
            )
        })?;
        Ok((self.get(rel.parent().unwrap_or(Path::new("")))?, name))
    }

    /// Where the per-file engine writes `rel`.
    pub fn target(&self, rel: &Path) -> Result<Target, Error> {
        let (dir, name) = self.parent_of(rel)?;
        Ok(Target {
            dir,
            name: OsString::from(name),
            absent: false,
        })
    }

    /// Forgets the handles of `rel` and everything beneath it (before the run renames or
    /// deletes it: Windows refuses to delete a folder someone holds open).
    pub fn forget(&self, rel: &Path) {
        self.lock().retain(|k, _| !k.starts_with(rel));
    }

    /// `rel`'s path, for messages.
    pub fn path(&self, rel: &Path) -> PathBuf {
        self.root.path().join(rel)
    }

    /// An error opening the folder `rel`: a link on the way, or the folder is not there.
    pub fn error(&self, rel: &Path, e: std::io::Error) -> Error {
        let path = self.path(rel);
        if fsops::is_link_in_path(&e) {
            Error::new(
                Code::TreeSymlinkInPath,
                path,
                format!(
                    "a symbolic link stands where a folder is needed on the way to this item; nothing was written through it ({e})"
                ),
            )
        } else {
            Error::io(
                Code::PreflightTargetDir,
                &path,
                "the folder cannot be opened",
                e,
            )
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Dir>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

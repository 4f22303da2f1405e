//! The single steps of a plan that are not file copies: links, deletes, folder metadata, and
//! the removal of a move's emptied source folders.

use std::path::Path;

use crate::copy::Copier;
use crate::error::{Code, Error, IoResultExt};
use crate::settings::DeleteMode;

/// Removes the empty folders below `root` and then `root` itself if it is empty, deepest first;
/// a folder that still holds anything (a file the move kept, a filtered-out file) stays.
pub(super) fn remove_empty_dirs(root: &Path, sync: bool) {
    fn walk(dir: &Path, sync: bool) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        let mut empty = true;
        for e in rd.flatten() {
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if !(is_dir && walk(&e.path(), sync)) {
                empty = false;
            }
        }
        if empty && std::fs::remove_dir(dir).is_ok() {
            if sync && let Some(parent) = dir.parent() {
                let _ = fsops::sync_dir(parent);
            }
            return true;
        }
        false
    }
    walk(root, sync);
}

/// Recreates a symlink as a link (never following it): made under a temp name, then renamed over
/// the target so the switch is atomic; its own times are copied where the OS can.
pub(super) fn copy_symlink(copier: &Copier, src: &Path, dst: &Path) -> Result<(), Error> {
    let target = std::fs::read_link(src)
        .map_err(|e| Error::io(Code::TreeSymlink, src, "cannot read the link", e))?;
    let md = std::fs::symlink_metadata(src)
        .map_err(|e| Error::io(Code::TreeSymlink, src, "cannot read the link", e))?;
    // The same temp naming as files: unique per run and item, so parallel workers never collide.
    let tmp = copier.temp_for(dst);
    let target_is_dir = src.metadata().map(|m| m.is_dir()).unwrap_or(false);
    fsops::create_symlink(&target, &tmp, target_is_dir)
        .map_err(|e| Error::io(Code::TreeSymlink, dst, "cannot create the symbolic link", e))?;
    if let (Ok(a), Ok(m)) = (md.accessed(), md.modified()) {
        let _ = fsops::set_symlink_times(&tmp, a, m);
    }
    if let Err(e) = std::fs::rename(&tmp, dst) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(
            Code::TreeSymlink,
            dst,
            "cannot put the symbolic link in place",
            e,
        ));
    }
    Ok(())
}

/// Renames a target item to the source's spelling of its name (a case-only rename on a target
/// that folds names).
pub(super) fn rename(old: &Path, new: &Path) -> Result<(), Error> {
    std::fs::rename(old, new).or_code(Code::TreeRename, new, "cannot rename to the source's name")
}

/// The source file's permissions onto the target file (its content is the same).
pub(super) fn copy_permissions(src: &Path, dst: &Path) -> Result<(), Error> {
    let md = std::fs::metadata(src).or_code(
        Code::FinalizeMetadata,
        src,
        "cannot read the source's permissions",
    )?;
    std::fs::set_permissions(dst, md.permissions()).or_code(
        Code::FinalizeMetadata,
        dst,
        "cannot set the permissions",
    )
}

/// Deletes a target item: to the trash (the default; never silently permanent) or permanently.
/// `recursive` only for a directory that a type conflict replaces. `Ok(false)`: it was already
/// gone (a resumed run deleted it before the interruption).
pub(super) fn delete(p: &Path, mode: DeleteMode, recursive: bool) -> Result<bool, Error> {
    let md = match std::fs::symlink_metadata(p) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(Code::TreeDelete, p, "cannot delete", e)),
    };
    match mode {
        DeleteMode::Trash => trash::delete(p).map(|()| true).map_err(|e| {
            Error::new(
                Code::TreeTrash,
                p,
                format!("cannot move to the trash ({e}); nothing was deleted — use --delete-mode permanent to delete without the trash"),
            )
        }),
        DeleteMode::Permanent => {
            let r = if md.is_dir() {
                if recursive { std::fs::remove_dir_all(p) } else { std::fs::remove_dir(p) }
            } else {
                std::fs::remove_file(p)
            };
            r.map(|()| true)
                .map_err(|e| Error::io(Code::TreeDelete, p, "cannot delete", e))
        }
    }
}

/// A directory's modified/access times and permissions, copied last.
pub(super) fn copy_dir_metadata(src: &Path, dst: &Path, copier: &Copier) -> Result<(), Error> {
    let md = std::fs::metadata(src).map_err(|e| {
        Error::io(
            Code::TreeDirTimes,
            src,
            "cannot read the directory's times",
            e,
        )
    })?;
    let s = copier.settings();
    if s.preserve_permissions {
        let cur = std::fs::metadata(dst)
            .map_err(|e| Error::io(Code::TreeDirTimes, dst, "cannot read the directory", e))?;
        if cur.permissions() != md.permissions() {
            std::fs::set_permissions(dst, md.permissions()).map_err(|e| {
                Error::io(
                    Code::TreeDirTimes,
                    dst,
                    "cannot set the directory's permissions",
                    e,
                )
            })?;
        }
    }
    if s.preserve_times {
        let cur = std::fs::metadata(dst)
            .map_err(|e| Error::io(Code::TreeDirTimes, dst, "cannot read the directory", e))?;
        if cur.modified().ok() != md.modified().ok() || cur.accessed().ok() != md.accessed().ok() {
            let times = fsops::Times {
                accessed: md.accessed().ok(),
                modified: md.modified().ok(),
                created: md.created().ok(),
            };
            fsops::set_dir_times(dst, &times).map_err(|e| {
                Error::io(
                    Code::TreeDirTimes,
                    dst,
                    "cannot set the directory's times",
                    e,
                )
            })?;
        }
    }
    Ok(())
}

//! The single steps of a plan that are not file copies: links, renames, deletes, permissions,
//! folder metadata, and the removal of a move's emptied source folders — each through the
//! folders opened beneath the root ([`Dirs`]), never through a path resolved from the top.

use std::ffi::OsStr;
use std::path::Path;

use fsops::EntryType;

use super::dirs::Dirs;
use crate::copy::{Copier, Target};
use crate::error::{Code, Error, IoResultExt};
use crate::meta::XattrSet;
use crate::settings::DeleteMode;

/// Removes the empty folders beneath `root` and then `root` itself if it is empty, deepest
/// first; a folder that still holds anything (a file the move kept, a filtered-out file) stays.
/// Links are never followed: a link is an entry like a file. Each folder's handle is closed
/// before the folder is removed (Windows refuses to remove a folder someone holds open).
pub(super) fn remove_empty_dirs(root: &Path, sync: bool) {
    fn emptied(parent: &fsops::Dir, name: &std::ffi::OsStr, sync: bool) -> bool {
        let empty = match parent.child(name) {
            Ok(child) => walk(&child, sync),
            Err(_) => return false,
        };
        empty && parent.remove_dir(name).is_ok()
    }
    fn walk(dir: &fsops::Dir, sync: bool) -> bool {
        let Ok(names) = dir.entries() else {
            return false;
        };
        let mut empty = true;
        let mut removed = false;
        for name in names {
            if dir.stat(&name).is_ok_and(|st| st.kind == EntryType::Dir)
                && emptied(dir, &name, sync)
            {
                removed = true;
            } else {
                empty = false;
            }
        }
        if removed && sync {
            let _ = dir.sync();
        }
        empty
    }
    let (Some(parent), Some(name)) = (root.parent(), root.file_name()) else {
        return;
    };
    let Ok(parent) = fsops::Dir::open(parent) else {
        return;
    };
    if emptied(&parent, name, sync) && sync {
        let _ = parent.sync();
    }
}

/// Recreates a symlink as a link (never following it): made under a temp name in the target's
/// folder, then renamed over the target so the switch is atomic; its own times are copied where
/// the OS can.
pub(super) fn copy_symlink(copier: &Copier, src: &Path, t: &Target) -> Result<(), Error> {
    let dst = t.path();
    let target = std::fs::read_link(src).or_code(Code::TreeSymlink, src, "cannot read the link")?;
    let md =
        std::fs::symlink_metadata(src).or_code(Code::TreeSymlink, src, "cannot read the link")?;
    // The same temp naming as files: unique per run and item, so parallel workers never collide.
    let tmp = copier.temp_for(&t.name);
    let target_is_dir = src.metadata().map(|m| m.is_dir()).unwrap_or(false);
    t.dir.symlink(&target, &tmp, target_is_dir).map_err(|e| {
        crate::copy::name_error(&e, &dst).unwrap_or_else(|| {
            Error::io(
                Code::TreeSymlink,
                &dst,
                "cannot create the symbolic link",
                e,
            )
        })
    })?;
    if copier.settings().keeps_owner()
        && let Some((uid, gid)) = fsops::owner_of(&md)
        && let Err(e) = t.dir.set_symlink_owner(&tmp, uid, gid)
    {
        copier.lost().note(crate::meta::MetaKind::Owner, &e);
    }
    if let (Ok(a), Ok(m)) = (md.accessed(), md.modified()) {
        let _ = t.dir.set_symlink_times(&tmp, a, m);
    }
    if let Err(e) = t.dir.rename(&tmp, &t.dir, &t.name) {
        let _ = t.dir.remove_file(&tmp);
        return Err(Error::io(
            Code::TreeSymlink,
            &dst,
            "cannot put the symbolic link in place",
            e,
        ));
    }
    Ok(())
}

/// Makes the target's `rel` a second name of the target's `lead` (hard links): a link made
/// under a temp name beside `rel`, then renamed over it, so `rel` is never missing if it was
/// there. A file of its own that was there goes to the trash, as a replaced version does.
/// `Ok(false)`: the two already are one file.
pub(super) fn hard_link(
    dirs: &Dirs,
    lead: &Path,
    rel: &Path,
    copier: &Copier,
) -> std::io::Result<bool> {
    let folder = |e: Error| std::io::Error::other(e.to_string());
    let (from_dir, from) = dirs.parent_of(lead).map_err(folder)?;
    let t = dirs.target(rel).map_err(folder)?;
    let lead_id = from_dir.stat(from)?.identity;
    if t.dir.stat(&t.name).is_ok_and(|st| st.identity == lead_id) {
        return Ok(false);
    }
    let tmp = copier.temp_for(&t.name);
    from_dir.hard_link(from, &t.dir, &tmp)?;
    // The file there now, kept under a second name in a private folder for the trash.
    let keep = crate::temp::replaced_dir_name(copier.run_tag());
    let kept = t
        .dir
        .stat(&t.name)
        .is_ok_and(|st| st.kind == EntryType::File)
        && keep_for_trash(&t, &keep);
    if let Err(e) = t.dir.rename(&tmp, &t.dir, &t.name) {
        let _ = t.dir.remove_file(&tmp);
        if kept && let Ok(k) = t.dir.child(&keep) {
            let _ = k.remove_file(&t.name);
        }
        let _ = t.dir.remove_dir(&keep);
        return Err(e);
    }
    if kept {
        let old = t.dir.path().join(&keep).join(&t.name);
        match trash::delete(&old) {
            Ok(()) => {
                let _ = t.dir.remove_dir(&keep);
            }
            Err(e) => copier.reporter().report(&crate::events::Event::Notice {
                id: 0,
                path: t.path(),
                notice: crate::events::Notice {
                    kind: crate::events::NoticeKind::ReplacedNotTrashed,
                    message: format!(
                        "the replaced version could not be moved to the trash ({e}); it was kept at '{}'",
                        old.display()
                    ),
                },
            }),
        }
    }
    Ok(true)
}

/// A second name for the target file of `t` in the private folder `keep` beside it, so it can
/// go to the trash once replaced; whether it was made.
fn keep_for_trash(t: &Target, keep: &OsStr) -> bool {
    if t.dir.create_dir(keep).is_err() {
        return false;
    }
    let linked = t
        .dir
        .child(keep)
        .and_then(|k| t.dir.hard_link(&t.name, &k, &t.name));
    if linked.is_err() {
        let _ = t.dir.remove_dir(keep);
    }
    linked.is_ok()
}

/// Renames the target item `from` to `to` (a case-only rename on a target that folds names).
///
/// Always through a name of its own in the same folder (`<name>.fcs-rename-<tag>`), because some
/// filesystems answer a rename that only changes case with success and keep the old spelling
/// (lowntfs-3g with `ignore_case`) or refuse it (fusefat, for a folder). That name is not a
/// temp name: an interruption between the two renames leaves the item visible, never swept. On
/// a filesystem whose renamed folders lose what they hold (`folder_renames` false: fusefat), a
/// folder is "renamed" by moving its contents, file by file, into a new folder.
pub(super) fn rename(
    dirs: &Dirs,
    from: &Path,
    to: &Path,
    tag: &str,
    folder_renames: bool,
) -> Result<(), Error> {
    let (a, old) = dirs.parent_of(from)?;
    let (b, new) = dirs.parent_of(to)?;
    dirs.forget(from);
    let failed = |e| {
        Error::io(
            Code::TreeRename,
            &dirs.path(to),
            "cannot rename to the source's name",
            e,
        )
    };
    let mut via = old.to_os_string();
    via.push(format!(".fcs-rename-{tag}"));
    let is_dir = a.stat(old).map_err(failed)?.kind == EntryType::Dir;
    if is_dir && !folder_renames {
        a.create_dir(&via).map_err(failed)?;
        move_contents(&a, old, &via).map_err(failed)?;
        a.remove_dir(old).map_err(failed)?;
        b.create_dir(new).map_err(failed)?;
        move_contents_to(&a, &via, &b, new).map_err(failed)?;
        return a.remove_dir(&via).map_err(failed);
    }
    a.rename(old, &a, &via).map_err(failed)?;
    a.rename(&via, &b, new).map_err(failed)
}

/// Moves everything in the folder `from` into the (empty) folder `to`, both in `dir`, without
/// renaming a folder: files and links are renamed, folders recreated and emptied.
fn move_contents(dir: &fsops::Dir, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    move_contents_to(dir, from, dir, to)
}

fn move_contents_to(
    a: &fsops::Dir,
    from: &OsStr,
    b: &fsops::Dir,
    to: &OsStr,
) -> std::io::Result<()> {
    let (src, dst) = (a.child(from)?, b.child(to)?);
    for name in src.entries()? {
        if src.stat(&name)?.kind == EntryType::Dir {
            dst.create_dir(&name)?;
            move_contents_to(&src, &name, &dst, &name)?;
            src.remove_dir(&name)?;
        } else {
            src.rename(&name, &dst, &name)?;
        }
    }
    Ok(())
}

/// The source's owner, extended attributes and permissions onto a target file whose content is
/// the same, in place (the inode stays): the owner first (a `chown` clears setuid and setgid),
/// then the attributes (those the source lacks removed), then the mode — setuid, setgid and
/// sticky only with the owner. What the target refuses of owner and attributes is counted like
/// a copy's; only a mode that cannot be set is an error.
pub(super) fn update_metadata(
    src: &Path,
    dirs: &Dirs,
    rel: &Path,
    copier: &Copier,
) -> Result<(), Error> {
    let md = std::fs::metadata(src).or_code(
        Code::FinalizeMetadata,
        src,
        "cannot read the source's metadata",
    )?;
    let (dir, name) = dirs.parent_of(rel)?;
    let s = copier.settings();
    let src_file = std::fs::File::open(src).ok();
    // Through its folder, never through a link put in its place.
    let dst_file = if s.keeps_owner() || s.keeps_flags() || !XattrSet::kept_by(s).is_empty() {
        Some(dir.open_file(name).or_code(
            Code::FinalizeMetadata,
            &dirs.path(rel),
            "cannot open the file to set its owner and attributes",
        )?)
    } else {
        None
    };
    // An immutable or append-only target takes no change until unlocked; the source's flags
    // go back on last.
    let flags = match (&src_file, &dst_file) {
        (Some(sf), Some(df)) if s.keeps_flags() => {
            let locked = fsops::file_flags(df).unwrap_or(0) & fsops::LOCKING_FLAGS;
            if locked != 0 {
                let _ = fsops::set_file_flags(df, 0);
            }
            Some(fsops::file_flags(sf).unwrap_or(0))
        }
        _ => None,
    };
    let mut owner_kept = false;
    if let Some(df) = &dst_file {
        owner_kept = crate::meta::apply_owner(&md, df, s, copier.lost());
        if let Some(sf) = &src_file {
            crate::meta::replace_xattrs(sf, df, s, copier.lost());
        }
    }
    let moded = if s.preserve_permissions {
        dir.set_mode(
            name,
            crate::meta::mode_kept(fsops::mode_bits(&md), owner_kept),
        )
        .or_code(
            Code::FinalizeMetadata,
            &dirs.path(rel),
            "cannot set the permissions",
        )
    } else {
        Ok(())
    };
    if let (Some(flags), Some(df)) = (flags, &dst_file)
        && let Err(e) = fsops::set_file_flags(df, flags)
    {
        copier.lost().note(crate::meta::MetaKind::Flags, &e);
    }
    moded
}

/// Deletes the target item `rel`: to the trash (the default; never silently permanent) or
/// permanently. `recursive` only for a folder that a type conflict replaces. `Ok(false)`: it was
/// already gone (a resumed run deleted it before the interruption). A link is deleted as a link.
pub(super) fn delete(
    dirs: &Dirs,
    rel: &Path,
    mode: DeleteMode,
    recursive: bool,
) -> Result<bool, Error> {
    let p = dirs.path(rel);
    let (dir, name) = dirs.parent_of(rel)?;
    let st = match dir.stat(name) {
        Ok(st) => st,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(Code::TreeDelete, &p, "cannot delete", e)),
    };
    dirs.forget(rel);
    match mode {
        DeleteMode::Trash => {
            // The desktop's trash is reached by path (the `trash` crate picks the trash folder
            // of the item's volume): the path is used only while it still names the item found
            // beneath the root, checked by identity just before.
            if fsops::path_identity_nofollow(&p).ok() != Some(st.identity) {
                return Err(Error::new(
                    Code::TreeDelete,
                    &p,
                    "the item changed during the run (its path no longer leads to it); nothing was deleted",
                ));
            }
            trash::delete(&p).map(|()| true).map_err(|e| {
                Error::new(
                    Code::TreeTrash,
                    &p,
                    format!("cannot move to the trash ({e}); nothing was deleted — use --delete-mode permanent to delete without the trash"),
                )
            })
        }
        DeleteMode::Permanent => {
            let r = match st.kind {
                EntryType::Dir if recursive => dir.remove_tree(name),
                EntryType::Dir => dir.remove_dir(name),
                _ => dir.remove_file(name),
            };
            r.map(|()| true)
                .or_code(Code::TreeDelete, &p, "cannot delete")
        }
    }
}

/// A folder's modified/access times and permissions, copied last.
pub(super) fn copy_dir_metadata(
    src: &Path,
    dirs: &Dirs,
    rel: &Path,
    copier: &Copier,
) -> Result<(), Error> {
    let md = std::fs::metadata(src).or_code(
        Code::TreeDirTimes,
        src,
        "cannot read the directory's times",
    )?;
    let dst = dirs.path(rel);
    let dir = dirs.get(rel)?;
    let s = copier.settings();
    let cur = dir
        .metadata()
        .or_code(Code::TreeDirTimes, &dst, "cannot read the directory")?;
    // Owner, then extended attributes and ACLs (a folder's default ACL among them): what the
    // target refuses is counted, said once per run.
    let mut owner_kept = false;
    if (s.keeps_owner() || s.preserve_xattrs || s.preserve_acls)
        && let Ok(dst_file) = dir.file()
    {
        owner_kept = crate::meta::apply_owner(&md, &dst_file, s, copier.lost());
        if let Ok(src_file) = fsops::Dir::open(src).and_then(|d| d.file()) {
            crate::meta::replace_xattrs(&src_file, &dst_file, s, copier.lost());
        }
    }
    if s.preserve_permissions {
        let mode = crate::meta::mode_kept(fsops::mode_bits(&md), owner_kept);
        if fsops::mode_bits(&cur) != mode {
            dir.set_own_mode(mode).or_code(
                Code::TreeDirTimes,
                &dst,
                "cannot set the directory's permissions",
            )?;
        }
    }
    if s.preserve_times
        && (cur.modified().ok() != md.modified().ok() || cur.accessed().ok() != md.accessed().ok())
    {
        let times = fsops::Times {
            accessed: md.accessed().ok(),
            modified: md.modified().ok(),
            created: md.created().ok(),
        };
        dir.set_own_times(&times).or_code(
            Code::TreeDirTimes,
            &dst,
            "cannot set the directory's times",
        )?;
    }
    Ok(())
}

/// A download's folder gets the time the server's listing gave it (SFTP keeps folder times; an
/// object store has none, and its folders keep the time of the run).
pub(super) fn set_dir_time(dirs: &Dirs, rel: &Path, t: std::time::SystemTime) -> Result<(), Error> {
    let dst = dirs.path(rel);
    let dir = dirs.get(rel)?;
    let cur = dir
        .metadata()
        .or_code(Code::TreeDirTimes, &dst, "cannot read the directory")?;
    if cur.modified().ok() == Some(t) {
        return Ok(());
    }
    let times = fsops::Times {
        accessed: Some(t),
        modified: Some(t),
        created: None,
    };
    dir.set_own_times(&times)
        .or_code(Code::TreeDirTimes, &dst, "cannot set the directory's times")
        .map(|_| ())
}

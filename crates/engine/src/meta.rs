//! Metadata beyond content and times — owner, permission bits, extended attributes, POSIX
//! ACLs — put on a copy (a file's temp before its rename, a folder last), or counted as not
//! kept: one notice per kind at the end of a run, never one per file, and a failure of the run
//! only when the user asked for that kind explicitly.
//!
//! The order matters: the owner first (`chown` clears setuid and setgid, and the kernel drops
//! `security.capability`), then the mode (setuid, setgid and sticky only with the owner: never a
//! setuid program owned by someone else), then the extended attributes and ACLs.

use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::sync::Mutex;

use serde::Serialize;

use crate::settings::Settings;

/// setuid (0o4000), setgid (0o2000) and sticky (0o1000).
pub(crate) const SPECIAL_BITS: u32 = 0o7000;

/// A kind of metadata a target may not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaKind {
    /// Owner and group (`preserve_owner`).
    Owner,
    /// Extended attributes (`preserve_xattrs`).
    Xattrs,
    /// POSIX ACLs (`preserve_acls`).
    Acls,
    /// The holes of sparse files (`sparse`): the target wrote them out as zeros.
    Holes,
}

impl MetaKind {
    /// Every kind, for the documentation check.
    pub const ALL: &'static [MetaKind] = &[
        MetaKind::Owner,
        MetaKind::Xattrs,
        MetaKind::Acls,
        MetaKind::Holes,
    ];

    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaKind::Owner => "owner",
            MetaKind::Xattrs => "xattrs",
            MetaKind::Acls => "acls",
            MetaKind::Holes => "holes",
        }
    }

    /// The setting that asks for this kind.
    pub fn setting(self) -> &'static str {
        match self {
            MetaKind::Owner => "preserve_owner",
            MetaKind::Xattrs => "preserve_xattrs",
            MetaKind::Acls => "preserve_acls",
            MetaKind::Holes => "sparse",
        }
    }
}

/// One kind of metadata a run could not keep: on how many items, and the first reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotKept {
    /// Which kind.
    pub kind: MetaKind,
    /// Files and folders affected.
    pub items: u64,
    /// The first cause met (the OS's words).
    pub reason: String,
}

/// What a run could not keep, per kind (shared by its workers).
#[derive(Debug, Default)]
pub(crate) struct Lost(Mutex<BTreeMap<MetaKind, (u64, String)>>);

impl Lost {
    pub(crate) fn note(&self, kind: MetaKind, e: &std::io::Error) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = m.entry(kind).or_insert_with(|| (0, e.to_string()));
        entry.0 += 1;
    }

    /// What was not kept so far, and forget it.
    pub fn drain(&self) -> Vec<NotKept> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .map(|(kind, (items, reason))| NotKept {
                kind,
                items,
                reason,
            })
            .collect()
    }
}

/// Owner, mode, extended attributes and ACLs of a source file (`src_meta`, open as `src`) onto
/// its copy `dst` (open, ours), in that order. Only a mode that cannot be set is an error (the
/// caller's `FINALIZE_E_METADATA`); owner, attributes and ACLs a target refuses are counted in
/// `lost`. Returns the setuid, setgid and sticky bits that were cleared (the owner is not kept).
pub(crate) fn apply(
    src_meta: &Metadata,
    src: &File,
    dst: &File,
    s: &Settings,
    lost: &Lost,
) -> std::io::Result<u32> {
    let owner_kept = apply_owner(src_meta, dst, s, lost);
    let mut cleared = 0;
    if s.preserve_permissions {
        let mode = fsops::mode_bits(src_meta);
        let kept = mode_kept(mode, owner_kept);
        cleared = mode & !kept;
        fsops::set_file_mode(dst, kept)?;
    }
    apply_xattrs(src, dst, s, lost);
    Ok(cleared)
}

/// The source's owner onto `dst` when owners are kept; whether it was kept.
pub(crate) fn apply_owner(src_meta: &Metadata, dst: &File, s: &Settings, lost: &Lost) -> bool {
    if !s.keeps_owner() {
        return false;
    }
    let Some((uid, gid)) = fsops::owner_of(src_meta) else {
        return false;
    };
    match fsops::set_owner(dst, uid, gid) {
        Ok(()) => true,
        Err(e) => {
            lost.note(MetaKind::Owner, &e);
            false
        }
    }
}

/// The mode a copy gets: setuid, setgid and sticky only with the owner.
pub(crate) fn mode_kept(mode: u32, owner_kept: bool) -> u32 {
    if owner_kept {
        mode
    } else {
        mode & !SPECIAL_BITS
    }
}

/// The extended attributes of `src` onto `dst`: ACLs (Linux keeps them as `system.posix_acl_*`
/// attributes) when `preserve_acls`, the others when `preserve_xattrs`. Reading costs one
/// `flistxattr` for a file without any.
pub(crate) fn apply_xattrs(src: &File, dst: &File, s: &Settings, lost: &Lost) {
    if !s.preserve_xattrs && !s.preserve_acls {
        return;
    }
    let list = match fsops::xattrs(src) {
        Ok(list) => list,
        Err(e) => {
            lost.note(MetaKind::Xattrs, &e);
            return;
        }
    };
    let (mut failed_x, mut failed_a) = (None, None);
    for (name, value) in list {
        let is_acl = name
            .to_str()
            .is_some_and(|n| n.starts_with("system.posix_acl_"));
        if (is_acl && !s.preserve_acls) || (!is_acl && !s.preserve_xattrs) {
            continue;
        }
        if let Err(e) = fsops::set_xattr(dst, &name, &value) {
            let slot = if is_acl { &mut failed_a } else { &mut failed_x };
            slot.get_or_insert(e);
        }
    }
    // One count per item and kind, however many attributes it had.
    if let Some(e) = failed_x {
        lost.note(MetaKind::Xattrs, &e);
    }
    if let Some(e) = failed_a {
        lost.note(MetaKind::Acls, &e);
    }
}

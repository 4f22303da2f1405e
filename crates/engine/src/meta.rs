//! Metadata beyond content and times — owner, permission bits, extended attributes, POSIX
//! ACLs — put on a copy (a file's temp before its rename, a folder last), or counted as not
//! kept: one notice per kind at the end of a run, never one per file, and a failure of the run
//! only when the user asked for that kind explicitly.
//!
//! The order matters: the owner first (`chown` clears setuid and setgid, and the kernel drops
//! `security.capability`), then the mode (setuid, setgid and sticky only with the owner: never a
//! setuid program owned by someone else), then the extended attributes and ACLs.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
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
    /// Hard links (`preserve_hardlinks`): a name was copied as a file of its own.
    HardLinks,
    /// File flags (`preserve_flags`): immutable, append-only, no-dump…
    Flags,
}

impl MetaKind {
    /// Every kind, for the documentation check.
    pub const ALL: &'static [MetaKind] = &[
        MetaKind::Owner,
        MetaKind::Xattrs,
        MetaKind::Acls,
        MetaKind::Holes,
        MetaKind::HardLinks,
        MetaKind::Flags,
    ];

    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaKind::Owner => "owner",
            MetaKind::Xattrs => "xattrs",
            MetaKind::Acls => "acls",
            MetaKind::Holes => "holes",
            MetaKind::HardLinks => "hard_links",
            MetaKind::Flags => "flags",
        }
    }

    /// The setting that asks for this kind.
    pub fn setting(self) -> &'static str {
        match self {
            MetaKind::Owner => "preserve_owner",
            MetaKind::Xattrs => "preserve_xattrs",
            MetaKind::Acls => "preserve_acls",
            MetaKind::Holes => "sparse",
            MetaKind::HardLinks => "preserve_hardlinks",
            MetaKind::Flags => "preserve_flags",
        }
    }
}

/// Which extended attributes a run keeps on its copies, and so compares: the ACLs (Linux keeps
/// them as `system.posix_acl_*` attributes), the others, or both. Empty: none compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct XattrSet {
    /// `system.posix_acl_access` and `system.posix_acl_default`.
    pub acls: bool,
    /// Every other attribute.
    pub others: bool,
    /// Running as root: attributes of every namespace are compared. Otherwise only `user.*`
    /// (and ACLs): a `trusted.*` or `security.*` attribute this process can never set would
    /// differ forever. (A copy still tries them all, and says what it could not keep.)
    pub privileged: bool,
}

impl XattrSet {
    /// The attributes `settings` keep on a copy (`privileged` matters to a comparison only,
    /// which sets it: no `geteuid` per copied file).
    pub(crate) fn kept_by(s: &Settings) -> XattrSet {
        XattrSet {
            acls: s.preserve_acls && fsops::KEEPS.acls,
            others: s.preserve_xattrs && fsops::KEEPS.xattrs,
            privileged: false,
        }
    }

    /// Whether no attribute is kept.
    pub fn is_empty(self) -> bool {
        !self.acls && !self.others
    }

    /// Whether the attribute `name` is one of the set.
    pub(crate) fn contains(self, name: &OsStr) -> bool {
        if is_acl(name) { self.acls } else { self.others }
    }

    /// Whether the attribute `name` is compared: one of the set that this process may write.
    fn compares(self, name: &OsStr) -> bool {
        self.contains(name)
            && (self.privileged || is_acl(name) || name.as_encoded_bytes().starts_with(b"user."))
    }

    /// A digest of the attributes of the set in `list` (names and values, in name order; 0 when
    /// there are none): two items whose digests differ need their attributes copied.
    pub(crate) fn digest(self, mut list: Vec<(OsString, Vec<u8>)>) -> u64 {
        use std::hash::{Hash, Hasher};
        list.retain(|(name, _)| self.compares(name));
        if list.is_empty() {
            return 0;
        }
        list.sort();
        let mut h = std::hash::DefaultHasher::new();
        list.hash(&mut h);
        h.finish() | 1
    }
}

/// Whether the attribute `name` is a POSIX ACL (Linux keeps them as attributes).
fn is_acl(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b"system.posix_acl_")
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
    if s.preserve_acls
        && let Err(e) = fsops::copy_acl(src, dst)
    {
        lost.note(MetaKind::Acls, &e);
    }
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
    set_xattrs(src, dst, XattrSet::kept_by(s), false, lost);
}

/// [`apply_xattrs`] onto an item that already has attributes of its own (an update in place):
/// those of the set that the source does not have are removed.
pub(crate) fn replace_xattrs(src: &File, dst: &File, s: &Settings, lost: &Lost) {
    set_xattrs(src, dst, XattrSet::kept_by(s), true, lost);
}

fn set_xattrs(src: &File, dst: &File, set: XattrSet, replace: bool, lost: &Lost) {
    if set.is_empty() {
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
    if replace && let Ok(theirs) = fsops::xattrs(dst) {
        for (name, _) in theirs {
            if set.contains(&name)
                && !list.iter().any(|(n, _)| *n == name)
                && let Err(e) = fsops::remove_xattr(dst, &name)
            {
                let slot = if is_acl(&name) {
                    &mut failed_a
                } else {
                    &mut failed_x
                };
                slot.get_or_insert(e);
            }
        }
    }
    for (name, value) in list {
        if !set.contains(&name) {
            continue;
        }
        if let Err(e) = fsops::set_xattr(dst, &name, &value) {
            let slot = if is_acl(&name) {
                &mut failed_a
            } else {
                &mut failed_x
            };
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

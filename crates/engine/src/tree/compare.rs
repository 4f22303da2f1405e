//! Compare two scans into a [`Comparison`]: per relative path, which sides have it, what differs
//! (existence, size, modified, created, content, type) and a category, plus case-only and
//! Unicode-normalisation twins (names that one case-insensitive or normalising filesystem would
//! fold into one file; see `names`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Code, Error};
use crate::events::{CancelToken, Event, Reporter};
use crate::tree::names::{Twins, find_twins, fold_hash, pair_folded};
use crate::tree::scan::{Entry, EntryKind, Scan, path_order};

/// Which properties are compared, and how names match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Criteria {
    /// Presence on each side (always on).
    pub existence: bool,
    /// File sizes.
    pub size: bool,
    /// Modified times, within the tolerance.
    pub modified: bool,
    /// Creation times, within the tolerance.
    pub created: bool,
    /// File content, read side by side (pairs of equal size only).
    pub content: bool,
    /// Permission bits of files and folders (`rwx` for user, group and others; the read-only
    /// attribute on Windows). setuid, setgid and sticky are not compared: a copy keeps them
    /// only with the owner.
    pub permissions: bool,
    /// Owner and group (numeric ids) of files and folders. A run compares them only where it
    /// keeps them: as root, on a target that holds them.
    pub owner: bool,
    /// Extended attributes and ACLs of files and folders: those of the set. A run compares
    /// them when they were asked for (`-X`, `-A`, `-a`) and the target holds them.
    pub xattrs: crate::meta::XattrSet,
    /// Names match ignoring case, as on the folding side's filesystem (NTFS, APFS, exFAT,
    /// FAT): `Report.txt` and `report.txt` are one item whose name differs, not two.
    pub fold_case: bool,
    /// Names match ignoring Unicode normalisation (NFC/NFD), as on APFS and HFS+.
    pub fold_unicode: bool,
}

impl Default for Criteria {
    /// Existence, size, modified time and permissions: the quick check rsync `-a` uses.
    fn default() -> Criteria {
        Criteria {
            existence: true,
            size: true,
            modified: true,
            created: false,
            content: false,
            permissions: true,
            owner: true,
            xattrs: crate::meta::XattrSet::default(),
            fold_case: false,
            fold_unicode: false,
        }
    }
}

impl Criteria {
    /// Parses `existence,size,modified,created,content,permissions,owner,xattrs` (any subset;
    /// `all`).
    pub fn parse(list: &str) -> Result<Criteria, Error> {
        let everything = crate::meta::XattrSet {
            acls: true,
            others: true,
            privileged: false,
        };
        let mut c = Criteria {
            existence: true,
            size: false,
            modified: false,
            created: false,
            content: false,
            permissions: false,
            owner: false,
            xattrs: crate::meta::XattrSet::default(),
            fold_case: false,
            fold_unicode: false,
        };
        for part in list.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "existence" => c.existence = true,
                "size" => c.size = true,
                "modified" | "mtime" => c.modified = true,
                "created" | "ctime" | "birth" => c.created = true,
                "content" | "hash" => c.content = true,
                "permissions" | "mode" | "perms" => c.permissions = true,
                "owner" => c.owner = true,
                "xattrs" | "acls" => c.xattrs = everything,
                "all" => {
                    c = Criteria {
                        existence: true,
                        size: true,
                        modified: true,
                        created: true,
                        content: true,
                        permissions: true,
                        owner: true,
                        xattrs: everything,
                        fold_case: false,
                        fold_unicode: false,
                    }
                }
                "" => {}
                other => {
                    return Err(Error::new(
                        Code::ConfigInvalidValue,
                        "",
                        format!(
                            "unknown compare criterion '{other}': allowed existence, size, modified, created, content, permissions, owner, xattrs, all"
                        ),
                    ));
                }
            }
        }
        Ok(c)
    }
}

/// What differs between the two sides of one path (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Diffs(u16);

impl Diffs {
    /// The path is on one side only.
    pub const EXISTENCE: Diffs = Diffs(1);
    /// The file sizes differ.
    pub const SIZE: Diffs = Diffs(2);
    /// The modified times differ by more than the tolerance.
    pub const MODIFIED: Diffs = Diffs(4);
    /// The creation times differ by more than the tolerance.
    pub const CREATED: Diffs = Diffs(8);
    /// The contents differ (or could not be compared).
    pub const CONTENT: Diffs = Diffs(16);
    /// A file on one side, a folder or link on the other; or links pointing elsewhere.
    pub const TYPE: Diffs = Diffs(32);
    /// Permission bits (metadata only: fixed in place, without a copy).
    pub const PERMISSIONS: Diffs = Diffs(64);
    /// The name's case or normalisation, on a side that folds names (fixed by a rename).
    pub const NAME: Diffs = Diffs(128);
    /// Owner or group (metadata only: fixed in place).
    pub const OWNER: Diffs = Diffs(256);
    /// Extended attributes or ACLs (metadata only: fixed in place).
    pub const XATTRS: Diffs = Diffs(512);
    /// What only a copy can fix; the rest (permissions, name) is fixed in place.
    const CONTENT_LIKE: Diffs = Diffs(1 | 2 | 4 | 8 | 16 | 32);

    /// Whether any bit of `d` is set.
    pub fn contains(self, d: Diffs) -> bool {
        self.0 & d.0 != 0
    }
    pub(crate) fn insert(&mut self, d: Diffs) {
        self.0 |= d.0;
    }
    /// Whether nothing differs.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether only metadata differs (permissions, owner, attributes, the name's case): fixed
    /// without a copy.
    pub(crate) fn is_metadata_only(self) -> bool {
        !self.is_empty() && self.0 & Diffs::CONTENT_LIKE.0 == 0
    }
    /// The differences fixed in place, on the item itself: permissions, owner, attributes.
    pub(crate) fn in_place(self) -> Diffs {
        Diffs(self.0 & (Diffs::PERMISSIONS.0 | Diffs::OWNER.0 | Diffs::XATTRS.0))
    }
    /// Names of the set bits, for display and JSON.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Diffs::EXISTENCE, "existence"),
            (Diffs::SIZE, "size"),
            (Diffs::MODIFIED, "modified"),
            (Diffs::CREATED, "created"),
            (Diffs::CONTENT, "content"),
            (Diffs::TYPE, "type"),
            (Diffs::PERMISSIONS, "permissions"),
            (Diffs::NAME, "name"),
            (Diffs::OWNER, "owner"),
            (Diffs::XATTRS, "xattrs"),
        ]
        .into_iter()
        .filter(|(d, _)| self.contains(*d))
        .map(|(_, n)| n)
        .collect()
    }
}

impl Serialize for Diffs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// The category of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Only in the left tree.
    LeftOnly,
    /// Only in the right tree.
    RightOnly,
    /// Files that differ, the left one modified later.
    LeftNewer,
    /// Files that differ, the right one modified later (or at the same time).
    RightNewer,
    /// Differ otherwise: in type, or with the same modified time (or folders whose times differ).
    Different,
    /// Same content, size and times; only permissions, owner, attributes or the name's case
    /// differ.
    MetadataOnly,
    /// Nothing compared differs.
    Same,
}

impl Category {
    /// Every category, in counting order.
    pub const ALL: &'static [Category] = &[
        Category::LeftOnly,
        Category::RightOnly,
        Category::LeftNewer,
        Category::RightNewer,
        Category::Different,
        Category::MetadataOnly,
        Category::Same,
    ];

    /// The category's name in `fcs compare`'s text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::LeftOnly => "left-only",
            Category::RightOnly => "right-only",
            Category::LeftNewer => "left-newer",
            Category::RightNewer => "right-newer",
            Category::Different => "different",
            Category::MetadataOnly => "metadata-only",
            Category::Same => "same",
        }
    }
}

/// One relative path of the union of both trees, by index into the scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Its index into the left scan's entries, when the left tree has it.
    pub left: Option<u32>,
    /// Its index into the right scan's entries, when the right tree has it.
    pub right: Option<u32>,
    /// What differs.
    pub diffs: Diffs,
    /// Its category.
    pub category: Category,
}

/// A file pair whose content could not be compared: it counts as different (`SCAN_E_READ`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompareIssue {
    /// The pair's path, relative to the roots.
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub rel: PathBuf,
    /// The code, the file that could not be read, and why.
    pub message: String,
}

/// The comparison of two trees.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The left tree's scan.
    pub left: Scan,
    /// The right tree's scan.
    pub right: Scan,
    /// Every path of either tree, in path order.
    pub items: Vec<Item>,
    /// Names that a case-insensitive or normalising filesystem would merge.
    pub twins: Vec<Twins>,
    /// What was compared.
    pub criteria: Criteria,
    /// Times closer than this compared equal.
    pub tolerance: Duration,
    /// Content hashing problems (unreadable files), reported per path.
    pub issues: Vec<CompareIssue>,
    /// Whether the scans or the comparison were cancelled before they finished.
    pub cancelled: bool,
}

impl Comparison {
    /// The pairs a content comparison settles: a file on both sides, of equal size.
    pub(crate) fn content_candidates(&self) -> Vec<usize> {
        let (le, re) = (&self.left.entries, &self.right.entries);
        (0..self.items.len())
            .filter(|&k| match (self.items[k].left, self.items[k].right) {
                (Some(l), Some(r)) => {
                    let (a, b) = (&le[l as usize], &re[r as usize]);
                    a.kind == EntryKind::File && b.kind == EntryKind::File && a.size == b.size
                }
                _ => false,
            })
            .collect()
    }

    /// Records content compared by other means than reading both files here (remote storage:
    /// its stored hash, or the object read back): `(item, equal?)`, an `Err` being a pair that
    /// could not be compared (it counts as different and is an issue). The comparison is then
    /// by content.
    pub(crate) fn settle_content(&mut self, results: Vec<(usize, Result<bool, String>)>) {
        let (le, re) = (&self.left.entries, &self.right.entries);
        for (k, res) in results {
            let it = &mut self.items[k];
            let (Some(l), Some(r)) = (it.left, it.right) else {
                continue;
            };
            match res {
                Ok(true) => continue,
                Ok(false) => {}
                Err(message) => self.issues.push(CompareIssue {
                    rel: le[l as usize].rel.to_path_buf(),
                    message,
                }),
            }
            it.diffs.insert(Diffs::CONTENT);
            it.category = categorize(Some(&le[l as usize]), Some(&re[r as usize]), it.diffs);
        }
        self.criteria.content = true;
    }

    /// An item's path, relative to the roots (the left name when a folded pair differs).
    pub fn rel(&self, item: &Item) -> &Path {
        match (item.left, item.right) {
            (Some(l), _) => &self.left.entries[l as usize].rel,
            (None, Some(r)) => &self.right.entries[r as usize].rel,
            (None, None) => Path::new(""),
        }
    }
    /// An item's entry in the left scan.
    pub fn left_entry(&self, item: &Item) -> Option<&Entry> {
        item.left.map(|i| &self.left.entries[i as usize])
    }
    /// An item's entry in the right scan.
    pub fn right_entry(&self, item: &Item) -> Option<&Entry> {
        item.right.map(|i| &self.right.entries[i as usize])
    }
    /// Whether the trees are identical under the criteria (and nothing failed).
    pub fn identical(&self) -> bool {
        self.items.iter().all(|i| i.category == Category::Same)
    }
    /// Counts per category, in the order of [`Category`].
    pub fn counts(&self) -> [u64; 7] {
        let mut c = [0u64; 7];
        for i in &self.items {
            c[i.category as usize] += 1;
        }
        c
    }
}

fn times_differ(a: Option<SystemTime>, b: Option<SystemTime>, tol: Duration) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let d = a.duration_since(b).unwrap_or_else(|e| e.duration());
            d > tol
        }
        // A time one side cannot report is not evidence of a difference.
        _ => false,
    }
}

pub(super) fn metadata_diffs(l: &Entry, r: &Entry, c: &Criteria, tol: Duration) -> Diffs {
    let mut d = Diffs::default();
    if l.kind != r.kind {
        d.insert(Diffs::TYPE);
        return d;
    }
    match l.kind {
        EntryKind::File => {
            if c.size && l.size != r.size {
                d.insert(Diffs::SIZE);
            }
            if c.modified && times_differ(l.modified, r.modified, tol) {
                d.insert(Diffs::MODIFIED);
            }
            if c.created && times_differ(l.created, r.created, tol) {
                d.insert(Diffs::CREATED);
            }
            if c.permissions && l.mode & PERMISSION_BITS != r.mode & PERMISSION_BITS {
                d.insert(Diffs::PERMISSIONS);
            }
            owner_and_xattr_diffs(l, r, c, &mut d);
        }
        EntryKind::Dir => {
            // Folders compare by existence and timestamps (the original app's "Folder (timestamp)").
            if c.modified && times_differ(l.modified, r.modified, tol) {
                d.insert(Diffs::MODIFIED);
            }
            if c.created && times_differ(l.created, r.created, tol) {
                d.insert(Diffs::CREATED);
            }
            if c.permissions && l.mode & PERMISSION_BITS != r.mode & PERMISSION_BITS {
                d.insert(Diffs::PERMISSIONS);
            }
            owner_and_xattr_diffs(l, r, c, &mut d);
        }
        EntryKind::Symlink => {
            if l.link_target() != r.link_target() {
                d.insert(Diffs::CONTENT);
            }
            if c.modified && times_differ(l.modified, r.modified, tol) {
                d.insert(Diffs::MODIFIED);
            }
        }
        EntryKind::Special => {}
    }
    d
}

/// Owner and attribute differences of two files or two folders, where compared.
fn owner_and_xattr_diffs(l: &Entry, r: &Entry, c: &Criteria, d: &mut Diffs) {
    if c.owner && (l.uid, l.gid) != (r.uid, r.gid) {
        d.insert(Diffs::OWNER);
    }
    if !c.xattrs.is_empty() && l.xattrs() != r.xattrs() {
        d.insert(Diffs::XATTRS);
    }
}

/// The permission bits compared: `rwx` for user, group and others (on Windows, the read-only
/// attribute, which the scan reports as bit 0).
const PERMISSION_BITS: u32 = 0o777;

pub(super) fn categorize(l: Option<&Entry>, r: Option<&Entry>, d: Diffs) -> Category {
    match (l, r) {
        (Some(_), None) => Category::LeftOnly,
        (None, Some(_)) => Category::RightOnly,
        (Some(l), Some(r)) => {
            if d.is_empty() {
                Category::Same
            } else if d.is_metadata_only() {
                Category::MetadataOnly
            } else if d.contains(Diffs::TYPE) {
                Category::Different
            } else if d.contains(Diffs::MODIFIED) && l.kind == EntryKind::File {
                if l.modified > r.modified {
                    Category::LeftNewer
                } else {
                    Category::RightNewer
                }
            } else {
                Category::Different
            }
        }
        (None, None) => Category::Same,
    }
}

/// Trees of at least this many entries (both sides) are merged on two threads.
const PARALLEL_MERGE: usize = 1 << 16;

/// Merges `le[li]` and `re[ri]` (each in [`path_order`]) into items, with each distinct path's
/// folded hash for the twins (see `find_twins`).
fn merge<'a>(
    le: &'a [Entry],
    re: &'a [Entry],
    li: std::ops::Range<usize>,
    ri: std::ops::Range<usize>,
    criteria: &Criteria,
    tolerance: Duration,
) -> (Vec<Item>, Vec<(u64, &'a Path)>) {
    let mut items = Vec::with_capacity(li.len().max(ri.len()));
    let mut hashed: Vec<(u64, &Path)> = Vec::with_capacity(items.capacity());
    // Cut at the ranges' ends once; indices stay those of the whole scans.
    let (le, re) = (&le[..li.end], &re[..ri.end]);
    let (mut i, mut j) = (li.start, ri.start);
    while i < le.len() || j < re.len() {
        let ord = match (le.get(i), re.get(j)) {
            (Some(a), Some(b)) => path_order(&a.rel, &b.rel),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (l, r) = match ord {
            std::cmp::Ordering::Less => {
                i += 1;
                (Some(i - 1), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, Some(j - 1))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (Some(i - 1), Some(j - 1))
            }
        };
        let (lo, ro) = (l.map(|x| &le[x]), r.map(|x| &re[x]));
        if let Some(e) = lo.or(ro) {
            hashed.extend(fold_hash(&e.rel).map(|h| (h, &*e.rel)));
        }
        let diffs = match (lo, ro) {
            (Some(a), Some(b)) => metadata_diffs(a, b, criteria, tolerance),
            _ => Diffs::EXISTENCE,
        };
        items.push(Item {
            left: l.map(|x| x as u32),
            right: r.map(|x| x as u32),
            diffs,
            category: categorize(lo, ro, diffs),
        });
    }
    (items, hashed)
}

/// Compares two scans. Content (when selected) is hashed only for file pairs of equal size,
/// in parallel, with `CompareProgress` events.
pub fn compare(
    left: Scan,
    right: Scan,
    criteria: Criteria,
    tolerance: Duration,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Comparison {
    let (le, re) = (&left.entries, &right.entries);
    // Two halves merged on two threads where the trees are large: everything before the longer
    // tree's middle path is before it on both sides, so the halves only join end to end (a
    // fifteenth of a no-change re-sync was this merge, on one core).
    let (mut items, hashed) = if le.len() + re.len() >= PARALLEL_MERGE {
        let longer = if le.len() >= re.len() { le } else { re };
        let middle = &longer[longer.len() / 2].rel;
        let i = le.partition_point(|e| path_order(&e.rel, middle).is_lt());
        let j = re.partition_point(|e| path_order(&e.rel, middle).is_lt());
        let ((mut items, mut hashed), (items_b, hashed_b)) = rayon::join(
            || merge(le, re, 0..i, 0..j, &criteria, tolerance),
            || merge(le, re, i..le.len(), j..re.len(), &criteria, tolerance),
        );
        // Exact: the first half's lists grow where they are (a large allocation is remapped),
        // no copy of them is held at once.
        items.reserve_exact(items_b.len());
        items.extend_from_slice(&items_b);
        drop(items_b);
        hashed.reserve_exact(hashed_b.len());
        hashed.extend_from_slice(&hashed_b);
        (items, hashed)
    } else {
        merge(le, re, 0..le.len(), 0..re.len(), &criteria, tolerance)
    };

    if criteria.fold_case || criteria.fold_unicode {
        pair_folded(&mut items, le, re, &criteria, tolerance);
    }

    let mut issues = Vec::new();
    if criteria.content {
        let candidates: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| match (it.left, it.right) {
                (Some(l), Some(r)) => {
                    let (a, b) = (&le[l as usize], &re[r as usize]);
                    a.kind == EntryKind::File && b.kind == EntryKind::File && a.size == b.size
                }
                _ => false,
            })
            .map(|(k, _)| k)
            .collect();
        let total: u64 = candidates
            .iter()
            .map(|&k| le[items[k].left.unwrap() as usize].size * 2)
            .sum();
        let done = AtomicU64::new(0);
        let results: Vec<(usize, Option<Result<bool, String>>)> = candidates
            .par_iter()
            .map(|&k| {
                if cancel.is_cancelled() {
                    return (k, None);
                }
                let it = items[k];
                let (a, b) = (
                    &le[it.left.unwrap() as usize],
                    &re[it.right.unwrap() as usize],
                );
                // Progress every 8 MiB read, and once at the pair's end (which counts its
                // unread rest when a difference ended the pair early).
                let report = |n: u64| {
                    reporter.report(&Event::CompareProgress {
                        hashed_bytes: n,
                        total_bytes: total,
                    })
                };
                let read = AtomicU64::new(0);
                let add = |n: u64| {
                    read.fetch_add(n, Ordering::Relaxed);
                    let now = done.fetch_add(n, Ordering::Relaxed) + n;
                    if now / (8 << 20) != (now - n) / (8 << 20) {
                        report(now);
                    }
                };
                let res = same_content(
                    &left.root.join(&a.rel),
                    &right.root.join(&b.rel),
                    cancel,
                    &add,
                );
                let rest = (a.size * 2).saturating_sub(read.load(Ordering::Relaxed));
                report(done.fetch_add(rest, Ordering::Relaxed) + rest);
                match res {
                    Ok(None) => (k, None),
                    Ok(Some(same)) => (k, Some(Ok(same))),
                    Err(e) => (k, Some(Err(e))),
                }
            })
            .collect();
        for (k, res) in results {
            match res {
                Some(Ok(true)) => {}
                // Not compared (cancelled): the comparison says it was cancelled.
                None => items[k].diffs.insert(Diffs::CONTENT),
                Some(Ok(false)) => items[k].diffs.insert(Diffs::CONTENT),
                Some(Err(message)) => {
                    items[k].diffs.insert(Diffs::CONTENT);
                    let rel = le[items[k].left.unwrap() as usize].rel.to_path_buf();
                    issues.push(CompareIssue { rel, message });
                }
            }
            let it = items[k];
            items[k].category = categorize(
                Some(&le[it.left.unwrap() as usize]),
                Some(&re[it.right.unwrap() as usize]),
                it.diffs,
            );
        }
    }

    // A pair the target folds into one item (a case-only rename there) is not a warning. Only
    // `pair_folded` pairs two paths that differ.
    let paired: Vec<(&Path, &Path)> = if criteria.fold_case || criteria.fold_unicode {
        items
            .iter()
            .filter_map(|it| {
                let (l, r) = (&le[it.left? as usize].rel, &re[it.right? as usize].rel);
                (l.as_os_str() != r.as_os_str()).then_some((&**l, &**r))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut twins = find_twins(hashed);
    twins.retain(|t| {
        !(t.paths.len() == 2
            && paired.iter().any(|&(l, r)| {
                (t.paths[0] == l && t.paths[1] == r) || (t.paths[0] == r && t.paths[1] == l)
            }))
    });
    let cancelled = cancel.is_cancelled() || left.cancelled || right.cancelled;
    Comparison {
        left,
        right,
        items,
        twins,
        criteria,
        tolerance,
        issues,
        cancelled,
    }
}

/// Reads both files side by side and says whether their bytes are equal: stops at the first
/// difference (like `cmp`), checks `cancel` between chunks (a cancel takes effect within one
/// chunk, whatever the files' size), and reports the bytes read of both through `progress`.
fn same_content(
    a: &Path,
    b: &Path,
    cancel: &CancelToken,
    progress: &dyn Fn(u64),
) -> Result<Option<bool>, String> {
    const CHUNK: usize = 1 << 20;
    let open = |p: &Path| {
        fsops::open_source(p).map_err(|e| {
            format!(
                "SCAN_E_READ: cannot read '{}' to compare it: {e}",
                p.display()
            )
        })
    };
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    thread_local! {
        static BUFS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
            std::cell::RefCell::new((vec![0; CHUNK], vec![0; CHUNK]));
    }
    BUFS.with_borrow_mut(|(ba, bb)| {
        loop {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            let na = read_full(&mut fa, ba)
                .map_err(|e| format!("SCAN_E_READ: cannot read '{}': {e}", a.display()))?;
            let nb = read_full(&mut fb, bb)
                .map_err(|e| format!("SCAN_E_READ: cannot read '{}': {e}", b.display()))?;
            progress((na + nb) as u64);
            if na != nb || ba[..na] != bb[..nb] {
                return Ok(Some(false));
            }
            if na < CHUNK {
                return Ok(Some(true));
            }
        }
    })
}

/// Fills `buf` unless the file ends first; returns how much was read.
fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NullReporter;
    use crate::tree::names::TwinKind;

    fn entry(rel: &str, kind: EntryKind, size: u64, mtime_ms: u64) -> Entry {
        Entry {
            rel: PathBuf::from(rel).into_boxed_path(),
            kind,
            size,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(mtime_ms)),
            created: None,
            mode: 0o644,
            uid: 0,
            gid: 0,
            more: None,
        }
    }

    fn scan(entries: Vec<Entry>) -> Scan {
        Scan {
            root: PathBuf::from("/nonexistent"),
            entries,
            issues: vec![],
            temps: vec![],
            nested: vec![],
            cancelled: false,
        }
    }

    fn cmp(l: Vec<Entry>, r: Vec<Entry>, tol_ms: u64) -> Comparison {
        compare(
            scan(l),
            scan(r),
            Criteria::default(),
            Duration::from_millis(tol_ms),
            &NullReporter,
            &CancelToken::new(),
        )
    }

    /// Large trees are merged in two halves on two threads: every entry of both sides is in
    /// exactly one item, in path order, a pair is one path with its differences, and twin
    /// names on both sides of the split are still found.
    #[test]
    fn a_large_comparison_merged_in_halves_is_the_whole_merge() {
        let (mut l, mut r) = (Vec::new(), Vec::new());
        for k in 0..60_000u64 {
            if k % 1000 == 0 {
                let dir = format!("d{:03}", k / 1000);
                l.push(entry(&dir, EntryKind::Dir, 0, 1000));
                r.push(entry(&dir, EntryKind::Dir, 0, 1000));
            }
            let rel = format!("d{:03}/f{k:05}", k / 1000);
            match k % 3 {
                0 => l.push(entry(&rel, EntryKind::File, 1, 1000)),
                1 => r.push(entry(&rel, EntryKind::File, 1, 1000)),
                _ => {
                    l.push(entry(&rel, EntryKind::File, 1, 1000));
                    r.push(entry(
                        &rel,
                        EntryKind::File,
                        1 + u64::from(k % 5 == 0),
                        1000,
                    ));
                }
            }
        }
        // In the folder of the left tree's middle: one sorts first in it, the other last. The
        // middle must be a file for that (a file more at the front moves it).
        l.sort_by(|a, b| path_order(&a.rel, &b.rel));
        while l[l.len() / 2].kind != EntryKind::File {
            l.push(entry(
                &format!("d000/pad{}", l.len()),
                EntryKind::File,
                1,
                1000,
            ));
            l.sort_by(|a, b| path_order(&a.rel, &b.rel));
        }
        let folder = &l[l.len() / 2].rel.to_str().unwrap()[..4];
        let upper = PathBuf::from(format!("{folder}/TWIN"));
        let lower = PathBuf::from(format!("{folder}/twin"));
        l.push(entry(upper.to_str().unwrap(), EntryKind::File, 1, 1000));
        l.push(entry(lower.to_str().unwrap(), EntryKind::File, 1, 1000));
        l.sort_by(|a, b| path_order(&a.rel, &b.rel));
        let middle = &l[l.len() / 2].rel;
        assert!(path_order(middle, &upper).is_gt() && path_order(middle, &lower).is_lt());
        let (nl, nr) = (l.len(), r.len());
        assert!(nl + nr >= PARALLEL_MERGE);
        let c = cmp(l, r, 10);

        let (mut seen_l, mut seen_r) = (vec![0u8; nl], vec![0u8; nr]);
        let mut last: Option<&Path> = None;
        for it in &c.items {
            let (lo, ro) = (
                it.left.map(|i| &c.left.entries[i as usize]),
                it.right.map(|i| &c.right.entries[i as usize]),
            );
            let e = lo.or(ro).expect("an item has a side");
            if let (Some(a), Some(b)) = (lo, ro) {
                assert_eq!(a.rel, b.rel);
                let differs = a.size != b.size;
                assert_eq!(it.category == Category::Same, !differs, "{:?}", a.rel);
            }
            if let Some(prev) = last {
                assert!(
                    path_order(prev, &e.rel).is_lt(),
                    "{prev:?} then {:?}",
                    e.rel
                );
            }
            last = Some(&e.rel);
            it.left.into_iter().for_each(|i| seen_l[i as usize] += 1);
            it.right.into_iter().for_each(|i| seen_r[i as usize] += 1);
        }
        assert!(seen_l.iter().chain(&seen_r).all(|&n| n == 1));
        assert_eq!(c.twins.len(), 1, "{:?}", c.twins);
        assert_eq!(c.twins[0].paths, [upper, lower]);
    }

    #[test]
    fn categories() {
        let c = cmp(
            vec![
                entry("a", EntryKind::File, 1, 1000),
                entry("b", EntryKind::File, 1, 5000),
                entry("c", EntryKind::File, 1, 1000),
                entry("d", EntryKind::File, 1, 1000),
                entry("e", EntryKind::File, 2, 1000),
                entry("t", EntryKind::Dir, 0, 1000),
            ],
            vec![
                entry("b", EntryKind::File, 1, 1000),
                entry("c", EntryKind::File, 1, 9000),
                entry("d", EntryKind::File, 1, 1000),
                entry("e", EntryKind::File, 3, 1000),
                entry("t", EntryKind::File, 0, 1000),
                entry("z", EntryKind::File, 1, 1000),
            ],
            10,
        );
        let cats: Vec<(String, Category)> = c
            .items
            .iter()
            .map(|i| (c.rel(i).to_string_lossy().into_owned(), i.category))
            .collect();
        assert_eq!(
            cats,
            vec![
                ("a".into(), Category::LeftOnly),
                ("b".into(), Category::LeftNewer),
                ("c".into(), Category::RightNewer),
                ("d".into(), Category::Same),
                ("e".into(), Category::Different),
                ("t".into(), Category::Different),
                ("z".into(), Category::RightOnly),
            ]
        );
        assert!(c.items[5].diffs.contains(Diffs::TYPE));
        assert!(!c.identical());
    }

    #[test]
    fn tolerance_edges() {
        let c = cmp(
            vec![entry("f", EntryKind::File, 1, 1000)],
            vec![entry("f", EntryKind::File, 1, 1010)],
            10,
        );
        assert_eq!(
            c.items[0].category,
            Category::Same,
            "10 ms apart with 10 ms tolerance is equal"
        );
        let c = cmp(
            vec![entry("f", EntryKind::File, 1, 1000)],
            vec![entry("f", EntryKind::File, 1, 1011)],
            10,
        );
        assert_eq!(c.items[0].category, Category::RightNewer);
        let c = cmp(
            vec![entry("f", EntryKind::File, 1, 1000)],
            vec![entry("f", EntryKind::File, 1, 2999)],
            2000,
        );
        assert_eq!(c.items[0].category, Category::Same, "FAT preset: 2 s");
    }

    #[test]
    fn folders_compare_by_timestamp_only() {
        let c = cmp(
            vec![entry("d", EntryKind::Dir, 0, 1000)],
            vec![entry("d", EntryKind::Dir, 0, 5000)],
            10,
        );
        assert_eq!(c.items[0].category, Category::Different);
        assert_eq!(c.items[0].diffs, Diffs::MODIFIED);
    }

    #[test]
    fn case_and_normalisation_twins_are_reported() {
        let c = cmp(
            vec![
                entry("a.txt", EntryKind::File, 1, 1),
                entry("A.txt", EntryKind::File, 1, 1),
                entry("caf\u{e9}", EntryKind::File, 1, 1),
            ],
            vec![entry("cafe\u{301}", EntryKind::File, 1, 1)],
            10,
        );
        assert_eq!(c.twins.len(), 2, "{:?}", c.twins);
        assert!(c.twins.iter().any(|t| t.kind == TwinKind::Case));
        assert!(
            c.twins
                .iter()
                .any(|t| t.kind == TwinKind::UnicodeNormalization)
        );
    }

    #[test]
    fn criteria_parse() {
        let c = Criteria::parse("size,content").unwrap();
        assert!(c.existence && c.size && c.content && !c.modified);
        assert!(Criteria::parse("colour").is_err());
    }
}

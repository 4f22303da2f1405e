//! Plan: from a [`Comparison`], the list of actions that makes the target side hold the source
//! side's version of every differing item. Nothing is written before the plan exists;
//! `--dry-run` prints it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Code, Error};
use crate::tree::compare::{Category, Comparison, Diffs};
use crate::tree::scan::{Entry, EntryKind, Scan};

/// Which way a sync goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The left tree is the source, the right one the target.
    LeftToRight,
    /// The right tree is the source, the left one the target.
    RightToLeft,
}

/// How the plan is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Which side is the source.
    pub direction: Direction,
    /// Also delete target-only items, and replace items of another type (mirror).
    pub delete: bool,
    /// Skip the mass-deletion guard.
    pub force: bool,
    /// Refuse to delete more than this share of the target's entries (see [`Plan::build`]).
    pub max_delete: f64,
    /// The target folds names (case-insensitive or normalising): source names that would fold
    /// into one are skipped, never copied over each other.
    pub target_folds_names: bool,
    /// Never replace a target file that is newer than the source (rsync `-u`, robocopy `/XO`).
    pub update: bool,
    /// Names of one source file (hard links) become names of one target file: the first name
    /// is copied, the others linked to it (`-H`; never in a move).
    pub hard_links: bool,
    /// The target holds hard links: names that are files of their own there are linked too.
    /// (Where it does not, a link falls back to a copy, once: a re-sync leaves it.)
    pub target_hard_links: bool,
}

impl PlanOptions {
    /// Options of a plain one-way sync in `direction`: no deletes, no `--update`.
    pub fn new(direction: Direction) -> PlanOptions {
        PlanOptions {
            direction,
            delete: false,
            force: false,
            max_delete: 0.5,
            target_folds_names: false,
            update: false,
            hard_links: false,
            target_hard_links: true,
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Delete a target item whose type differs from the source's (a file where a folder goes),
    /// whole, before the source's item is created in its place (`--delete` only).
    DeleteConflict,
    /// Rename a target item whose name differs from the source's only by case or
    /// normalisation, on a target that folds names (never a copy plus a delete of the same
    /// file). `from` is its name on the target.
    Rename,
    /// Create a directory.
    Mkdir,
    /// Copy a file that the target does not have.
    Copy,
    /// Replace the target's different version of a file.
    Replace,
    /// The target already has this file (same size and times): check both by hash, copy it if
    /// they differ. A move plans one for every identical file, so its source can go.
    Check,
    /// Create (or replace) a symbolic link, as a link.
    Symlink,
    /// Make the target file a second name of the target's `from` (hard links, `-H`): both are
    /// names of one file in the source. After the copies, so `from` is in place.
    HardLink,
    /// Apply the source's permissions to a target file whose content is the same (no copy).
    UpdateMeta,
    /// Delete a target-only item (file, link or, once emptied, directory; `--delete` only).
    Delete,
    /// Apply a directory's times and permissions (last, bottom-up).
    SetDirTimes,
}

impl ActionKind {
    /// Every kind, in the order their phases run.
    pub const ALL: &'static [ActionKind] = &[
        ActionKind::DeleteConflict,
        ActionKind::Rename,
        ActionKind::Mkdir,
        ActionKind::Copy,
        ActionKind::Replace,
        ActionKind::Check,
        ActionKind::Symlink,
        ActionKind::HardLink,
        ActionKind::UpdateMeta,
        ActionKind::Delete,
        ActionKind::SetDirTimes,
    ];

    /// The kind's stable name (plan output, `--json`, the journal; see `docs/vocabulary.md`).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::DeleteConflict => "delete-conflict",
            ActionKind::Rename => "rename",
            ActionKind::Mkdir => "mkdir",
            ActionKind::Copy => "copy",
            ActionKind::Replace => "replace",
            ActionKind::Check => "check",
            ActionKind::Symlink => "symlink",
            ActionKind::HardLink => "hard-link",
            ActionKind::UpdateMeta => "update-meta",
            ActionKind::Delete => "delete",
            ActionKind::SetDirTimes => "set-times",
        }
    }

    /// The kind named `s` (see [`ActionKind::as_str`]).
    pub(crate) fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether the action copies (or checks) a file through the per-file engine.
    pub(crate) fn is_file(self) -> bool {
        matches!(
            self,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Check
        )
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// What to do.
    pub kind: ActionKind,
    /// The item, relative to both roots (the source's spelling of its name).
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub rel: PathBuf,
    /// A rename's current name on the target, relative to the target root.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "lossy_opt_path"
    )]
    pub from: Option<PathBuf>,
    /// Bytes to copy (files), else 0.
    pub size: u64,
    /// Why (the differences, or "missing on the target" …). Borrowed where it is a fixed text:
    /// a plan of a million new files holds no million copies of the same words.
    pub reason: Cow<'static, str>,
}

impl Action {
    /// An action on `rel` (no rename).
    pub(crate) fn new(
        kind: ActionKind,
        rel: PathBuf,
        size: u64,
        reason: impl Into<Cow<'static, str>>,
    ) -> Action {
        Action {
            kind,
            rel,
            from: None,
            size,
            reason: reason.into(),
        }
    }
}

fn lossy_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// An item the plan leaves alone, and why (a type conflict without `--delete`, a FIFO …). With
/// a code, leaving it is a failure of the run (exit 2): the user asked for something the plan
/// must not do (two names that the target would merge, a symbolic link in the way).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skip {
    /// The item, relative to the roots.
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub rel: PathBuf,
    /// Why it is left alone.
    pub reason: String,
    /// The error it counts as, if it is one.
    pub code: Option<Code>,
}

impl Skip {
    fn note(rel: PathBuf, reason: impl Into<String>) -> Skip {
        Skip {
            rel,
            reason: reason.into(),
            code: None,
        }
    }

    fn error(rel: PathBuf, code: Code, reason: impl Into<String>) -> Skip {
        Skip {
            rel,
            reason: reason.into(),
            code: Some(code),
        }
    }
}

/// A serialisable plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Where the items are copied from.
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub source_root: PathBuf,
    /// Where they are copied to.
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub target_root: PathBuf,
    /// Which side of the comparison the source is.
    pub direction: Direction,
    /// Grouped by kind in the order their phases run: type-conflict deletes, renames
    /// (top-down), mkdirs (top-down), copies, checks and links, metadata updates, other deletes
    /// (deepest first), directory times (bottom-up). An action's index is its sequence number
    /// in the journal and in its temp's name.
    pub actions: Vec<Action>,
    /// Items left alone, and why.
    pub skipped: Vec<Skip>,
    /// What the target's filesystem can hold, as probed for this plan.
    pub capabilities: crate::tree::Capabilities,
}

/// What `Plan::build` collects, per phase.
#[derive(Default)]
struct Phases {
    conflicts: Vec<Action>,
    renames: Vec<Action>,
    mkdirs: Vec<Action>,
    copies: Vec<Action>,
    links: Vec<Action>,
    metas: Vec<Action>,
    deletes: Vec<Action>,
    skipped: Vec<Skip>,
    /// Folders whose contents change, or that differ themselves: their times and permissions
    /// are applied again at the end.
    touched: Vec<PathBuf>,
    /// Source subtrees the plan must not write into (a conflict left in place).
    fenced: Vec<PathBuf>,
    /// The parent whose chain `touched` got last: items come in path order, so the files of one
    /// folder touch the same chain once, not once each.
    last_parent: Option<PathBuf>,
}

impl Phases {
    /// `rel`'s parent folders change (an entry is added, replaced or removed in them).
    fn touch_parents(&mut self, rel: &Path) {
        let parent = rel.parent();
        if parent.is_some() && parent == self.last_parent.as_deref() {
            return;
        }
        self.last_parent = parent.map(Path::to_path_buf);
        let mut p = parent;
        while let Some(d) = p {
            self.touched.push(d.to_path_buf());
            p = d.parent();
        }
    }
}

const SPECIAL: &str = "a FIFO, socket or device: not copied";

impl Plan {
    /// Builds the plan. With `delete`, refuses (`PLAN_E_MASS_DELETE`) to delete more than
    /// `max_delete` of the target's entries when that is more than 10 entries, unless `force`:
    /// a mistyped source path must not empty the target.
    pub fn build(cmp: &Comparison, opts: &PlanOptions) -> Result<Plan, Error> {
        Plan::build_inner(cmp, opts, false)
    }

    /// The plan of a move: like [`Plan::build`], plus a [`ActionKind::Check`] for every file
    /// the target already has, because a move removes every source file once the target's copy
    /// is proven identical by hash — never on size and times alone.
    pub(crate) fn build_move(cmp: &Comparison, opts: &PlanOptions) -> Result<Plan, Error> {
        Plan::build_inner(cmp, opts, true)
    }

    fn build_inner(cmp: &Comparison, opts: &PlanOptions, check_same: bool) -> Result<Plan, Error> {
        let (src_scan, dst_scan) = match opts.direction {
            Direction::LeftToRight => (&cmp.left, &cmp.right),
            Direction::RightToLeft => (&cmp.right, &cmp.left),
        };
        let target_newer = match opts.direction {
            Direction::LeftToRight => Category::RightNewer,
            Direction::RightToLeft => Category::LeftNewer,
        };
        let mut ph = Phases::default();
        // Sized once from what differs, so a million copies never reallocate (each growth
        // briefly holds the old and the new buffer).
        ph.copies.reserve(
            cmp.items
                .iter()
                .filter(|i| i.category != Category::Same)
                .count(),
        );
        for it in &cmp.items {
            let (src, dst) = match opts.direction {
                Direction::LeftToRight => (cmp.left_entry(it), cmp.right_entry(it)),
                Direction::RightToLeft => (cmp.right_entry(it), cmp.left_entry(it)),
            };
            if it.category == Category::Same {
                // Nothing to do, and no path copied for it (a no-change re-sync of a million
                // files allocated and freed a million paths here).
                if check_same
                    && let (Some(s), Some(_)) = (src, dst)
                    && s.kind == EntryKind::File
                {
                    ph.copies.push(Action::new(
                        ActionKind::Check,
                        s.rel.to_path_buf(),
                        s.size,
                        "same size and times: checked by hash",
                    ));
                }
                continue;
            }
            // The source's spelling: on a target that folds names it reaches the target's item.
            let rel = match (src, dst) {
                (Some(s), _) => s.rel.to_path_buf(),
                (None, Some(d)) => d.rel.to_path_buf(),
                (None, None) => continue,
            };
            let reason: Cow<'static, str> = match it.category {
                Category::LeftOnly | Category::RightOnly => Cow::Borrowed("missing on the target"),
                _ => Cow::Owned(it.diffs.names().join(",")),
            };
            match (src, dst) {
                (Some(s), None) => ph.create(s, rel, reason, false),
                (Some(s), Some(d)) if s.kind != d.kind => {
                    ph.conflict(s, d, rel, reason, opts.delete)
                }
                (Some(s), Some(d)) => {
                    if it.diffs.contains(Diffs::NAME) {
                        ph.touch_parents(&rel);
                        ph.renames.push(Action {
                            from: Some(d.rel.to_path_buf()),
                            ..Action::new(ActionKind::Rename, rel.clone(), 0, "name's case")
                        });
                    }
                    match s.kind {
                        EntryKind::Dir => ph.touched.push(rel),
                        EntryKind::Special => ph.skipped.push(Skip::note(rel, SPECIAL)),
                        _ if it.diffs.is_metadata_only() => {
                            let meta = it.diffs.in_place();
                            if s.kind == EntryKind::File && !meta.is_empty() {
                                ph.metas.push(Action::new(
                                    ActionKind::UpdateMeta,
                                    rel,
                                    0,
                                    meta.names().join(","),
                                ));
                            }
                        }
                        EntryKind::File if opts.update && it.category == target_newer => {
                            ph.skipped.push(Skip::note(
                                rel,
                                "the target is newer than the source: kept (--update)",
                            ));
                        }
                        _ => ph.create(s, rel, reason, true),
                    }
                }
                (None, Some(_)) => {
                    if opts.delete {
                        ph.touch_parents(&rel);
                        ph.deletes.push(Action::new(
                            ActionKind::Delete,
                            rel,
                            0,
                            "not in the source",
                        ));
                    }
                }
                (None, None) => {}
            }
        }
        if opts.target_folds_names {
            ph.fence_twins(cmp, src_scan);
        }
        if opts.hard_links && !check_same {
            ph.link_names(src_scan, dst_scan, opts.target_hard_links);
        }
        ph.fence();
        let target_total = dst_scan.entries.len();
        let n_del = ph.deletes.len() + ph.conflicts.len();
        if opts.delete
            && !opts.force
            && n_del > 10
            && n_del as f64 > opts.max_delete * target_total as f64
        {
            return Err(Error::new(
                Code::PlanMassDelete,
                &dst_scan.root,
                format!(
                    "the plan deletes {n_del} of the target's {target_total} entries, more than max_delete={:.0}%",
                    opts.max_delete * 100.0
                ),
            ));
        }
        let any_change = cmp.items.iter().any(|i| i.category != Category::Same);
        let times = ph.dir_times(src_scan, any_change);
        let Phases {
            conflicts,
            mut renames,
            mkdirs,
            copies,
            links,
            metas,
            mut deletes,
            skipped,
            ..
        } = ph;
        // A folder's rename comes before its contents' (their old paths fold to the new ones).
        renames.sort_by(|a, b| depth(&a.rel).cmp(&depth(&b.rel)).then(a.rel.cmp(&b.rel)));
        // Deleting a directory deletes what is below it first: all of it is target-only too.
        deletes.sort_by(|a, b| {
            depth(&b.rel)
                .cmp(&depth(&a.rel))
                .then_with(|| b.rel.cmp(&a.rel))
        });
        // The copies (nearly all of a big plan) are the base: the few actions before them are
        // inserted in front and the rest appended, so no second buffer of every action exists
        // at any time.
        let mut actions = order_copies(copies);
        let after = links.len() + metas.len() + deletes.len() + times.len();
        actions.reserve_exact(conflicts.len() + renames.len() + mkdirs.len() + after);
        actions.splice(0..0, conflicts.into_iter().chain(renames).chain(mkdirs));
        actions.extend(links);
        actions.extend(metas);
        actions.extend(deletes);
        actions.extend(times);
        Ok(Plan {
            source_root: src_scan.root.clone(),
            target_root: dst_scan.root.clone(),
            direction: opts.direction,
            actions,
            skipped,
            capabilities: Default::default(),
        })
    }

    /// A plan that does nothing.
    pub(crate) fn empty(source_root: &Path, target_root: &Path) -> Plan {
        Plan {
            source_root: source_root.to_path_buf(),
            target_root: target_root.to_path_buf(),
            direction: Direction::LeftToRight,
            actions: Vec::new(),
            skipped: Vec::new(),
            capabilities: Default::default(),
        }
    }

    /// Files and bytes the plan copies.
    pub fn copy_totals(&self) -> (u64, u64) {
        self.actions
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::Copy | ActionKind::Replace))
            .fold((0, 0), |(n, b), a| (n + 1, b + a.size))
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Narrows the plan to the copies of `items` (paths relative to the roots, as a front end
    /// ticked them): their files, links and folders, the folders they need, and those folders'
    /// times. Deletes are dropped. What a front end copies is always a subset of what the engine
    /// planned, never an action it made up.
    pub fn select(&mut self, items: &[PathBuf]) {
        self.narrow(items, &[]);
    }

    /// Narrows the plan to the copies of `items` (as [`Plan::select`]) and the deletes of
    /// `deletes` (target-only items a front end chose to remove): one run of a sync whose
    /// actions were chosen row by row. An item of another type on the target is replaced only
    /// when the item is among `items`.
    pub fn narrow(&mut self, items: &[PathBuf], deletes: &[PathBuf]) {
        let wanted: HashSet<&Path> = items.iter().map(PathBuf::as_path).collect();
        let gone: HashSet<&Path> = deletes.iter().map(PathBuf::as_path).collect();
        // Every ancestor folder of a wanted item: created when missing, its times re-applied.
        let mut needed: HashSet<&Path> = HashSet::new();
        for rel in items {
            let mut p = rel.parent();
            while let Some(d) = p {
                if !needed.insert(d) {
                    break;
                }
                p = d.parent();
            }
        }
        let keep = |rel: &Path| wanted.contains(rel) || needed.contains(rel);
        self.actions.retain(|a| match a.kind {
            ActionKind::Mkdir | ActionKind::SetDirTimes => keep(&a.rel),
            ActionKind::Copy
            | ActionKind::Replace
            | ActionKind::Symlink
            | ActionKind::HardLink
            | ActionKind::Check
            | ActionKind::Rename
            | ActionKind::UpdateMeta
            | ActionKind::DeleteConflict => wanted.contains(a.rel.as_path()),
            ActionKind::Delete => gone.contains(a.rel.as_path()),
        });
        self.skipped.retain(|s| keep(&s.rel));
    }

    /// Narrows the plan to the deletes of `items` (a front end's list of target-only items to
    /// remove): nothing is copied, and no folder times change.
    pub fn select_deletes(&mut self, items: &[PathBuf]) {
        let wanted: HashSet<&Path> = items.iter().map(PathBuf::as_path).collect();
        self.actions
            .retain(|a| a.kind == ActionKind::Delete && wanted.contains(a.rel.as_path()));
        self.skipped.clear();
    }
}

impl Phases {
    /// The source item `s` is created on the target (`replace`: over the target's version).
    fn create(&mut self, s: &Entry, rel: PathBuf, reason: Cow<'static, str>, replace: bool) {
        let kind = match s.kind {
            EntryKind::Dir => ActionKind::Mkdir,
            EntryKind::File if replace => ActionKind::Replace,
            EntryKind::File => ActionKind::Copy,
            EntryKind::Symlink => ActionKind::Symlink,
            EntryKind::Special => {
                self.skipped.push(Skip::note(rel, SPECIAL));
                return;
            }
        };
        self.touch_parents(&rel);
        if kind == ActionKind::Mkdir {
            self.touched.push(rel.clone());
            self.mkdirs.push(Action::new(kind, rel, 0, reason));
        } else {
            self.copies.push(Action::new(kind, rel, s.size, reason));
        }
    }

    /// Source and target items of different types at `rel`. With `--delete` the target's goes
    /// first (a symbolic link is removed as a link, never followed); without, it stays and
    /// nothing is written beneath it — a folder planned through a symbolic link would write
    /// wherever the link points (`TREE_E_SYMLINK_IN_PATH`, an error).
    fn conflict(
        &mut self,
        s: &Entry,
        d: &Entry,
        rel: PathBuf,
        reason: Cow<'static, str>,
        delete: bool,
    ) {
        if s.kind == EntryKind::Special {
            self.skipped.push(Skip::note(rel, SPECIAL));
        } else if delete {
            self.touch_parents(&rel);
            self.conflicts.push(Action::new(
                ActionKind::DeleteConflict,
                rel.clone(),
                0,
                "type conflict",
            ));
            self.create(s, rel, reason, false);
        } else {
            if s.kind == EntryKind::Dir {
                self.fenced.push(rel.clone());
            }
            self.skipped.push(
                if d.kind == EntryKind::Symlink && s.kind == EntryKind::Dir {
                    Skip::error(
                        rel,
                        Code::TreeSymlinkInPath,
                        "the target has a symbolic link where the source has a folder",
                    )
                } else {
                    Skip::note(
                        rel,
                        format!(
                            "type conflict ({:?} vs {:?}): run with --delete to replace it",
                            s.kind, d.kind
                        ),
                    )
                },
            );
        }
    }

    /// Twins (a.txt / A.txt, NFC / NFD) from the source onto a target that folds names: copying
    /// both would silently overwrite one with the other. All of them are left out, as errors.
    fn fence_twins(&mut self, cmp: &Comparison, src_scan: &crate::tree::scan::Scan) {
        for t in &cmp.twins {
            let from_source: Vec<&PathBuf> = t
                .paths
                .iter()
                .filter(|p| src_scan.get(p).is_some())
                .collect();
            if from_source.len() > 1 {
                for p in from_source {
                    self.skipped.push(Skip::error(
                        p.clone(),
                        Code::PlanNameClash,
                        "the target folder ignores case or normalises names, and another source name folds to this one: not copied, so neither overwrites the other",
                    ));
                    self.fenced.push(p.clone());
                }
            }
        }
    }

    /// Drops every action on or beneath a fenced item.
    /// Hard links (`-H`): of the names of one source file, the first (in path order) is copied
    /// as planned; each other name becomes a [`ActionKind::HardLink`] to it where it is
    /// missing on the target, differs, its first name is copied, or (`target_links`) it is a
    /// file of its own there. A name whose target is a folder or link is left to the plan.
    fn link_names(&mut self, src: &Scan, dst: &Scan, target_links: bool) {
        let planned: HashSet<&Path> = self.copies.iter().map(|a| a.rel.as_path()).collect();
        let mut first: HashMap<fsops::FileIdentity, &Path> = HashMap::new();
        let mut links = Vec::new();
        for e in &src.entries {
            let Some(id) = e.link() else { continue };
            let Some(&lead) = first.get(&id) else {
                first.insert(id, &e.rel);
                continue;
            };
            let there = dst.get(&e.rel);
            if there.is_some_and(|t| t.kind != EntryKind::File) {
                continue;
            }
            let joined = there
                .and_then(Entry::link)
                .is_some_and(|t| dst.get(lead).and_then(Entry::link) == Some(t));
            if planned.contains(&*e.rel)
                || planned.contains(lead)
                || there.is_none()
                || (target_links && !joined)
            {
                links.push(Action {
                    from: Some(lead.to_path_buf()),
                    ..Action::new(
                        ActionKind::HardLink,
                        e.rel.to_path_buf(),
                        e.size,
                        format!("a name of {}", lead.display()),
                    )
                });
            }
        }
        if links.is_empty() {
            return;
        }
        let linked: HashSet<&Path> = links.iter().map(|a| a.rel.as_path()).collect();
        self.copies.retain(|a| !linked.contains(a.rel.as_path()));
        self.metas.retain(|a| !linked.contains(a.rel.as_path()));
        for a in &links {
            self.touch_parents(&a.rel);
        }
        self.links = links;
    }

    fn fence(&mut self) {
        if self.fenced.is_empty() {
            return;
        }
        let fenced = std::mem::take(&mut self.fenced);
        let outside = |a: &Action| !fenced.iter().any(|f| a.rel.starts_with(f));
        for v in [
            &mut self.renames,
            &mut self.mkdirs,
            &mut self.copies,
            &mut self.links,
            &mut self.metas,
            &mut self.deletes,
        ] {
            v.retain(outside);
        }
        self.touched
            .retain(|d| !fenced.iter().any(|f| d.starts_with(f)));
    }

    /// Directory times: every touched source directory that still exists in the source, plus
    /// the root (""), bottom-up.
    fn dir_times(&mut self, src_scan: &crate::tree::scan::Scan, any_change: bool) -> Vec<Action> {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort();
        touched.dedup();
        let mut times: Vec<Action> = touched
            .into_iter()
            .filter(|d| {
                d.as_os_str().is_empty()
                    || src_scan.get(d).is_some_and(|e| e.kind == EntryKind::Dir)
            })
            .map(|rel| Action::new(ActionKind::SetDirTimes, rel, 0, "directory times"))
            .collect();
        if any_change && !times.iter().any(|a| a.rel.as_os_str().is_empty()) {
            times.push(Action::new(
                ActionKind::SetDirTimes,
                PathBuf::new(),
                0,
                "directory times",
            ));
        }
        times.sort_by(|a, b| {
            depth(&b.rel)
                .cmp(&depth(&a.rel))
                .then_with(|| b.rel.cmp(&a.rel))
        });
        times
    }
}

/// Large files (≥ 1 MiB) first, so a big file starts early and never leaves the other workers
/// idle at the end of the run. Small ones interleaved across directories (the first file of
/// every directory, then the second …), so parallel workers create and rename in different
/// directories instead of queueing on one directory's lock.
fn order_copies(mut copies: Vec<Action>) -> Vec<Action> {
    // The order is decided on small keys (16 bytes per copy, folders borrowed from the copies),
    // then the copies are moved into it in place: a plan of a million copies never holds a
    // second list of them.
    let mut order: Vec<(u64, u32, usize)> = {
        let mut rank_in_dir: std::collections::HashMap<&Path, u32> =
            std::collections::HashMap::new();
        copies
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let n = rank_in_dir
                    .entry(a.rel.parent().unwrap_or(Path::new("")))
                    .or_insert(0);
                *n += 1;
                let big = if a.size >= 1 << 20 { a.size } else { 0 };
                (big, *n, i)
            })
            .collect()
    };
    order.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(x.1.cmp(&y.1))
            .then_with(|| copies[x.2].rel.cmp(&copies[y.2].rel))
    });
    let mut from: Vec<usize> = order.into_iter().map(|k| k.2).collect();
    permute(&mut copies, &mut from);
    copies
}

/// Reorders `items` in place so that position `k` holds what was at `from[k]` (a permutation),
/// following each cycle with swaps; `from` is used up.
fn permute<T>(items: &mut [T], from: &mut [usize]) {
    const DONE: usize = usize::MAX;
    for start in 0..from.len() {
        if from[start] == DONE {
            continue;
        }
        let mut at = start;
        loop {
            let src = from[at];
            from[at] = DONE;
            if src == start {
                break;
            }
            items.swap(at, src);
            at = src;
        }
    }
}

fn depth(p: &Path) -> usize {
    p.components().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Criteria, Filter, compare_trees};
    use crate::{CancelToken, NullReporter};

    #[test]
    fn narrow_keeps_the_chosen_copies_and_deletes_and_replaces_a_type_only_when_chosen() {
        let d = tempfile::tempdir().unwrap();
        let (l, r) = (d.path().join("L"), d.path().join("R"));
        std::fs::create_dir_all(l.join("d")).unwrap();
        std::fs::create_dir_all(r.join("x")).unwrap();
        std::fs::write(l.join("d/a.txt"), "a").unwrap();
        std::fs::write(l.join("c.txt"), "c").unwrap();
        std::fs::write(l.join("x"), "a file where the right has a folder").unwrap();
        std::fs::write(r.join("b.txt"), "b").unwrap();
        std::fs::write(r.join("e.txt"), "e").unwrap();
        let f = Filter::new(&[], &[], None, false).unwrap();
        let cmp = compare_trees(
            &l,
            &r,
            &f,
            Criteria::parse("existence,size").unwrap(),
            std::time::Duration::from_millis(10),
            2,
            &NullReporter,
            &CancelToken::new(),
        );
        let opts = PlanOptions {
            delete: true,
            force: true,
            ..PlanOptions::new(Direction::LeftToRight)
        };
        let has = |p: &Plan, kind: ActionKind, rel: &str| {
            p.actions
                .iter()
                .any(|a| a.kind == kind && a.rel == Path::new(rel))
        };
        let mut p = Plan::build(&cmp, &opts).unwrap();
        p.narrow(
            &[PathBuf::from("d").join("a.txt")],
            &[PathBuf::from("b.txt")],
        );
        // Paths compare by components: "d/a.txt" is `d` + `a.txt` on Windows too.
        assert!(has(&p, ActionKind::Copy, "d/a.txt"), "{:?}", p.actions);
        assert!(has(&p, ActionKind::Mkdir, "d"), "{:?}", p.actions);
        assert!(has(&p, ActionKind::Delete, "b.txt"), "{:?}", p.actions);
        assert!(
            !p.actions.iter().any(|a| ["c.txt", "e.txt", "x"]
                .iter()
                .any(|n| a.rel == Path::new(n))),
            "{:?}",
            p.actions
        );
        // The folder in the way goes only when its replacement is chosen.
        let mut p = Plan::build(&cmp, &opts).unwrap();
        p.narrow(&[PathBuf::from("x")], &[]);
        assert!(has(&p, ActionKind::DeleteConflict, "x"), "{:?}", p.actions);
        assert!(has(&p, ActionKind::Copy, "x"), "{:?}", p.actions);
        assert!(
            !p.actions.iter().any(|a| a.kind == ActionKind::Delete),
            "{:?}",
            p.actions
        );
        let mut p = Plan::build(&cmp, &opts).unwrap();
        p.select(&[PathBuf::from("c.txt")]);
        assert!(!has(&p, ActionKind::DeleteConflict, "x"), "{:?}", p.actions);
    }

    #[test]
    fn permute_moves_each_item_to_its_place() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        // Position k gets what was at from[k]: two cycles and a fixed point.
        let mut from = vec![2, 0, 1, 3, 5, 4];
        permute(&mut items, &mut from);
        assert_eq!(items, vec!['c', 'a', 'b', 'd', 'f', 'e']);
    }
}

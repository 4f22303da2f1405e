//! Plan: from a [`Comparison`], the list of actions that makes the target side hold the source
//! side's version of every differing item. Nothing is written before the plan exists;
//! `--dry-run` prints it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Code, Error};
use crate::tree::compare::{Category, Comparison, Item};
use crate::tree::scan::{Entry, EntryKind};

/// Which way a sync goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LeftToRight,
    RightToLeft,
}

/// How the plan is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    pub direction: Direction,
    /// Also delete target-only items (mirror).
    pub delete: bool,
    /// Skip the mass-deletion guard.
    pub force: bool,
    /// Refuse to delete more than this share of the target's entries (see [`Plan::build`]).
    pub max_delete: f64,
    /// The target folds names (case-insensitive or normalising): source names that would fold
    /// into one are skipped, never copied over each other.
    pub target_folds_names: bool,
}

/// One step of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a directory.
    Mkdir,
    /// Copy a file that the target does not have.
    Copy,
    /// Replace the target's different version of a file.
    Replace,
    /// Create (or replace) a symbolic link, as a link.
    Symlink,
    /// Delete a target item whose type differs from the source's (a file where a folder goes),
    /// whole, before the source's item is created in its place (`--delete` only).
    DeleteConflict,
    /// Delete a target-only item (file, link or, once emptied, directory; `--delete` only).
    Delete,
    /// Apply a directory's times (last, bottom-up).
    SetDirTimes,
    /// The target already has this file (same size and times): check both by hash, copy it if
    /// they differ. A move plans one for every identical file, so its source can go.
    Check,
}

impl ActionKind {
    /// Every kind, in the order their phases run.
    pub const ALL: &'static [ActionKind] = &[
        ActionKind::DeleteConflict,
        ActionKind::Mkdir,
        ActionKind::Copy,
        ActionKind::Replace,
        ActionKind::Check,
        ActionKind::Symlink,
        ActionKind::Delete,
        ActionKind::SetDirTimes,
    ];

    /// The kind's stable name (plan output, `--json`, the journal).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Mkdir => "mkdir",
            ActionKind::Copy => "copy",
            ActionKind::Replace => "replace",
            ActionKind::Symlink => "symlink",
            ActionKind::DeleteConflict => "delete-conflict",
            ActionKind::Delete => "delete",
            ActionKind::SetDirTimes => "set-times",
            ActionKind::Check => "check",
        }
    }

    /// The kind named `s` (see [`ActionKind::as_str`]).
    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether the action copies (or checks) a file through the per-file engine.
    pub fn is_file(self) -> bool {
        matches!(
            self,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Check
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub rel: PathBuf,
    /// Bytes to copy (files), else 0.
    pub size: u64,
    /// Why (the differences, or "left-only" …).
    pub reason: String,
}

/// An item the plan leaves alone, and why (a type conflict without `--delete`, a FIFO …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skip {
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub rel: PathBuf,
    pub reason: String,
}

/// A serialisable plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub source_root: PathBuf,
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub target_root: PathBuf,
    pub direction: Direction,
    /// Grouped by kind in the order their phases run: type-conflict deletes, mkdirs (top-down),
    /// copies, checks and links, other deletes (deepest first), directory times (bottom-up). An
    /// action's index is its sequence number in the journal and in its temp's name.
    pub actions: Vec<Action>,
    pub skipped: Vec<Skip>,
}

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
    pub fn build_move(cmp: &Comparison, opts: &PlanOptions) -> Result<Plan, Error> {
        Plan::build_inner(cmp, opts, true)
    }

    fn build_inner(cmp: &Comparison, opts: &PlanOptions, check_same: bool) -> Result<Plan, Error> {
        let (src_root, dst_root) = match opts.direction {
            Direction::LeftToRight => (&cmp.left.root, &cmp.right.root),
            Direction::RightToLeft => (&cmp.right.root, &cmp.left.root),
        };
        let sides = |it: &Item| -> (Option<&Entry>, Option<&Entry>) {
            match opts.direction {
                Direction::LeftToRight => (cmp.left_entry(it), cmp.right_entry(it)),
                Direction::RightToLeft => (cmp.right_entry(it), cmp.left_entry(it)),
            }
        };
        let (mut pre_deletes, mut mkdirs, mut copies, mut deletes, mut skipped) =
            (vec![], vec![], vec![], vec![], vec![]);
        // Directories whose contents change or that differ themselves get their times re-applied.
        let mut touched_dirs: Vec<PathBuf> = Vec::new();
        let touch_parent = |rel: &Path, v: &mut Vec<PathBuf>| {
            let mut p = rel.parent();
            while let Some(d) = p {
                v.push(d.to_path_buf());
                p = d.parent();
            }
        };
        for it in &cmp.items {
            if it.category == Category::Same {
                if check_same
                    && let (Some(s), Some(_)) = sides(it)
                    && s.kind == EntryKind::File
                {
                    copies.push(Action {
                        kind: ActionKind::Check,
                        rel: cmp.rel(it).to_path_buf(),
                        size: s.size,
                        reason: "same size and times: checked by hash".into(),
                    });
                }
                continue;
            }
            let rel = cmp.rel(it).to_path_buf();
            let (src, dst) = sides(it);
            let reason = match it.category {
                Category::LeftOnly | Category::RightOnly => "missing on the target".to_string(),
                _ => it.diffs.names().join(","),
            };
            let create = |e: &Entry, replace: bool| -> Option<Action> {
                let kind = match e.kind {
                    EntryKind::Dir => ActionKind::Mkdir,
                    EntryKind::File if replace => ActionKind::Replace,
                    EntryKind::File => ActionKind::Copy,
                    EntryKind::Symlink => ActionKind::Symlink,
                    EntryKind::Special => return None,
                };
                Some(Action {
                    kind,
                    rel: rel.clone(),
                    size: e.size,
                    reason: reason.clone(),
                })
            };
            match (src, dst) {
                (Some(s), None) => match create(s, false) {
                    Some(a) if a.kind == ActionKind::Mkdir => {
                        touch_parent(&rel, &mut touched_dirs);
                        touched_dirs.push(rel.clone());
                        mkdirs.push(a)
                    }
                    Some(a) => {
                        touch_parent(&rel, &mut touched_dirs);
                        copies.push(a)
                    }
                    None => skipped.push(Skip {
                        rel,
                        reason: "a FIFO, socket or device: not copied".into(),
                    }),
                },
                (Some(s), Some(d)) if s.kind != d.kind => {
                    if s.kind == EntryKind::Special {
                        skipped.push(Skip {
                            rel,
                            reason: "a FIFO, socket or device: not copied".into(),
                        });
                    } else if !opts.delete {
                        skipped.push(Skip {
                            rel,
                            reason: format!(
                                "type conflict ({:?} vs {:?}): run with --delete to replace it",
                                s.kind, d.kind
                            ),
                        });
                    } else {
                        touch_parent(&rel, &mut touched_dirs);
                        pre_deletes.push(Action {
                            kind: ActionKind::DeleteConflict,
                            rel: rel.clone(),
                            size: 0,
                            reason: "type conflict".into(),
                        });
                        if let Some(a) = create(s, false) {
                            if a.kind == ActionKind::Mkdir {
                                touched_dirs.push(rel.clone());
                                mkdirs.push(a);
                            } else {
                                copies.push(a);
                            }
                        }
                    }
                }
                (Some(s), Some(_)) => match s.kind {
                    EntryKind::Dir => touched_dirs.push(rel.clone()),
                    EntryKind::Special => skipped.push(Skip {
                        rel,
                        reason: "a FIFO, socket or device: not copied".into(),
                    }),
                    _ => {
                        touch_parent(&rel, &mut touched_dirs);
                        copies.extend(create(s, true));
                    }
                },
                (None, Some(_)) => {
                    if opts.delete {
                        touch_parent(&rel, &mut touched_dirs);
                        deletes.push(Action {
                            kind: ActionKind::Delete,
                            rel,
                            size: 0,
                            reason: "not in the source".into(),
                        });
                    }
                }
                (None, None) => {}
            }
        }
        // Deleting a directory deletes what is below it first: all of it is target-only too.
        deletes.sort_by(|a, b| {
            depth(&b.rel)
                .cmp(&depth(&a.rel))
                .then_with(|| b.rel.cmp(&a.rel))
        });
        // A type-conflict delete of a directory takes its target-only contents with it.
        let target_total = match opts.direction {
            Direction::LeftToRight => cmp.right.entries.len(),
            Direction::RightToLeft => cmp.left.entries.len(),
        };
        let n_del = deletes.len() + pre_deletes.len();
        if opts.delete
            && !opts.force
            && n_del > 10
            && n_del as f64 > opts.max_delete * target_total as f64
        {
            return Err(Error::new(
                Code::PlanMassDelete,
                dst_root,
                format!(
                    "the plan deletes {n_del} of the target's {target_total} entries, more than max_delete={:.0}%",
                    opts.max_delete * 100.0
                ),
            ));
        }
        // Directory times: every touched source directory that still exists in the source, plus
        // the root (""), bottom-up.
        touched_dirs.sort();
        touched_dirs.dedup();
        let src_scan = match opts.direction {
            Direction::LeftToRight => &cmp.left,
            Direction::RightToLeft => &cmp.right,
        };
        let mut times: Vec<Action> = touched_dirs
            .into_iter()
            .filter(|d| {
                d.as_os_str().is_empty()
                    || src_scan.get(d).is_some_and(|e| e.kind == EntryKind::Dir)
            })
            .map(|rel| Action {
                kind: ActionKind::SetDirTimes,
                rel,
                size: 0,
                reason: "directory times".into(),
            })
            .collect();
        if !times.iter().any(|a| a.rel.as_os_str().is_empty())
            && cmp.items.iter().any(|i| i.category != Category::Same)
        {
            times.push(Action {
                kind: ActionKind::SetDirTimes,
                rel: PathBuf::new(),
                size: 0,
                reason: "directory times".into(),
            });
        }
        times.sort_by(|a, b| {
            depth(&b.rel)
                .cmp(&depth(&a.rel))
                .then_with(|| b.rel.cmp(&a.rel))
        });
        // Large files (≥ 1 MiB) first, so a big file starts early and never leaves the other
        // workers idle at the end of the run. Small ones interleaved across directories (the
        // first file of every directory, then the second …), so parallel workers create and
        // rename in different directories instead of queueing on one directory's lock.
        let mut rank_in_dir: std::collections::HashMap<PathBuf, usize> =
            std::collections::HashMap::new();
        let mut keyed: Vec<(u64, usize, Action)> = copies
            .into_iter()
            .map(|a| {
                let n = rank_in_dir
                    .entry(a.rel.parent().map(Path::to_path_buf).unwrap_or_default())
                    .or_insert(0);
                *n += 1;
                let big = if a.size >= 1 << 20 { a.size } else { 0 };
                (big, *n, a)
            })
            .collect();
        keyed.sort_by(|x, y| {
            y.0.cmp(&x.0)
                .then(x.1.cmp(&y.1))
                .then_with(|| x.2.rel.cmp(&y.2.rel))
        });
        let mut copies: Vec<Action> = keyed.into_iter().map(|k| k.2).collect();

        // Twins (a.txt / A.txt, NFC / NFD) from the source onto a target that folds names: copying
        // both would silently overwrite one with the other. All of them are skipped and reported.
        if opts.target_folds_names {
            let mut doomed: Vec<PathBuf> = Vec::new();
            for t in &cmp.twins {
                let from_source: Vec<&PathBuf> = t
                    .paths
                    .iter()
                    .filter(|p| src_scan.get(p).is_some())
                    .collect();
                if from_source.len() > 1 {
                    for p in from_source {
                        skipped.push(Skip {
                            rel: p.clone(),
                            reason: "the target folder ignores case or normalises names, and another source name folds to this one: not copied, so neither overwrites the other".into(),
                        });
                        doomed.push(p.clone());
                    }
                }
            }
            if !doomed.is_empty() {
                copies.retain(|a| !doomed.iter().any(|d| a.rel.starts_with(d)));
                mkdirs.retain(|a| !doomed.iter().any(|d| a.rel.starts_with(d)));
            }
        }
        let mut actions = pre_deletes;
        actions.extend(mkdirs);
        actions.extend(copies);
        actions.extend(deletes);
        actions.extend(times);
        Ok(Plan {
            source_root: src_root.clone(),
            target_root: dst_root.clone(),
            direction: opts.direction,
            actions,
            skipped,
        })
    }

    /// A plan that does nothing.
    pub fn empty(source_root: &Path, target_root: &Path) -> Plan {
        Plan {
            source_root: source_root.to_path_buf(),
            target_root: target_root.to_path_buf(),
            direction: Direction::LeftToRight,
            actions: Vec::new(),
            skipped: Vec::new(),
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
        let wanted: HashSet<&Path> = items.iter().map(PathBuf::as_path).collect();
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
            ActionKind::Copy | ActionKind::Replace | ActionKind::Symlink | ActionKind::Check => {
                wanted.contains(a.rel.as_path())
            }
            ActionKind::Delete | ActionKind::DeleteConflict => false,
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

fn depth(p: &Path) -> usize {
    p.components().count()
}

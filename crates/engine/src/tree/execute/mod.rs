//! Execute a [`Plan`], one phase per kind of action: type-conflict deletes, folders (top-down),
//! files and links on a worker pool through the per-file engine (strategy, verify, atomic
//! commit), the other deletes (deepest first), the folders' durability, and folder times last,
//! bottom-up (setting them first would let every later write inside a folder move them again).
//! A move then removes the source folders it emptied.
//!
//! Durability (`durability`): **full** fsyncs each file's temp before its rename; **batch**
//! copies small files into their temps (no fsync yet) and makes a batch of them durable with one
//! `syncfs`, then verifies each — read back from the medium — and renames it (large files and
//! network targets are fsynced one by one so they never hold a batch up; where the OS has no
//! `syncfs`, each temp is fsynced). Either way the renames are made durable per group of results
//! (one `syncfs`, or one fsync per directory) before the journal records those files as
//! committed, and a move deletes their sources only after that. Every file is still atomic (its
//! rename follows its own durable, verified data) and a failed sync discards what it covered (I7).
//! **none** syncs nothing (benchmarks).

mod budget;
mod commit;
mod dirs;
mod ops;
mod transfer;

pub(crate) use dirs::Dirs;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::copy::Copier;
use crate::error::{Code, Error};
use crate::events::Event;
use crate::manifest::Manifest;
use crate::settings::{DeleteMode, Durability};
use crate::stamp::SourceStamp;
use crate::summary::Summary;
use crate::tree::journal::Journal;
use crate::tree::plan::{Action, ActionKind, Plan};

/// One filesystem sync flushes every program's unwritten data on that filesystem, not only
/// ours: when more than this much (and more than four times our own) is waiting besides ours,
/// the run fsyncs file by file and folder by folder instead, so it does not wait for someone
/// else's gigabytes.
const OTHERS_DIRTY_MAX: u64 = 256 << 20;

/// What an earlier attempt of the same run already did for one action (a resume); a fresh run
/// has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Prior {
    /// Nothing is known: do it.
    #[default]
    Fresh,
    /// Not journaled as committed, yet the target may hold it (an interrupted run may have
    /// renamed it into place without journaling it): compare both by hash before copying —
    /// never trust size and times for what the journal does not call committed.
    Unconfirmed,
    /// A move's copy journaled as committed whose source was not journaled as deleted: if the
    /// source is gone, the move deleted it just before the interruption; else as `Unconfirmed`.
    CommittedSourceKept,
    /// Finished by the earlier attempt: nothing to do.
    Done,
}

/// How a plan is executed beyond its actions: the journal, move semantics, a manifest, and what
/// an earlier attempt of the same run already did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecOptions<'a> {
    /// Parallel file workers.
    pub workers: usize,
    /// Where deleted items go.
    pub delete_mode: DeleteMode,
    /// Results are journaled here, in batches, each after its files are durable.
    pub journal: Option<&'a Journal>,
    /// A move: each source file or link is deleted once its copy is verified, durable and
    /// journaled as committed, and only if it did not change since it was copied.
    pub move_sources: bool,
    /// Hashes of the files copied (or found identical) are written here.
    pub manifest: Option<&'a Manifest>,
    /// One per action of the plan (a resume), or empty (a fresh run).
    pub prior: &'a [Prior],
    /// A download: the source is remote storage (see [`RemoteSource`]).
    pub remote_source: Option<RemoteSource<'a>>,
}

/// The source of a download: the store its files are read from, and the modified times its
/// listing gave its files (for objects whose own metadata keeps none) and folders (SFTP). A
/// download copies files and makes folders; links on the server are not followed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemoteSource<'a> {
    pub store: &'a dyn crate::remote::Store,
    pub times: &'a HashMap<PathBuf, std::time::SystemTime>,
}

impl<'a> ExecOptions<'a> {
    /// A fresh run without journal, move or manifest.
    pub fn new(workers: usize, delete_mode: DeleteMode) -> ExecOptions<'a> {
        ExecOptions {
            workers,
            delete_mode,
            journal: None,
            move_sources: false,
            manifest: None,
            prior: &[],
            remote_source: None,
        }
    }

    fn prior(&self, seq: usize) -> Prior {
        self.prior.get(seq).copied().unwrap_or_default()
    }
}

/// Runs `plan` with `copier`: see the module comment and [`ExecOptions`].
pub(crate) fn execute(plan: &Plan, copier: &Copier, opts: &ExecOptions) -> Summary {
    let mut sum = Summary {
        skipped: plan.skipped.len() as u64,
        ..Summary::default()
    };
    // Every write goes through folders opened beneath the roots (DESIGN.md §9). Roots that
    // cannot be opened leave nothing to do but say why.
    let src = match opts.remote_source {
        Some(_) => Ok(None),
        None => Dirs::open(&plan.source_root).map(Some),
    };
    let (dst, src) = match (Dirs::open(&plan.target_root), src) {
        (Ok(d), Ok(s)) => (d, s),
        // A move resumed after its source was emptied and removed has no source left.
        (Ok(d), Err(_)) if opts.move_sources => (d, None),
        (Err(e), _) | (_, Err(e)) => {
            sum.fail(&e);
            copier.reporter().report(&Event::RunFinished {
                summary: sum.clone(),
            });
            return sum;
        }
    };
    let ex = Executor {
        plan,
        copier,
        opts,
        dst,
        src: Mutex::new(src.map(Arc::new)),
        sum: Mutex::new(sum),
        touched: Mutex::new(BTreeSet::new()),
        failed: Mutex::new(HashSet::new()),
        started: Instant::now(),
    };
    ex.announce();
    ex.report_refusals();
    ex.clear_conflicts();
    ex.rename();
    ex.make_dirs();
    let halted = ex.transfer();
    if !halted {
        ex.link_names();
        ex.update_metadata();
        ex.delete_extras();
    }
    ex.sync_touched_dirs();
    if !halted {
        ex.apply_dir_metadata();
        ex.remove_moved_dirs();
    }
    ex.finish()
}

/// One execution of a plan: the phases share the summary and the set of target folders whose
/// entries changed (each fsynced once at the end).
struct Executor<'a> {
    plan: &'a Plan,
    copier: &'a Copier,
    opts: &'a ExecOptions<'a>,
    /// The target's folders, opened beneath its root.
    dst: Dirs,
    /// The source's folders (a move deletes through them), if the source still exists; taken
    /// (closed) before a move removes the folders it emptied.
    src: Mutex<Option<Arc<Dirs>>>,
    sum: Mutex<Summary>,
    /// Target folders (relative) whose entries changed.
    touched: Mutex<BTreeSet<PathBuf>>,
    /// The file actions that failed, by sequence number: their other names are not linked.
    failed: Mutex<HashSet<usize>>,
    started: Instant,
}

impl<'a> Executor<'a> {
    /// The actions of `kind`, in plan order, with their sequence numbers (journal rows, temp
    /// names).
    fn actions(&self, kind: ActionKind) -> impl Iterator<Item = (usize, &'a Action)> + 'a {
        self.plan
            .actions
            .iter()
            .enumerate()
            .filter(move |(_, a)| a.kind == kind)
    }

    fn src(&self, rel: &Path) -> PathBuf {
        self.plan.source_root.join(rel)
    }

    fn dst(&self, rel: &Path) -> PathBuf {
        self.dst.path(rel)
    }

    /// The source item `rel` as its folder beneath the source root sees it; `Err` when it cannot
    /// be reached that way (gone, or behind a symbolic link: then it lies outside the source
    /// folder, and a move never deletes it).
    fn source_entry(&self, rel: &Path) -> Result<(Arc<fsops::Dir>, fsops::EntryStat), Error> {
        let src = self
            .src
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                Error::new(
                    Code::MoveSourceKept,
                    self.src(rel),
                    "the source folder is gone",
                )
            })?;
        let (dir, name) = src.parent_of(rel)?;
        let st = dir.stat(name).map_err(|e| src.error(rel, e))?;
        Ok((dir, st))
    }

    /// The stamp a move holds its source to (before the copy, and again before the delete).
    fn source_stamp(&self, rel: &Path) -> Option<SourceStamp> {
        self.source_entry(rel)
            .ok()
            .map(|(_, st)| SourceStamp::of_entry(&st))
    }

    fn summary(&self) -> std::sync::MutexGuard<'_, Summary> {
        self.sum.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, e: &Error) {
        self.summary().fail(e);
    }

    fn cancelled(&self) -> bool {
        self.copier.cancel_token().is_cancelled()
    }

    fn durable(&self) -> bool {
        self.copier.settings().durability != Durability::None
    }

    /// Other programs' unwritten bytes, when there are too many of them for one filesystem
    /// sync on behalf of `ours` bytes to be cheap (see [`OTHERS_DIRTY_MAX`]).
    fn others_dirty(&self, ours: u64) -> Option<u64> {
        #[cfg(feature = "test-hooks")]
        if let Some(others) = self.copier.hooks.others_dirty {
            return Some(others);
        }
        let others = fsops::dirty_bytes()?.saturating_sub(ours);
        (others > OTHERS_DIRTY_MAX && others > ours.saturating_mul(4)).then_some(others)
    }

    /// Makes every rename, unlink and new folder in the target durable with one filesystem
    /// sync, where the OS has one and no one else's gigabytes would wait in it; `false` when
    /// the caller is to fsync its folders one by one instead. On a filesystem without a
    /// journal each folder fsync is a device flush of its own (the 200 folders of a 20,000-file
    /// copy: 1.89 s → 1.75 s with one sync); with a journal the two cost the same.
    fn sync_target_fs(&self) -> bool {
        self.others_dirty(0).is_none()
            && matches!(fsops::sync_filesystem(&self.plan.target_root), Ok(true))
    }

    /// Records that the folder holding `rel` changed (a rename or an unlink in it).
    fn touch(&self, rel: &Path) {
        let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir);
    }

    /// Tells the front end how much the run will copy.
    fn announce(&self) {
        let (files, bytes) = self
            .plan
            .actions
            .iter()
            .enumerate()
            .filter(|(k, a)| a.kind.is_file() && self.opts.prior(*k) != Prior::Done)
            .fold((0, 0), |(n, b), (_, a)| (n + 1, b + a.size));
        self.copier.reporter().report(&Event::RunStarted {
            actions: self.plan.actions.len() as u64,
            files,
            bytes,
        });
    }

    /// Items the plan refused to touch for a reason that is an error (two source names the
    /// target would merge, a symbolic link in the way) count as failed.
    fn report_refusals(&self) {
        for s in &self.plan.skipped {
            if let Some(code) = s.code {
                // A link in the target's way is about the target; two source names the
                // target would merge are about the source.
                let path = match code {
                    Code::TreeSymlinkInPath => self.dst(&s.rel),
                    _ => self.src(&s.rel),
                };
                self.fail(&Error::new(code, &path, s.reason.clone()));
            }
        }
    }

    /// Phase 1: target items whose type differs from the source's (a file where a folder goes)
    /// are deleted, whole, before the source's item is created in their place.
    fn clear_conflicts(&self) {
        for (_, a) in self.actions(ActionKind::DeleteConflict) {
            match ops::delete(&self.dst, &a.rel, self.opts.delete_mode, true) {
                Ok(true) => {
                    self.summary().deleted += 1;
                    self.touch(&a.rel);
                }
                Ok(false) => {}
                Err(e) => self.fail(&e),
            }
        }
    }

    /// Phase 2: on a target that folds names, items whose name differs from the source's only
    /// by case or normalisation are renamed in place (parents first), never copied and then
    /// deleted under the other spelling — which would be the same file.
    fn rename(&self) {
        for (_, a) in self.actions(ActionKind::Rename) {
            if self.cancelled() {
                break;
            }
            let Some(from) = &a.from else { continue };
            match ops::rename(
                &self.dst,
                from,
                &a.rel,
                self.copier.run_tag(),
                self.plan.capabilities.folder_renames,
            ) {
                Ok(()) => {
                    self.summary().renamed += 1;
                    self.touch(&a.rel);
                }
                Err(e) => self.fail(&e),
            }
        }
    }

    /// Phase 3: folders, parents first. Before files are journaled as committed in them, the
    /// new folders must be durable.
    fn make_dirs(&self) {
        for (_, a) in self.actions(ActionKind::Mkdir) {
            if self.cancelled() {
                break;
            }
            if let Err(e) = self.make_dir(&a.rel) {
                self.fail(&e);
            }
        }
        if self.durable() && self.opts.journal.is_some() {
            let touched = self
                .touched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if touched.is_empty() || self.sync_target_fs() {
                return;
            }
            for rel in touched {
                if let Ok(d) = self.dst.get(&rel) {
                    let _ = d.sync();
                }
            }
        }
    }

    fn make_dir(&self, rel: &Path) -> Result<(), Error> {
        let (dir, name) = self.dst.parent_of(rel)?;
        match dir.create_dir(name) {
            Ok(()) => {
                self.summary().dirs_created += 1;
                self.touch(rel);
                Ok(())
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && dir
                        .stat(name)
                        .is_ok_and(|st| st.kind == fsops::EntryType::Dir) =>
            {
                Ok(())
            }
            Err(e) => Err(
                crate::copy::name_error(&e, &self.dst(rel)).unwrap_or_else(|| {
                    Error::io(
                        Code::TreeMkdir,
                        &self.dst(rel),
                        "cannot create the directory",
                        e,
                    )
                }),
            ),
        }
    }

    /// Phase 4: files and links, in parallel (see [`transfer`]). Returns whether the run halted
    /// (cancelled, or the journal failed): later phases that change the target are skipped.
    fn transfer(&self) -> bool {
        transfer::run(self)
    }

    /// Phase 4b: the other names of hard-linked source files (`-H`), made names of their first
    /// name's target once it is in place. Where that fails (a target without hard links, a first
    /// name that failed) the name is copied as a file of its own and the run says hard links were
    /// not kept.
    fn link_names(&self) {
        let links: Vec<_> = self.actions(ActionKind::HardLink).collect();
        if links.is_empty() {
            return;
        }
        let files: HashMap<&Path, usize> = self
            .plan
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind.is_file())
            .map(|(seq, a)| (a.rel.as_path(), seq))
            .collect();
        let failed = std::mem::take(&mut *self.failed.lock().unwrap_or_else(|e| e.into_inner()));
        for (seq, a) in links {
            if self.cancelled() {
                break;
            }
            let Some(lead) = a.from.as_deref() else {
                continue;
            };
            let linked = if files.get(lead).is_some_and(|s| failed.contains(s)) {
                Err(std::io::Error::other(format!(
                    "its first name '{}' was not copied",
                    lead.display()
                )))
            } else {
                ops::hard_link(&self.dst, lead, &a.rel, self.copier)
            };
            match linked {
                Ok(made) => {
                    if made {
                        self.summary().hard_linked += 1;
                        self.touch(&a.rel);
                    }
                }
                Err(e) => {
                    self.copier
                        .lost()
                        .note(crate::meta::MetaKind::HardLinks, &e);
                    self.copy_alone(seq, &a.rel);
                }
            }
        }
    }

    /// A file copied on its own through the per-file engine, outside the file phase (a hard
    /// link that could not be made).
    fn copy_alone(&self, seq: usize, rel: &Path) {
        let copied = self.dst.target(rel).and_then(|t| {
            let file = self.copier.prepare_file_at(&self.src(rel), &t, Some(seq))?;
            self.copier.commit_file(file, !self.durable())
        });
        match copied {
            Ok(r) => {
                self.summary().count_copy(&r);
                self.touch(rel);
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Phase 5: the source's owner, attributes and permissions onto target files whose content is
    /// the same: no copy.
    fn update_metadata(&self) {
        if self.opts.remote_source.is_some() {
            // Remote storage keeps no permissions to compare or apply.
            return;
        }
        for (_, a) in self.actions(ActionKind::UpdateMeta) {
            if self.cancelled() {
                break;
            }
            match ops::update_metadata(&self.src(&a.rel), &self.dst, &a.rel, self.copier) {
                Ok(()) => self.summary().metadata_updated += 1,
                Err(e) => self.fail(&e),
            }
        }
    }

    /// Phase 6: target-only items, deepest first.
    fn delete_extras(&self) {
        for (_, a) in self.actions(ActionKind::Delete) {
            if self.cancelled() {
                break;
            }
            match ops::delete(&self.dst, &a.rel, self.opts.delete_mode, false) {
                Ok(true) => {
                    self.summary().deleted += 1;
                    self.touch(&a.rel);
                    self.copier.reporter().report(&Event::Deleted {
                        path: self.dst(&a.rel),
                        mode: self.opts.delete_mode,
                    });
                }
                Ok(false) => {}
                Err(e) => self.fail(&e),
            }
        }
    }

    /// Phase 7: every rename, unlink and new folder made durable: one filesystem sync
    /// ([`Self::sync_target_fs`]), else one fsync per touched folder.
    fn sync_touched_dirs(&self) {
        if !self.durable() {
            return;
        }
        let dirs = std::mem::take(&mut *self.touched.lock().unwrap_or_else(|e| e.into_inner()));
        if dirs.is_empty() || self.sync_target_fs() {
            return;
        }
        for rel in dirs {
            let synced = match self.dst.get(&rel) {
                Ok(d) => d.sync().map_err(|e| (rel.clone(), e)),
                // A folder deleted later in the run: its removal is made durable by its
                // parent's fsync (the parent is touched by that delete).
                Err(_) => Ok(()),
            };
            if let Err((rel, e)) = synced {
                self.fail(&Error::io(
                    Code::FinalizeDirSync,
                    &self.dst(&rel),
                    "fsync of the directory failed",
                    e,
                ));
            }
        }
    }

    /// Phase 8: folder times and permissions, bottom-up, last.
    fn apply_dir_metadata(&self) {
        if let Some(remote) = self.opts.remote_source {
            // A download's folders: the listing's times where the server keeps them (SFTP).
            if !self.copier.settings().preserve_times {
                return;
            }
            for (_, a) in self.actions(ActionKind::SetDirTimes) {
                let Some(&t) = remote.times.get(&a.rel) else {
                    continue;
                };
                if let Err(e) = ops::set_dir_time(&self.dst, &a.rel, t) {
                    self.fail(&e);
                }
            }
            return;
        }
        for (_, a) in self.actions(ActionKind::SetDirTimes) {
            if self.cancelled() {
                break;
            }
            let src = self.src(&a.rel);
            // A resumed move may already have removed this emptied source folder (after its
            // times were applied): nothing left to do.
            if self.opts.move_sources && !src.exists() {
                continue;
            }
            if let Err(e) = ops::copy_dir_metadata(&src, &self.dst, &a.rel, self.copier) {
                self.fail(&e);
            }
        }
    }

    /// Phase 9: a move removes the source folders it emptied, deepest first.
    fn remove_moved_dirs(&self) {
        if self.opts.move_sources && !self.cancelled() {
            // Every handle of the source is closed first: Windows refuses to remove a folder
            // someone holds open.
            drop(self.src.lock().unwrap_or_else(|e| e.into_inner()).take());
            ops::remove_empty_dirs(&self.plan.source_root, self.durable());
        }
    }

    fn finish(self) -> Summary {
        let cancelled = self.cancelled();
        // What the run could not keep: one notice per kind; a failure where it was asked for.
        for nk in self.copier.lost().drain() {
            if let Some(e) = self.copier.report_not_kept(&nk, &self.plan.target_root) {
                self.fail(&e);
            }
            self.summary().not_kept.push(nk);
        }
        let mut sum = self.sum.into_inner().unwrap_or_else(|e| e.into_inner());
        sum.cancelled |= cancelled;
        sum.elapsed_ms = self.started.elapsed().as_millis() as u64;
        self.copier.reporter().report(&Event::RunFinished {
            summary: sum.clone(),
        });
        sum
    }
}

//! Execute a [`Plan`]: deletes forced by type conflicts, directories (top-down), then files on a
//! worker pool through the per-file engine (strategy, verify, atomic commit), symlinks, the other
//! deletes (deepest first), and directory times last, bottom-up (setting them first would let
//! every later write inside the directory move them again).
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

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::copy::{Copier, FileReport, PendingFile};
use crate::error::{Code, Error};
use crate::events::{CancelToken, Event};
use crate::hash::hash_path;
use crate::journal::{ItemState, ItemUpdate, Journal, SourceStamp};
use crate::manifest::Manifest;
use crate::settings::{DeleteMode, Durability};
use crate::strategy::Strategy;
use crate::tree::plan::{ActionKind, Plan};

/// Files pending in the current batch (copied into temps, waiting for one filesystem sync).
#[derive(Default)]
struct Batch {
    files: Vec<BatchFile>,
    bytes: u64,
}

/// A pending file of a batch: its action's index, path, source stamp (moves) and temp.
type BatchFile = (usize, PathBuf, Option<SourceStamp>, PendingFile);

/// A batch is synced when it holds this many files or bytes (each pending file holds two open
/// descriptors, so the file count also bounds descriptor use)…
const BATCH_FILES: usize = 128;
const BATCH_BYTES: u64 = 64 << 20;
/// …and only files up to this size wait for a batch.
const BATCH_MAX_FILE: u64 = 8 << 20;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub copied: u64,
    pub verified: u64,
    pub skipped: u64,
    pub failed: u64,
    pub deleted: u64,
    pub dirs_created: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub direct_small: u64,
    pub direct_large: u64,
    pub staged: u64,
    /// Files the target already held, proven identical by hash (a move, a resume).
    pub already_present: u64,
    /// Source files and links a move deleted.
    pub sources_deleted: u64,
    pub cancelled: bool,
    pub errors: Vec<FailedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedItem {
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub path: PathBuf,
    pub code: Code,
    pub message: String,
}

impl Summary {
    /// How the run ends in its journal: `cancelled` stays resumable; `failed` and `done` ran to
    /// their end.
    pub fn journal_state(&self) -> &'static str {
        if self.cancelled {
            "cancelled"
        } else if self.failed > 0 {
            "failed"
        } else {
            "done"
        }
    }

    fn fail(&mut self, e: &Error) {
        self.failed += 1;
        self.errors.push(FailedItem {
            path: e.path.clone(),
            code: e.code,
            message: e.to_string(),
        });
    }
}

/// How a plan is executed beyond its actions: the journal, move semantics, a manifest, and what
/// an earlier attempt of the same run already did (resume).
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions<'a> {
    pub workers: usize,
    pub delete_mode: DeleteMode,
    /// Results are journaled here, in batches, each after its files are durable.
    pub journal: Option<&'a Journal>,
    /// A move: each source file or link is deleted once its copy is verified, durable and
    /// journaled as committed, and only if it did not change since it was copied.
    pub move_sources: bool,
    /// Hashes of the files copied (or found identical) are written here.
    pub manifest: Option<&'a Manifest>,
    /// Per action (by index): already done by an earlier attempt of this run.
    pub done: Option<&'a [bool]>,
    /// Per action: the target may already hold this file (an interrupted run may have renamed it
    /// into place without journaling it): compare both by hash before copying — never trust
    /// size and times for what the journal does not call committed.
    pub check_existing: Option<&'a [bool]>,
    /// Per action: journaled as committed by an earlier attempt (a move resumed before its
    /// source was deleted, or after the delete but before that was journaled).
    pub committed: Option<&'a [bool]>,
}

impl<'a> ExecOptions<'a> {
    pub fn new(workers: usize, delete_mode: DeleteMode) -> ExecOptions<'a> {
        ExecOptions {
            workers,
            delete_mode,
            journal: None,
            move_sources: false,
            manifest: None,
            done: None,
            check_existing: None,
            committed: None,
        }
    }
}

/// Runs `plan` with `copier` on `workers` threads (no journal, no move).
pub fn execute(plan: &Plan, copier: &Copier, workers: usize, delete_mode: DeleteMode) -> Summary {
    execute_with(plan, copier, &ExecOptions::new(workers, delete_mode))
}

/// A file or link that reached its end in this run, waiting to be journaled.
struct Finished {
    seq: usize,
    rel: PathBuf,
    is_link: bool,
    /// `None`: it succeeded (committed, or found identical).
    error: Option<String>,
    hash: Option<String>,
    strategy: Option<String>,
    method: Option<String>,
    verified: bool,
    ms: u64,
    /// The source as it was before the copy (moves only).
    stamp: Option<SourceStamp>,
}

/// Results are journaled in batches of this many, or at least this often.
const JOURNAL_BATCH: usize = 512;
const JOURNAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1000);

/// Journals finished files in batches, after making them durable; then (a move) deletes their
/// sources; then writes their manifest lines.
struct Committer<'a> {
    opts: &'a ExecOptions<'a>,
    copier: &'a Copier,
    src_root: &'a Path,
    dst_root: &'a Path,
    pending: Mutex<(Vec<Finished>, Instant)>,
    flushing: Mutex<()>,
    /// A journal write failed: the run stops before touching another file.
    stopped: AtomicBool,
    sum: &'a Mutex<Summary>,
}

impl Committer<'_> {
    fn push(&self, f: Finished) {
        let due = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.0.push(f);
            p.0.len() >= JOURNAL_BATCH || p.1.elapsed() >= JOURNAL_INTERVAL
        };
        if due {
            self.flush();
        }
    }

    fn fail(&self, e: &Error) {
        self.sum.lock().unwrap_or_else(|e| e.into_inner()).fail(e);
    }

    fn flush(&self) {
        let _one_at_a_time = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.1 = Instant::now();
            std::mem::take(&mut p.0)
        };
        if batch.is_empty() {
            return;
        }
        let durability = self.copier.settings().durability;
        // 1. The renames become durable before the journal may call them committed (I3): one
        //    filesystem sync where the OS has it (on ext4 any fsync commits the whole journal
        //    transaction, so one `syncfs` costs what one directory fsync does), else one fsync
        //    per directory. Coalesced per batch rather than per file: a file renamed but not yet
        //    durable is not journaled, so a resume checks it by hash.
        if durability != Durability::None {
            let ok = |f: &&mut Finished| f.error.is_none();
            let dirs: BTreeSet<PathBuf> = batch
                .iter_mut()
                .filter(ok)
                .map(|f| self.dst_root.join(f.rel.parent().unwrap_or(Path::new(""))))
                .collect();
            let synced =
                !dirs.is_empty() && matches!(fsops::sync_filesystem(self.dst_root), Ok(true));
            for dir in dirs.iter().filter(|_| !synced) {
                if let Err(e) = fsops::sync_dir(dir) {
                    let err = Error::io(
                        Code::FinalizeDirSync,
                        dir,
                        "fsync of the directory failed after the rename",
                        e,
                    );
                    self.fail(&err);
                    for f in batch.iter_mut().filter(|f| {
                        f.error.is_none()
                            && self.dst_root.join(f.rel.parent().unwrap_or(Path::new(""))) == *dir
                    }) {
                        f.error = Some(err.to_string());
                    }
                }
            }
        }
        // 2. The journal.
        if let Some(j) = self.opts.journal {
            let updates: Vec<ItemUpdate> = batch
                .iter()
                .filter(|f| !f.is_link)
                .map(|f| ItemUpdate {
                    hash: f.hash.clone(),
                    strategy: f.strategy.clone(),
                    method: f.method.clone(),
                    verified: f.verified,
                    ms: f.ms,
                    error: f.error.clone(),
                    stamp: f.stamp,
                    ..ItemUpdate::new(
                        f.seq,
                        if f.error.is_none() {
                            ItemState::Committed
                        } else {
                            ItemState::Failed
                        },
                    )
                })
                .collect();
            if let Err(e) = j.record(&updates) {
                // Stop before touching another file; nothing of this batch is called committed,
                // so a move keeps every one of these sources.
                self.stopped.store(true, Ordering::SeqCst);
                self.fail(&e);
                return;
            }
        }
        // 3. The manifest.
        if let Some(m) = self.opts.manifest {
            for f in batch.iter().filter(|f| f.error.is_none() && !f.is_link) {
                let hash = match &f.hash {
                    Some(h) => Ok(h.clone()),
                    None => hash_path(
                        &self.dst_root.join(&f.rel),
                        m.algo(),
                        false,
                        &CancelToken::new(),
                        &|_| {},
                    ),
                };
                match hash.and_then(|h| m.add(&f.rel, &h)) {
                    Ok(()) => {}
                    Err(e) => self.fail(&Error::io(
                        Code::VerifyManifest,
                        m.path(),
                        format!("cannot add '{}' to the manifest", f.rel.display()),
                        e,
                    )),
                }
            }
        }
        // 4. A move deletes the sources whose copies are now journaled as committed.
        if self.opts.move_sources {
            self.delete_sources(&batch);
        }
    }

    fn delete_sources(&self, batch: &[Finished]) {
        let mut gone = Vec::new();
        let mut dirs = BTreeSet::new();
        for f in batch.iter().filter(|f| f.error.is_none()) {
            let src = self.src_root.join(&f.rel);
            let kept = |why: String| {
                Error::new(
                    Code::MoveSourceKept,
                    &src,
                    format!("the copy is in place, but the source was kept: {why}"),
                )
            };
            let now = SourceStamp::read(&src);
            let result = match (&now, f.stamp) {
                (Ok(now), Some(then)) if *now == then => std::fs::remove_file(&src)
                    .map_err(|e| kept(format!("it cannot be deleted ({e})"))),
                (Ok(_), Some(_)) => Err(kept(
                    "it changed after it was copied (size, modified time or identity)".into(),
                )),
                (Ok(_), None) => Err(kept("its state before the copy is unknown".into())),
                (Err(e), _) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                (Err(e), _) => Err(kept(format!("it cannot be read ({e})"))),
            };
            match result {
                Ok(()) => {
                    dirs.insert(src.parent().map(Path::to_path_buf).unwrap_or_default());
                    if !f.is_link {
                        gone.push(ItemUpdate::new(f.seq, ItemState::SourceDeleted));
                    }
                    self.sum
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .sources_deleted += 1;
                }
                Err(e) => self.fail(&e),
            }
        }
        if self.copier.settings().durability != Durability::None {
            for d in dirs {
                if let Err(e) = fsops::sync_dir(&d) {
                    self.fail(&Error::io(
                        Code::FinalizeDirSync,
                        &d,
                        "fsync of the source directory failed after deleting moved files",
                        e,
                    ));
                }
            }
        }
        if let Some(j) = self.opts.journal
            && let Err(e) = j.record(&gone)
        {
            self.stopped.store(true, Ordering::SeqCst);
            self.fail(&e);
        }
    }
}

/// Runs `plan` with `copier`: see the module comment and [`ExecOptions`].
pub fn execute_with(plan: &Plan, copier: &Copier, opts: &ExecOptions) -> Summary {
    let started = Instant::now();
    let reporter = copier.reporter();
    let cancel = copier.cancel_token();
    let delete_mode = opts.delete_mode;
    let durability = copier.settings().durability;
    let (src_root, dst_root) = (&plan.source_root, &plan.target_root);
    let is_done = |k: usize| {
        opts.done
            .is_some_and(|d| d.get(k).copied().unwrap_or(false))
    };
    let (files, bytes) = plan
        .actions
        .iter()
        .enumerate()
        .filter(|(k, a)| {
            !is_done(*k)
                && matches!(
                    a.kind,
                    ActionKind::Copy | ActionKind::Replace | ActionKind::Check
                )
        })
        .fold((0, 0), |(n, b), (_, a)| (n + 1, b + a.size));
    reporter.report(&Event::RunStarted {
        actions: plan.actions.len() as u64,
        files,
        bytes,
    });
    let mut sum = Summary {
        skipped: plan.skipped.len() as u64,
        ..Summary::default()
    };
    let touched: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let touch = |rel: &Path| {
        let dir = dst_root.join(rel.parent().unwrap_or(Path::new("")));
        touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir);
    };

    let mut i = 0;
    let acts = &plan.actions;
    // 1. Deletes forced by type conflicts (they precede the mkdir/copy of the same path).
    while i < acts.len() && acts[i].kind == ActionKind::Delete {
        match delete(&dst_root.join(&acts[i].rel), delete_mode, true) {
            Ok(true) => {
                sum.deleted += 1;
                touch(&acts[i].rel);
            }
            Ok(false) => {}
            Err(e) => sum.fail(&e),
        }
        i += 1;
    }
    // 2. Directories, parents first.
    while i < acts.len() && acts[i].kind == ActionKind::Mkdir {
        if cancel.is_cancelled() {
            break;
        }
        let p = dst_root.join(&acts[i].rel);
        match std::fs::create_dir(&p) {
            Ok(()) => {
                sum.dirs_created += 1;
                touch(&acts[i].rel);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => sum.fail(&Error::io(
                Code::TreeMkdir,
                &p,
                "cannot create the directory",
                e,
            )),
        }
        i += 1;
    }
    // The new directories must be durable before files are journaled as committed in them.
    if durability != Durability::None && opts.journal.is_some() {
        for dir in touched.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = fsops::sync_dir(dir);
        }
    }
    // 3. Files and links, in parallel.
    let start = i;
    while i < acts.len()
        && matches!(
            acts[i].kind,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Symlink | ActionKind::Check
        )
    {
        i += 1;
    }
    let work = &acts[start..i];
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(std::mem::take(&mut sum));
    let committer = Committer {
        opts,
        copier,
        src_root,
        dst_root,
        pending: Mutex::new((Vec::new(), Instant::now())),
        flushing: Mutex::new(()),
        stopped: AtomicBool::new(false),
        sum: &shared,
    };
    let halted = || cancel.is_cancelled() || committer.stopped.load(Ordering::SeqCst);
    let batch: Mutex<Batch> = Mutex::new(Batch::default());
    let record = |seq: usize,
                  rel: &Path,
                  stamp: Option<SourceStamp>,
                  result: Result<Option<FileReport>, Error>| {
        let mut f = Finished {
            seq,
            rel: rel.to_path_buf(),
            is_link: false,
            error: None,
            hash: None,
            strategy: None,
            method: None,
            verified: false,
            ms: 0,
            stamp,
        };
        {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            match &result {
                Ok(Some(r)) => {
                    s.copied += 1;
                    s.bytes += r.size;
                    s.verified += u64::from(r.verified);
                    match r.strategy {
                        Strategy::DirectSmall => s.direct_small += 1,
                        Strategy::DirectLarge => s.direct_large += 1,
                        Strategy::Staged => s.staged += 1,
                    }
                    touch(rel);
                    f.hash = r.digest.clone();
                    f.strategy = Some(r.strategy.to_string());
                    f.method = Some(r.perf.method.to_string());
                    f.verified = r.verified;
                    f.ms = r.perf.elapsed_ms;
                }
                Ok(None) => {
                    s.symlinks += 1;
                    touch(rel);
                    f.is_link = true;
                }
                Err(e) if e.is_cancelled() => {
                    s.cancelled = true;
                    return;
                }
                Err(e) => {
                    s.fail(e);
                    f.error = Some(e.to_string());
                }
            }
        }
        if opts.move_sources && f.error.is_none() && !f.is_link && !f.verified {
            // Never delete a source whose copy was not read back and compared.
            f.error = Some("not verified".into());
            shared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .fail(&Error::new(
                    Code::MoveSourceKept,
                    src_root.join(rel),
                    "the copy is in place, but the source was kept: the copy was not verified",
                ));
        }
        committer.push(f);
    };
    // The target already holds this file (move of identical files, resume): prove it by hash.
    let present = |seq: usize, rel: &Path, stamp: Option<SourceStamp>| -> Option<()> {
        let (src, dst) = (src_root.join(rel), dst_root.join(rel));
        // Same content is not enough: with other times the next comparison would copy it again
        // (I6). Such a file is copied now, as planned.
        let (Ok(sm), Ok(dm)) = (std::fs::metadata(&src), std::fs::symlink_metadata(&dst)) else {
            return None;
        };
        let tolerance = copier.settings().timestamp_tolerance;
        let close = match (sm.modified(), dm.modified()) {
            (Ok(a), Ok(b)) => {
                a.duration_since(b).or_else(|_| b.duration_since(a)).ok() <= Some(tolerance)
            }
            _ => false,
        };
        if !dm.is_file() || sm.len() != dm.len() || !close {
            return None;
        }
        let algo = copier.settings().hash;
        let h = |p: &Path| hash_path(p, algo, false, cancel, &|_| {});
        match (h(&src), h(&dst)) {
            (Ok(a), Ok(b)) if a == b => {
                shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .already_present += 1;
                committer.push(Finished {
                    seq,
                    rel: rel.to_path_buf(),
                    is_link: false,
                    error: None,
                    hash: Some(a),
                    strategy: None,
                    method: Some("already-present".into()),
                    verified: true,
                    ms: 0,
                    stamp,
                });
                Some(())
            }
            _ => None,
        }
    };
    // Synced files waiting for their verify and rename, taken by every worker before new work:
    // the read-backs of a batch then run in parallel instead of one after another.
    type Ready = (usize, PathBuf, Option<SourceStamp>, PendingFile, bool);
    let ready: Mutex<VecDeque<Ready>> = Mutex::new(VecDeque::new());
    let pop_ready = || ready.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    // One filesystem sync makes every temp of the batch durable; each is then verified (from
    // the medium) and renamed. A failed sync is never retried and trusted (I7): the whole batch
    // is discarded.
    let sync_batch = |files: Vec<BatchFile>| match fsops::sync_filesystem(dst_root) {
        Ok(synced) => ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(files.into_iter().map(|(k, r, st, p)| (k, r, st, p, synced))),
        Err(e) => {
            for (k, rel, st, p) in files {
                let err = Error::new(
                    Code::FinalizeFsync,
                    p.target(),
                    format!("sync of the target filesystem failed ({e})"),
                );
                record(k, &rel, st, Err(copier.abandon_file(p, err)));
            }
        }
    };
    let commit_ready = |(k, rel, st, p, synced): Ready| {
        record(k, &rel, st, copier.commit_file(p, synced).map(Some));
    };
    std::thread::scope(|scope| {
        for _ in 0..opts.workers.clamp(1, 256).min(work.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if halted() {
                        break;
                    }
                    if let Some(r) = pop_ready() {
                        commit_ready(r);
                        continue;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(a) = work.get(k) else {
                        // Nothing new to start; finish whatever synced files are left.
                        match pop_ready() {
                            Some(r) => {
                                commit_ready(r);
                                continue;
                            }
                            None => break,
                        }
                    };
                    let seq = start + k;
                    if is_done(seq) {
                        continue;
                    }
                    let (src, dst) = (src_root.join(&a.rel), dst_root.join(&a.rel));
                    if opts.move_sources
                        && opts
                            .committed
                            .is_some_and(|c| c.get(seq).copied().unwrap_or(false))
                        && std::fs::symlink_metadata(&src)
                            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                    {
                        // Its copy was journaled as committed and its source is gone: the move
                        // deleted it just before the interruption. Journal that.
                        committer.push(Finished {
                            seq,
                            rel: a.rel.clone(),
                            is_link: false,
                            error: None,
                            hash: None,
                            strategy: None,
                            method: Some("already-moved".into()),
                            verified: true,
                            ms: 0,
                            stamp: None,
                        });
                        continue;
                    }
                    let stamp = if opts.move_sources {
                        SourceStamp::read(&src).ok()
                    } else {
                        None
                    };
                    if a.kind == ActionKind::Symlink {
                        let r = copy_symlink(copier, &src, &dst).map(|()| None);
                        record(seq, &a.rel, stamp, r);
                        continue;
                    }
                    let check = a.kind == ActionKind::Check
                        || opts
                            .check_existing
                            .is_some_and(|c| c.get(seq).copied().unwrap_or(false));
                    if check && present(seq, &a.rel, stamp).is_some() {
                        continue;
                    }
                    match copier.prepare_file_as(&src, &dst, Some(seq)) {
                        // Small local files wait for a batch sync (durability=batch); big ones
                        // (and network copies) are committed on their own so they never hold a
                        // batch up.
                        Ok(p)
                            if durability == Durability::Batch
                                && p.strategy() == Strategy::DirectSmall
                                && p.size() <= BATCH_MAX_FILE =>
                        {
                            let full = {
                                let mut b = batch.lock().unwrap_or_else(|e| e.into_inner());
                                b.bytes += p.size();
                                b.files.push((seq, a.rel.clone(), stamp, p));
                                (b.files.len() >= BATCH_FILES || b.bytes >= BATCH_BYTES)
                                    .then(|| std::mem::take(&mut *b))
                            };
                            if let Some(full) = full {
                                sync_batch(full.files);
                            }
                        }
                        Ok(p) => {
                            let r = match durability {
                                Durability::None => copier.commit_file(p, true),
                                _ => copier.commit_file(p, false),
                            };
                            record(seq, &a.rel, stamp, r.map(Some))
                        }
                        Err(e) => record(seq, &a.rel, stamp, Err(e)),
                    }
                }
            });
        }
    });
    let rest = std::mem::take(&mut *batch.lock().unwrap_or_else(|e| e.into_inner()));
    if !halted() {
        if !rest.files.is_empty() {
            sync_batch(rest.files);
        }
        while let Some(r) = pop_ready() {
            commit_ready(r);
        }
    } else {
        // Cancelled (or the journal failed): pending temps are deleted and their targets stay
        // untouched.
        let left = rest.files.into_iter().chain(std::iter::from_fn(|| {
            pop_ready().map(|(k, r, st, p, _)| (k, r, st, p))
        }));
        for (k, rel, st, p) in left {
            let err = if cancel.is_cancelled() {
                Error::new(
                    Code::CopyCancelled,
                    p.target(),
                    "cancelled before the commit",
                )
            } else {
                Error::new(
                    Code::JournalWrite,
                    p.target(),
                    "the run journal cannot be written: stopped before the commit",
                )
            };
            record(k, &rel, st, Err(copier.abandon_file(p, err)));
        }
    }
    committer.flush();
    let stopped = committer.stopped.load(Ordering::SeqCst);
    let mut sum = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    // 4. Deletes of target-only items, deepest first.
    while i < acts.len() && acts[i].kind == ActionKind::Delete {
        if cancel.is_cancelled() || stopped {
            break;
        }
        match delete(&dst_root.join(&acts[i].rel), delete_mode, false) {
            Ok(true) => {
                sum.deleted += 1;
                touch(&acts[i].rel);
                reporter.report(&Event::Deleted {
                    path: dst_root.join(&acts[i].rel),
                    mode: delete_mode,
                });
            }
            Ok(false) => {}
            Err(e) => sum.fail(&e),
        }
        i += 1;
    }
    // 5. Make every rename and unlink durable: one fsync per touched directory.
    if durability != Durability::None {
        for dir in touched.into_inner().unwrap_or_else(|e| e.into_inner()) {
            match fsops::sync_dir(&dir) {
                Ok(()) => {}
                // A directory deleted later in the run: its removal is made durable by its
                // parent's fsync (the parent is touched by that delete).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => sum.fail(&Error::io(
                    Code::FinalizeDirSync,
                    &dir,
                    "fsync of the directory failed",
                    e,
                )),
            }
        }
    }
    // 6. Directory times and permissions, bottom-up, last.
    while i < acts.len() && acts[i].kind == ActionKind::SetDirTimes {
        if cancel.is_cancelled() || stopped {
            break;
        }
        // A resumed move may already have removed this emptied source folder (after its times
        // were applied): nothing left to do.
        if opts.move_sources && !src_root.join(&acts[i].rel).exists() {
            i += 1;
            continue;
        }
        if let Err(e) = copy_dir_metadata(
            &src_root.join(&acts[i].rel),
            &dst_root.join(&acts[i].rel),
            copier,
        ) {
            sum.fail(&e);
        }
        i += 1;
    }
    // 7. A move removes the source folders it emptied, deepest first.
    if opts.move_sources && !cancel.is_cancelled() && !stopped {
        remove_empty_dirs(src_root, durability != Durability::None);
    }
    sum.cancelled |= cancel.is_cancelled();
    sum.elapsed_ms = started.elapsed().as_millis() as u64;
    reporter.report(&Event::RunFinished {
        summary: sum.clone(),
    });
    sum
}

/// Removes the empty folders below `root` and then `root` itself if it is empty, deepest first;
/// a folder that still holds anything (a file the move kept, a filtered-out file) stays.
fn remove_empty_dirs(root: &Path, sync: bool) {
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
fn copy_symlink(copier: &Copier, src: &Path, dst: &Path) -> Result<(), Error> {
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

/// Deletes a target item: to the trash (the default; never silently permanent) or permanently.
/// `recursive` only for a directory that a type conflict replaces. `Ok(false)`: it was already
/// gone (a resumed run deleted it before the interruption).
fn delete(p: &Path, mode: DeleteMode, recursive: bool) -> Result<bool, Error> {
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
fn copy_dir_metadata(src: &Path, dst: &Path, copier: &Copier) -> Result<(), Error> {
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

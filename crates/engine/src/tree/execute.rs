//! Execute a [`Plan`]: deletes forced by type conflicts, directories (top-down), then files on a
//! worker pool through the per-file engine (strategy, verify, atomic commit), symlinks, the other
//! deletes (deepest first), and directory times last, bottom-up (setting them first would let
//! every later write inside the directory move them again).
//!
//! Durability without thousands of serial syncs (a batched commit): workers copy small files into
//! their temps (no fsync yet) and collect them in a batch; when the batch is full, one
//! `syncfs` makes every temp in it durable at once, then each is verified — read back from the
//! medium — and renamed over its target; the directory fsyncs that make the renames durable are
//! done once per directory at the end of the run. Every file is still atomic (its rename
//! follows its own durable, verified data) and a failed sync discards the whole batch (I7). Large
//! files and network targets are fsynced one by one so they never hold a batch up. Where the OS
//! has no `syncfs`, each temp is fsynced before its rename, concurrently across workers.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::copy::{Copier, FileReport, PendingFile};
use crate::error::{Code, Error};
use crate::events::Event;
use crate::settings::DeleteMode;
use crate::strategy::Strategy;
use crate::tree::plan::{ActionKind, Plan};

/// Files pending in the current batch (copied into temps, waiting for one filesystem sync).
#[derive(Default)]
struct Batch {
    files: Vec<(PathBuf, PendingFile)>,
    bytes: u64,
}

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
    fn fail(&mut self, e: &Error) {
        self.failed += 1;
        self.errors.push(FailedItem {
            path: e.path.clone(),
            code: e.code,
            message: e.to_string(),
        });
    }
}

/// Runs `plan` with `copier` on `workers` threads.
pub fn execute(plan: &Plan, copier: &Copier, workers: usize, delete_mode: DeleteMode) -> Summary {
    let started = Instant::now();
    let reporter = copier.reporter();
    let cancel = copier.cancel_token();
    let (src_root, dst_root) = (&plan.source_root, &plan.target_root);
    let (files, bytes) = plan.copy_totals();
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
        if let Err(e) = delete(&dst_root.join(&acts[i].rel), delete_mode, true) {
            sum.fail(&e);
        } else {
            sum.deleted += 1;
            touch(&acts[i].rel);
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
    // 3. Files and links, in parallel.
    let start = i;
    while i < acts.len()
        && matches!(
            acts[i].kind,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Symlink
        )
    {
        i += 1;
    }
    let work = &acts[start..i];
    let next = AtomicUsize::new(0);
    let shared = Mutex::new(std::mem::take(&mut sum));
    let batch: Mutex<Batch> = Mutex::new(Batch::default());
    let record = |rel: &Path, result: Result<Option<FileReport>, Error>| {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        match result {
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
            }
            Ok(None) => {
                s.symlinks += 1;
                touch(rel);
            }
            Err(e) if e.is_cancelled() => s.cancelled = true,
            Err(e) => s.fail(&e),
        }
    };
    // Synced files waiting for their verify and rename, taken by every worker before new work:
    // the read-backs of a batch then run in parallel instead of one after another.
    let ready: Mutex<VecDeque<(PathBuf, PendingFile, bool)>> = Mutex::new(VecDeque::new());
    let pop_ready = || ready.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    // One filesystem sync makes every temp of the batch durable; each is then verified (from
    // the medium) and renamed. A failed sync is never retried and trusted (I7): the whole batch
    // is discarded.
    let sync_batch = |files: Vec<(PathBuf, PendingFile)>| match fsops::sync_filesystem(dst_root) {
        Ok(synced) => ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(files.into_iter().map(|(r, p)| (r, p, synced))),
        Err(e) => {
            for (rel, p) in files {
                let err = Error::new(
                    Code::FinalizeFsync,
                    p.target(),
                    format!("sync of the target filesystem failed ({e})"),
                );
                record(&rel, Err(copier.abandon_file(p, err)));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, 256).min(work.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if cancel.is_cancelled() {
                        break;
                    }
                    if let Some((rel, p, synced)) = pop_ready() {
                        record(&rel, copier.commit_file(p, synced).map(Some));
                        continue;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(a) = work.get(k) else {
                        // Nothing new to start; finish whatever synced files are left.
                        match pop_ready() {
                            Some((rel, p, synced)) => {
                                record(&rel, copier.commit_file(p, synced).map(Some));
                                continue;
                            }
                            None => break,
                        }
                    };
                    let (src, dst) = (src_root.join(&a.rel), dst_root.join(&a.rel));
                    if a.kind == ActionKind::Symlink {
                        record(&a.rel, copy_symlink(copier, &src, &dst).map(|()| None));
                        continue;
                    }
                    match copier.prepare_file(&src, &dst) {
                        // Small local files wait for a batch sync; big ones (and network copies)
                        // are committed on their own so they never hold a batch up.
                        Ok(p)
                            if p.strategy() == Strategy::DirectSmall
                                && p.size() <= BATCH_MAX_FILE =>
                        {
                            let full = {
                                let mut b = batch.lock().unwrap_or_else(|e| e.into_inner());
                                b.bytes += p.size();
                                b.files.push((a.rel.clone(), p));
                                (b.files.len() >= BATCH_FILES || b.bytes >= BATCH_BYTES)
                                    .then(|| std::mem::take(&mut *b))
                            };
                            if let Some(full) = full {
                                sync_batch(full.files);
                            }
                        }
                        Ok(p) => record(&a.rel, copier.commit_file(p, false).map(Some)),
                        Err(e) => record(&a.rel, Err(e)),
                    }
                }
            });
        }
    });
    let rest = std::mem::take(&mut *batch.lock().unwrap_or_else(|e| e.into_inner()));
    if !cancel.is_cancelled() {
        sync_batch(rest.files);
        while let Some((rel, p, synced)) = pop_ready() {
            record(&rel, copier.commit_file(p, synced).map(Some));
        }
    } else {
        // Cancelled: pending temps are deleted and their targets stay untouched.
        let left = rest
            .files
            .into_iter()
            .chain(std::iter::from_fn(|| pop_ready().map(|(r, p, _)| (r, p))));
        for (rel, p) in left {
            let err = Error::new(
                Code::CopyCancelled,
                p.target(),
                "cancelled before the commit",
            );
            record(&rel, Err(copier.abandon_file(p, err)));
        }
    }
    let mut sum = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    // 4. Deletes of target-only items, deepest first.
    while i < acts.len() && acts[i].kind == ActionKind::Delete {
        if cancel.is_cancelled() {
            break;
        }
        match delete(&dst_root.join(&acts[i].rel), delete_mode, false) {
            Ok(()) => {
                sum.deleted += 1;
                touch(&acts[i].rel);
                reporter.report(&Event::Deleted {
                    path: dst_root.join(&acts[i].rel),
                    mode: delete_mode,
                });
            }
            Err(e) => sum.fail(&e),
        }
        i += 1;
    }
    // 5. Make every rename and unlink durable: one fsync per touched directory.
    for dir in touched.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match fsops::sync_dir(&dir) {
            Ok(()) => {}
            // A directory deleted later in the run: its removal is made durable by its parent's
            // fsync (the parent is touched by that delete).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => sum.fail(&Error::io(
                Code::FinalizeDirSync,
                &dir,
                "fsync of the directory failed",
                e,
            )),
        }
    }
    // 6. Directory times and permissions, bottom-up, last.
    while i < acts.len() && acts[i].kind == ActionKind::SetDirTimes {
        if cancel.is_cancelled() {
            break;
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
    sum.cancelled |= cancel.is_cancelled();
    sum.elapsed_ms = started.elapsed().as_millis() as u64;
    reporter.report(&Event::RunFinished {
        summary: sum.clone(),
    });
    sum
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
/// `recursive` only for a directory that a type conflict replaces.
fn delete(p: &Path, mode: DeleteMode, recursive: bool) -> Result<(), Error> {
    let md = std::fs::symlink_metadata(p)
        .map_err(|e| Error::io(Code::TreeDelete, p, "cannot delete", e))?;
    match mode {
        DeleteMode::Trash => trash::delete(p).map_err(|e| {
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
            r.map_err(|e| Error::io(Code::TreeDelete, p, "cannot delete", e))
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

//! The file phase: files and links on a worker pool, each through the per-file engine.
//!
//! With `durability=batch`, small local files are copied into their temps and wait for one
//! filesystem sync per batch; the synced files are then verified and renamed by whichever
//! worker is free (taken before new work), so the read-backs of a batch run in parallel. A
//! waiting file keeps its temp and its source open: how many may wait, and how many make a
//! batch, come from the process's descriptor limit ([`Budget`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::copy::{FileReport, PendingFile, RemoteFile, Target};
use crate::error::{Code, Error};
use crate::hash::{hash_file, hash_path};
use crate::settings::Durability;
use crate::stamp::SourceStamp;
use crate::strategy::Strategy;
use crate::tree::plan::{Action, ActionKind};

use super::budget::Budget;
use super::commit::{Committer, Finished};
use super::{Executor, Prior, ops};

/// A batch is synced when it holds [`Budget::batch`] files or this many bytes, or this many
/// bytes of files it reads back itself (their bytes stay in memory until each file's commit:
/// with up to three batches alive, at most 48 MiB)…
const BATCH_BYTES: u64 = 64 << 20;
const BATCH_READ_BACK_BYTES: u64 = 16 << 20;
/// …and only files up to this size wait for a batch.
const BATCH_MAX_FILE: u64 = 8 << 20;

/// A file copied into its temp, with its action's sequence number, path and source stamp
/// (moves).
struct Pending {
    seq: usize,
    rel: PathBuf,
    stamp: Option<SourceStamp>,
    file: PendingFile,
}

/// Files waiting for one filesystem sync.
#[derive(Default)]
struct Batch {
    files: Vec<Pending>,
    bytes: u64,
    /// Of which files the batch reads back itself (up to `fsops::DIRECT_BATCH_MAX` each).
    read_back_bytes: u64,
}

struct Transfer<'e, 'a> {
    ex: &'e Executor<'a>,
    committer: Committer<'e, 'a>,
    work: Vec<(usize, &'a Action)>,
    next: AtomicUsize,
    batch: Mutex<Batch>,
    /// Synced files waiting for their verify and rename; `bool`: whether the sync covered them.
    ready: Mutex<VecDeque<(Pending, bool)>>,
    /// Whether the run said that a batch went file by file (said once).
    said_per_file: std::sync::atomic::AtomicBool,
    budget: Budget,
    /// Files copied and not yet committed (in the batch, in a sync, or ready).
    held: AtomicUsize,
}

/// Runs the file phase. Returns whether the run halted (cancelled, or the journal failed).
pub(super) fn run(ex: &Executor) -> bool {
    let work: Vec<(usize, &Action)> = ex
        .plan
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.kind.is_file() || a.kind == ActionKind::Symlink)
        .collect();
    let workers = ex.opts.workers.clamp(1, 256).min(work.len().max(1));
    let t = Transfer {
        ex,
        committer: Committer::new(ex),
        next: AtomicUsize::new(0),
        batch: Mutex::new(Batch::default()),
        ready: Mutex::new(VecDeque::new()),
        said_per_file: Default::default(),
        budget: Budget::new(workers),
        held: AtomicUsize::new(0),
        work,
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| t.worker());
        }
    });
    t.drain();
    t.committer.flush();
    t.committer.stopped() || ex.cancelled()
}

impl Transfer<'_, '_> {
    fn halted(&self) -> bool {
        self.ex.cancelled() || self.committer.stopped()
    }

    /// The batch being filled, taken whole (a new one starts empty).
    fn take_batch(&self) -> Batch {
        std::mem::take(&mut *self.batch.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn pop_ready(&self) -> Option<(Pending, bool)> {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn worker(&self) {
        loop {
            if self.halted() {
                break;
            }
            if let Some(r) = self.pop_ready() {
                self.commit_ready(r);
                continue;
            }
            if self.held.load(Ordering::Relaxed) >= self.budget.pending {
                // As many files wait as the descriptors allow: sync the batch being filled, or
                // wait for another worker's sync to hand its files over (nothing waits on
                // anything else, so this ends).
                let rest = self.take_batch();
                if rest.files.is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                } else {
                    self.sync_batch(rest.files);
                }
                continue;
            }
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&(seq, a)) = self.work.get(k) else {
                // Nothing new to start: the last, partial batch is synced now, by the first
                // worker out of work, while the others still copy (a big file's copy and
                // read-back overlap the small files' sync and read-back instead of coming
                // before them); a file another worker adds after this goes in a batch of its
                // own, taken by that worker when it runs out of work in turn.
                let rest = self.take_batch();
                if !rest.files.is_empty() {
                    self.sync_batch(rest.files);
                    continue;
                }
                // Then whatever synced files are left.
                match self.pop_ready() {
                    Some(r) => {
                        self.commit_ready(r);
                        continue;
                    }
                    None => break,
                }
            };
            self.start(seq, a);
        }
    }

    /// Starts one action: a link is made at once; a file is proven already present, committed
    /// on its own, or copied into its temp to wait for a batch sync.
    fn start(&self, seq: usize, a: &Action) {
        let ex = self.ex;
        let prior = ex.opts.prior(seq);
        if prior == Prior::Done {
            return;
        }
        let src = ex.src(&a.rel);
        if ex.opts.move_sources
            && prior == Prior::CommittedSourceKept
            && std::fs::symlink_metadata(&src)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            // Its copy was journaled as committed and its source is gone: the move deleted it
            // just before the interruption. Journal that.
            self.committer.push(Finished::without_copy(
                seq,
                &a.rel,
                None,
                "already-moved",
                None,
            ));
            return;
        }
        // A move's source is stamped through its folder beneath the source root, as it will be
        // checked again before its delete.
        let stamp = if ex.opts.move_sources {
            ex.source_stamp(&a.rel)
        } else {
            None
        };
        let target = match ex.dst.target(&a.rel) {
            Ok(t) => t,
            Err(e) => return self.record(seq, &a.rel, stamp, Err(e)),
        };
        let prepared = if let Some(remote) = ex.opts.remote_source {
            // A download: no links, no hard links, no moves (the plan has none).
            let file = RemoteFile {
                rel: &a.rel,
                size: a.size,
                listed: remote.times.get(&a.rel).copied(),
            };
            ex.copier
                .prepare_download_at(remote.store, file, &target, Some(seq))
        } else {
            if a.kind == ActionKind::Symlink {
                let r = ops::copy_symlink(ex.copier, &src, &target).map(|()| None);
                self.record(seq, &a.rel, stamp, r);
                return;
            }
            let check = a.kind == ActionKind::Check || prior != Prior::Fresh;
            if check && self.present(seq, &a.rel, &target, stamp) {
                return;
            }
            let target = Target {
                absent: a.kind == ActionKind::Copy && prior == Prior::Fresh,
                ..target
            };
            ex.copier.prepare_file_at(&src, &target, Some(seq))
        };
        match prepared {
            // Small files wait for a batch sync (durability=batch): local copies, and downloads
            // (their temps are on this machine's disk too). Big ones, and copies to a network
            // target, are committed on their own so they never hold a batch up.
            Ok(file)
                if ex.copier.settings().durability == Durability::Batch
                    && (file.strategy() == Strategy::DirectSmall
                        || ex.opts.remote_source.is_some())
                    && file.size() <= BATCH_MAX_FILE =>
            {
                self.held.fetch_add(1, Ordering::Relaxed);
                let full = {
                    let mut b = self.batch.lock().unwrap_or_else(|e| e.into_inner());
                    b.bytes += file.size();
                    if file.size() <= fsops::DIRECT_BATCH_MAX {
                        b.read_back_bytes += file.size();
                    }
                    b.files.push(Pending {
                        seq,
                        rel: a.rel.clone(),
                        stamp,
                        file,
                    });
                    (b.files.len() >= self.budget.batch
                        || b.bytes >= BATCH_BYTES
                        || b.read_back_bytes >= BATCH_READ_BACK_BYTES)
                        .then(|| std::mem::take(&mut *b))
                };
                if let Some(full) = full {
                    self.sync_batch(full.files);
                }
            }
            Ok(file) => {
                let synced = ex.copier.settings().durability == Durability::None;
                let r = ex.copier.commit_file(file, synced);
                self.record(seq, &a.rel, stamp, r.map(Some));
            }
            Err(e) => self.record(seq, &a.rel, stamp, Err(e)),
        }
    }

    /// One filesystem sync makes every temp of the batch durable; each is then verified (from
    /// the medium) and renamed. A failed sync is never retried and trusted (I7): the whole
    /// batch is discarded.
    fn sync_batch(&self, files: Vec<Pending>) {
        let ours: u64 = files.iter().map(|p| p.file.size()).sum();
        if let Some(others) = self.ex.others_dirty(ours) {
            if !self.said_per_file.swap(true, Ordering::Relaxed) {
                self.ex.copier.reporter().report(&crate::events::Event::Notice {
                    id: 0,
                    path: self.ex.plan.target_root.clone(),
                    notice: crate::events::Notice {
                        kind: crate::events::NoticeKind::BatchPerFile,
                        message: format!(
                            "{} MiB of other programs' data is waiting to be written to disk: a filesystem sync would wait for it too, so this batch of {} files is made durable file by file (fsync)",
                            others >> 20,
                            files.len()
                        ),
                    },
                });
            }
            // Not synced: each file is fsynced before its verify and rename (`commit_file`).
            self.ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(files.into_iter().map(|p| (p, false)));
            return;
        }
        match fsops::sync_filesystem(&self.ex.plan.target_root) {
            Ok(synced) => {
                let mut files = files;
                if synced {
                    self.read_back(&mut files);
                }
                self.ready
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(files.into_iter().map(|p| (p, synced)));
            }
            Err(e) => {
                for p in files {
                    let err = Error::new(
                        Code::FinalizeFsync,
                        p.file.target(),
                        format!("sync of the target filesystem failed ({e})"),
                    );
                    let err = self.ex.copier.abandon_file(p.file, err);
                    self.held.fetch_sub(1, Ordering::Relaxed);
                    self.record(p.seq, &p.rel, p.stamp, Err(err));
                }
            }
        }
    }

    /// Reads the batch's small copies back from the medium all at once, many requests in flight
    /// from this one thread (`fsops::read_files_direct`), for their commits to compare with
    /// their sources; a file it does not read is read back by its own commit.
    fn read_back(&self, files: &mut [Pending]) {
        let mut got: Vec<(usize, Box<[u8]>)> = Vec::new();
        {
            let (wanted, list): (Vec<usize>, Vec<_>) = files
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let (dir, name, len) = p.file.batch_read_back()?;
                    Some((i, (Some(dir), name, len)))
                })
                .unzip();
            if list.is_empty() {
                return;
            }
            fsops::read_files_direct(&list, &|| self.halted(), &mut |k, bytes| {
                if let Some(b) = bytes {
                    got.push((wanted[k], b.into()));
                }
            });
        }
        for (i, bytes) in got {
            self.ex.copier.set_read_back(&mut files[i].file, bytes);
        }
    }

    fn commit_ready(&self, (p, synced): (Pending, bool)) {
        let r = self.ex.copier.commit_file(p.file, synced);
        self.held.fetch_sub(1, Ordering::Relaxed);
        self.record(p.seq, &p.rel, p.stamp, r.map(Some));
    }

    /// After the workers (which sync the last partial batch themselves as they run out of
    /// work; this is the safety net): the batch is synced and committed, or — the run halted
    /// — every pending temp is deleted and its target stays untouched.
    fn drain(&self) {
        let rest = self.take_batch();
        if !self.halted() {
            if !rest.files.is_empty() {
                self.sync_batch(rest.files);
            }
            while let Some(r) = self.pop_ready() {
                self.commit_ready(r);
            }
            return;
        }
        let left = rest
            .files
            .into_iter()
            .chain(std::iter::from_fn(|| self.pop_ready().map(|(p, _)| p)));
        for p in left {
            let err = if self.ex.cancelled() {
                Error::new(
                    Code::CopyCancelled,
                    p.file.target(),
                    "cancelled before the commit",
                )
            } else {
                Error::new(
                    Code::JournalWrite,
                    p.file.target(),
                    "the run journal cannot be written: stopped before the commit",
                )
            };
            let err = self.ex.copier.abandon_file(p.file, err);
            self.held.fetch_sub(1, Ordering::Relaxed);
            self.record(p.seq, &p.rel, p.stamp, Err(err));
        }
    }

    /// Counts a file's or link's end (`Ok(None)`: a link) and hands it to the committer.
    fn record(
        &self,
        seq: usize,
        rel: &Path,
        stamp: Option<SourceStamp>,
        result: Result<Option<FileReport>, Error>,
    ) {
        let ex = self.ex;
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
            let mut s = ex.summary();
            match &result {
                Ok(Some(r)) => {
                    s.count_copy(r);
                    f.hash = r.digest.clone();
                    f.strategy = Some(r.strategy.to_string());
                    f.method = Some(r.perf.method.to_string());
                    f.verified = r.verified;
                    f.ms = r.perf.elapsed_ms;
                }
                Ok(None) => {
                    s.symlinks += 1;
                    f.is_link = true;
                }
                Err(e) if e.is_cancelled() => {
                    s.cancelled = true;
                    return;
                }
                Err(e) => {
                    s.fail(e);
                    f.error = Some(e.to_string());
                    ex.failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(seq);
                }
            }
        }
        if result.is_ok() {
            ex.touch(rel);
        }
        if ex.opts.move_sources && f.error.is_none() && !f.is_link && !f.verified {
            // Never delete a source whose copy was not read back and compared.
            f.error = Some("not verified".into());
            ex.fail(&Error::new(
                Code::MoveSourceKept,
                ex.src(rel),
                "the copy is in place, but the source was kept: the copy was not verified",
            ));
        }
        self.committer.push(f);
    }

    /// The target already holds this file (a move of identical files, a resume): proven by
    /// hash, it is journaled without a copy.
    fn present(&self, seq: usize, rel: &Path, target: &Target, stamp: Option<SourceStamp>) -> bool {
        let ex = self.ex;
        let src = ex.src(rel);
        // The target's file, read through its folder (never through a link): what a move's
        // source is deleted on the strength of must be the file at the target's own path.
        let Ok(dst_file) = target.dir.open_file(&target.name) else {
            return false;
        };
        // Same content is not enough: with other times the next comparison would copy it again
        // (I6). Such a file is copied now, as planned.
        let (Ok(sm), Ok(dm)) = (std::fs::metadata(&src), dst_file.metadata()) else {
            return false;
        };
        let settings = ex.copier.settings();
        let close = match (sm.modified(), dm.modified()) {
            (Ok(a), Ok(b)) => {
                a.duration_since(b).or_else(|_| b.duration_since(a)).ok()
                    <= Some(settings.timestamp_tolerance)
            }
            _ => false,
        };
        if !dm.is_file() || sm.len() != dm.len() || !close {
            return false;
        }
        let cancel = ex.copier.cancel_token();
        let src_hash = hash_path(&src, settings.hash, false, cancel, &|_| {});
        let dst_hash = hash_file(dst_file, settings.hash, cancel);
        match (src_hash, dst_hash) {
            (Ok(a), Ok(b)) if a == b => {
                ex.summary().already_present += 1;
                self.committer.push(Finished::without_copy(
                    seq,
                    rel,
                    Some(a),
                    "already-present",
                    stamp,
                ));
                true
            }
            _ => false,
        }
    }
}

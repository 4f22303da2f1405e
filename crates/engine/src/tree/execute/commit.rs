//! Journaling finished files in batches, each after its files are durable; then (a move)
//! deleting their sources; then their manifest lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Code, Error};
use crate::events::CancelToken;
use crate::hash::hash_path;
use crate::stamp::SourceStamp;
use crate::tree::journal::{ItemState, ItemUpdate};

use super::Executor;

/// Results are journaled in batches of this many, or at least this often. Each batch costs a
/// filesystem sync first (its renames durable); a crash loses at most one batch's records, whose
/// files a resume then checks by hash — a second's work.
const JOURNAL_BATCH: usize = 4096;
const JOURNAL_INTERVAL: Duration = Duration::from_millis(1000);

/// A file or link that reached its end in this run, waiting to be journaled.
#[derive(Debug)]
pub(super) struct Finished {
    pub seq: usize,
    pub rel: PathBuf,
    pub is_link: bool,
    /// `None`: it succeeded (committed, or found identical).
    pub error: Option<String>,
    pub hash: Option<String>,
    pub strategy: Option<String>,
    pub method: Option<String>,
    pub verified: bool,
    pub ms: u64,
    /// The source as it was before the copy (moves only).
    pub stamp: Option<SourceStamp>,
}

impl Finished {
    /// A success without a copy in this run (`method` says why: already present, already moved).
    pub fn without_copy(
        seq: usize,
        rel: &Path,
        hash: Option<String>,
        method: &str,
        stamp: Option<SourceStamp>,
    ) -> Finished {
        Finished {
            seq,
            rel: rel.to_path_buf(),
            is_link: false,
            error: None,
            hash,
            strategy: None,
            method: Some(method.into()),
            verified: true,
            ms: 0,
            stamp,
        }
    }
}

/// Journals finished files in batches, after making them durable; then (a move) deletes their
/// sources; then writes their manifest lines.
pub(super) struct Committer<'e, 'a> {
    ex: &'e Executor<'a>,
    pending: Mutex<(Vec<Finished>, Instant)>,
    flushing: Mutex<()>,
    /// A journal write failed: the run stops before touching another file.
    stopped: AtomicBool,
}

impl<'e, 'a> Committer<'e, 'a> {
    pub fn new(ex: &'e Executor<'a>) -> Committer<'e, 'a> {
        Committer {
            ex,
            pending: Mutex::new((Vec::new(), Instant::now())),
            flushing: Mutex::new(()),
            stopped: AtomicBool::new(false),
        }
    }

    /// Whether a journal write failed (the run must not touch another file).
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn stop(&self, e: &Error) {
        self.stopped.store(true, Ordering::SeqCst);
        self.ex.fail(e);
    }

    pub fn push(&self, f: Finished) {
        let due = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.0.push(f);
            p.0.len() >= JOURNAL_BATCH || p.1.elapsed() >= JOURNAL_INTERVAL
        };
        if due {
            self.flush();
        }
    }

    pub fn flush(&self) {
        let _one_at_a_time = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.1 = Instant::now();
            std::mem::take(&mut p.0)
        };
        if batch.is_empty() {
            return;
        }
        self.make_durable(&mut batch);
        if !self.journal(&batch) {
            return;
        }
        self.write_manifest(&batch);
        if self.ex.opts.move_sources {
            self.delete_sources(&batch);
        }
    }

    /// The renames become durable before the journal may call them committed (I3): one
    /// filesystem sync where the OS has it (on ext4 any fsync commits the whole journal
    /// transaction, so one `syncfs` costs what one directory fsync does), else one fsync per
    /// directory. Coalesced per batch rather than per file: a file renamed but not yet durable
    /// is not journaled, so a resume checks it by hash.
    fn make_durable(&self, batch: &mut [Finished]) {
        if !self.ex.durable() {
            return;
        }
        let dir_of = |f: &Finished| self.ex.dst(f.rel.parent().unwrap_or(Path::new("")));
        let dirs: BTreeSet<PathBuf> = batch
            .iter()
            .filter(|f| f.error.is_none())
            .map(dir_of)
            .collect();
        let synced = !dirs.is_empty() && self.ex.sync_target_fs();
        for dir in dirs.iter().filter(|_| !synced) {
            if let Err(e) = fsops::sync_dir(dir) {
                let err = Error::io(
                    Code::FinalizeDirSync,
                    dir,
                    "fsync of the directory failed after the rename",
                    e,
                );
                self.ex.fail(&err);
                for f in batch
                    .iter_mut()
                    .filter(|f| f.error.is_none() && dir_of(f) == *dir)
                {
                    f.error = Some(err.to_string());
                }
            }
        }
    }

    /// Records the batch; `false` when the journal failed (the run stops; nothing of this batch
    /// is called committed, so a move keeps every one of these sources).
    fn journal(&self, batch: &[Finished]) -> bool {
        let Some(j) = self.ex.opts.journal else {
            return true;
        };
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
        match j.record(&updates) {
            Ok(()) => true,
            Err(e) => {
                self.stop(&e);
                false
            }
        }
    }

    fn write_manifest(&self, batch: &[Finished]) {
        let Some(m) = self.ex.opts.manifest else {
            return;
        };
        for f in batch.iter().filter(|f| f.error.is_none() && !f.is_link) {
            let hash = match &f.hash {
                Some(h) => Ok(h.clone()),
                None => hash_path(
                    &self.ex.dst(&f.rel),
                    m.algo(),
                    false,
                    &CancelToken::new(),
                    &|_| {},
                ),
            };
            if let Err(e) = hash.and_then(|h| m.add(&f.rel, &h)) {
                self.ex.fail(&Error::io(
                    Code::VerifyManifest,
                    m.path(),
                    format!("cannot add '{}' to the manifest", f.rel.display()),
                    e,
                ));
            }
        }
    }

    /// A move deletes the sources whose copies are now journaled as committed — each only if it
    /// is still the file that was copied, and only through its folder beneath the source root:
    /// a source reached through a symbolic link lies outside the source folder and is kept.
    fn delete_sources(&self, batch: &[Finished]) {
        let mut gone = Vec::new();
        let mut dirs: Vec<std::sync::Arc<fsops::Dir>> = Vec::new();
        for f in batch.iter().filter(|f| f.error.is_none()) {
            let src = self.ex.src(&f.rel);
            let kept = |why: String| {
                Error::new(
                    Code::MoveSourceKept,
                    &src,
                    format!("the copy is in place, but the source was kept: {why}"),
                )
            };
            let result = match (self.ex.source_entry(&f.rel), f.stamp) {
                (Ok((dir, st)), Some(then)) if SourceStamp::of_entry(&st) == then => {
                    let name = f.rel.file_name().unwrap_or_default();
                    match dir.remove_file(name) {
                        Ok(()) => {
                            if !dirs.iter().any(|d| std::sync::Arc::ptr_eq(d, &dir)) {
                                dirs.push(dir);
                            }
                            Ok(())
                        }
                        Err(e) => Err(kept(format!("it cannot be deleted ({e})"))),
                    }
                }
                (Ok(_), Some(_)) => Err(kept(
                    "it changed after it was copied (size, modified time or identity)".into(),
                )),
                (Ok(_), None) => Err(kept("its state before the copy is unknown".into())),
                (Err(e), _) if e.code == Code::TreeSymlinkInPath => Err(kept(
                    "it is reached through a symbolic link, so it lies outside the source folder"
                        .into(),
                )),
                (Err(e), _) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => Ok(()),
                (Err(e), _) => Err(kept(format!("it cannot be read ({e})"))),
            };
            match result {
                Ok(()) => {
                    if !f.is_link {
                        gone.push(ItemUpdate::new(f.seq, ItemState::SourceDeleted));
                    }
                    self.ex.summary().sources_deleted += 1;
                }
                Err(e) => self.ex.fail(&e),
            }
        }
        if self.ex.durable() {
            for d in dirs {
                if let Err(e) = d.sync() {
                    self.ex.fail(&Error::io(
                        Code::FinalizeDirSync,
                        d.path(),
                        "fsync of the source directory failed after deleting moved files",
                        e,
                    ));
                }
            }
        }
        if let Some(j) = self.ex.opts.journal
            && let Err(e) = j.record(&gone)
        {
            self.stop(&e);
        }
    }
}

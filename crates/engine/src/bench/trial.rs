//! The timed trials: the scratch folder, and copies of the sample the way a tree run makes them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::sample::Sample;
use super::{Group, MIB, Pairs, Row, check_cancel};
use crate::copy::{Copier, PendingFile};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{CancelToken, Reporter};
use crate::settings::{Durability, Settings};
use crate::strategy::Strategy;

/// Batched durability (as the tree executor does it): files up to this size wait for one
/// filesystem sync per batch of `BATCH_FILES`.
const BATCH_MAX_FILE: u64 = 8 * MIB;
const BATCH_FILES: usize = 128;

/// The scratch folder: created fresh next to the target, deleted whatever happens.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn create(parent: &Path, name: &str) -> Result<Scratch, Error> {
        let path = parent.join(format!(".fcs-bench-{name}-{}", std::process::id()));
        // create_dir, not create_dir_all: never adopt (and later delete) a folder we did not make.
        std::fs::create_dir(&path).or_code(
            Code::PlanRoots,
            &path,
            "cannot create the bench's scratch folder next to the folder",
        )?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: an error here must not hide the one that ended the run.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One bench run's state: what it copies, where to, and the rows measured so far.
pub(super) struct Bench<'a> {
    pub(super) folder: &'a Path,
    pub(super) scratch: &'a Path,
    pub(super) sample: &'a Sample,
    pub(super) reporter: Arc<dyn Reporter>,
    pub(super) cancel: &'a CancelToken,
    pub(super) reps: u32,
    pub(super) rows: Vec<Row>,
    pub(super) trial: u64,
}

impl Bench<'_> {
    /// Runs each variant `reps` times, interleaved, with `workers` workers; returns the rows.
    pub(super) fn group(
        &mut self,
        group: Group,
        base: &Settings,
        variants: &[(String, Pairs)],
        workers: usize,
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let v: Vec<_> = variants
            .iter()
            .map(|(l, s)| (l.clone(), s.clone(), workers))
            .collect();
        self.measure(group, base, &v, on_row)
    }

    pub(super) fn group_workers(
        &mut self,
        base: &Settings,
        variants: &[(String, Pairs)],
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let v: Vec<_> = variants
            .iter()
            .map(|(l, s)| (l.clone(), s.clone(), l.parse().unwrap_or(1)))
            .collect();
        self.measure(Group::Workers, base, &v, on_row)
    }

    fn measure(
        &mut self,
        group: Group,
        base: &Settings,
        variants: &[(String, Pairs, usize)],
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let mut rows: Vec<Row> = variants
            .iter()
            .map(|(label, settings, _)| Row {
                group,
                label: label.clone(),
                settings: settings.clone(),
                files: self.sample.files.len() as u64,
                bytes: self.sample.bytes,
                seconds: Vec::new(),
                error: None,
            })
            .collect();
        for _ in 0..self.reps {
            for (i, (_, pairs, workers)) in variants.iter().enumerate() {
                let mut s = base.clone();
                for (k, v) in pairs {
                    s.set(k, v)?;
                }
                let (dt, err) = self.trial(&s, *workers)?;
                rows[i].seconds.push(dt);
                if rows[i].error.is_none() {
                    rows[i].error = err;
                }
            }
        }
        for r in &rows {
            on_row(r);
        }
        self.rows.extend(rows.iter().cloned());
        Ok(rows)
    }

    /// One timed copy of the sample into a fresh folder of the scratch, then its deletion and a
    /// filesystem sync (not timed), so the next trial does not pay for this one's write-back.
    pub(super) fn trial(
        &mut self,
        settings: &Settings,
        workers: usize,
    ) -> Result<(f64, Option<String>), Error> {
        check_cancel(self.cancel, self.folder)?;
        self.trial += 1;
        let out = self.scratch.join(format!("t{}", self.trial));
        let mkdir = |p: &Path| {
            std::fs::create_dir(p).or_code(Code::PlanRoots, p, "cannot create a scratch folder")
        };
        mkdir(&out)?;
        for d in &self.sample.dirs {
            mkdir(&out.join(d))?;
        }
        let copier = Copier::new(settings.clone(), self.reporter.clone(), self.cancel.clone());
        let t = Instant::now();
        let err = copy_sample(&copier, self.folder, &out, self.sample, workers);
        let dt = t.elapsed().as_secs_f64();
        // Cancelled: report that, not the files it failed.
        check_cancel(self.cancel, self.folder)?;
        let _ = std::fs::remove_dir_all(&out);
        let _ = fsops::sync_filesystem(self.scratch);
        Ok((dt, err))
    }
}

/// Copies the sample on `workers` threads the way a tree run does for the copier's durability
/// setting; returns the first failure.
fn copy_sample(
    copier: &Copier,
    src_root: &Path,
    dst_root: &Path,
    sample: &Sample,
    workers: usize,
) -> Option<String> {
    let durability = copier.settings().durability;
    let next = AtomicUsize::new(0);
    let first_err: Mutex<Option<String>> = Mutex::new(None);
    let fail = |e: Error| {
        let mut f = first_err.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert_with(|| e.to_string());
    };
    let batch: Mutex<Vec<PendingFile>> = Mutex::new(Vec::new());
    let sync_batch = |files: Vec<PendingFile>| {
        if files.is_empty() {
            return;
        }
        match fsops::sync_filesystem(dst_root) {
            Ok(synced) => {
                for p in files {
                    if let Err(e) = copier.commit_file(p, synced) {
                        fail(e);
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for p in files {
                    let err = Error::new(
                        Code::FinalizeFsync,
                        dst_root,
                        format!("syncfs failed: {msg}"),
                    );
                    fail(copier.abandon_file(p, err));
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    if copier.cancel_token().is_cancelled() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = sample.files.get(i) else { break };
                    let (src, dst) = (src_root.join(&f.rel), dst_root.join(&f.rel));
                    let r = match durability {
                        Durability::Full => copier.copy_file(&src, &dst).map(|_| ()),
                        Durability::None => copier
                            .prepare_file(&src, &dst)
                            .and_then(|p| copier.commit_file(p, true))
                            .map(|_| ()),
                        Durability::Batch => match copier.prepare_file(&src, &dst) {
                            Ok(p)
                                if p.strategy() == Strategy::DirectSmall
                                    && f.size <= BATCH_MAX_FILE =>
                            {
                                let full = {
                                    let mut b = batch.lock().unwrap_or_else(|e| e.into_inner());
                                    b.push(p);
                                    (b.len() >= BATCH_FILES).then(|| std::mem::take(&mut *b))
                                };
                                if let Some(full) = full {
                                    sync_batch(full);
                                }
                                Ok(())
                            }
                            Ok(p) => copier.commit_file(p, false).map(|_| ()),
                            Err(e) => Err(e),
                        },
                    };
                    if let Err(e) = r {
                        fail(e);
                    }
                }
            });
        }
    });
    let rest = std::mem::take(&mut *batch.lock().unwrap_or_else(|e| e.into_inner()));
    sync_batch(rest);
    if durability != Durability::None {
        // The renames become durable with one fsync per folder, as in a tree run.
        for d in std::iter::once(PathBuf::new()).chain(sample.dirs.iter().cloned()) {
            if let Err(e) = fsops::sync_dir(&dst_root.join(d)) {
                fail(Error::io(
                    Code::FinalizeFsync,
                    dst_root,
                    "folder fsync failed",
                    e,
                ));
            }
        }
    }
    first_err.into_inner().unwrap_or_else(|e| e.into_inner())
}

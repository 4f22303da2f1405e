//! The safe per-file copy: the target ends up either the complete, verified new file or the
//! untouched old one (DESIGN.md §4).
//!
//! ```text
//! open source (regular file?) → preflight (target dir, same file, UNC, size cap, free space)
//! → select strategy → temp in the target directory (0600, short name) → [preallocate]
//! → Decision line → copy (DIRECT-SMALL | DIRECT-LARGE | STAGED), source hashed on the fly when
//!   verifying by hash → source unchanged? (size, mtime, identity) → times + permissions on the
//!   temp → fsync temp → verify (compare or hash, read back from the medium) → rename over the
//!   target → fsync the directory → Perf line
//! ```
//! Any failure or cancel before the rename deletes the temp (a drop guard), so the original target
//! is byte-identical to before.
//!
//! Metadata policy (seed A.10): modified/access times and permissions are applied to the temp
//! *before* the rename, so a failure there (`FINALIZE_E_METADATA`) still leaves the target
//! untouched: we treat it as a failure, not a warning, because a copy whose times differ would be
//! copied again by every later sync. Creation time is applied where the OS can set it (Windows,
//! macOS); on Linux it is reported as a notice, never faked.

use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use fsops::{DriveKind, KernelCopy, ReadBack};

use crate::error::{Code, Error};
use crate::events::{CancelToken, Event, Notice, Outcome, Perf, Phase, Reporter};
use crate::hash::{Hasher, select_hasher};
use crate::pipe;
use crate::settings::{Settings, UncPolicy};
use crate::strategy::{Decision, Prealloc, ReadBackMode, Strategy, VerifyMode, select};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// How much data moves through user space at a time: small enough to stay in the CPU's cache
/// between the read, the hash and the write, large enough that syscalls cost nothing.
const IO_SLICE: usize = 2 << 20;

/// DIRECT-SMALL compares files at least this large through memory maps of the copy; smaller
/// ones through a buffer.
const MMAP_MIN: u64 = 64 << 10;

/// With `verify_read=device`, DIRECT-SMALL files at least this large are compared by reading the
/// copy unbuffered rather than through a memory map (see `verify_compare_direct`).
const DIRECT_COMPARE_MIN: u64 = 8 << 20;

/// Request size of unbuffered (`O_DIRECT`) read-backs: large, because each request waits for
/// the device.
const DIRECT_SLICE: usize = 8 << 20;

/// Fault injection for the test suite (`test-hooks` feature only; never in a release build).
#[cfg(feature = "test-hooks")]
#[derive(Default)]
pub struct Hooks {
    /// Make pre-allocation fail as if the volume were full.
    pub fail_prealloc: bool,
    /// Make the write of this DIRECT-LARGE window (0-based) fail.
    pub fail_window: Option<u64>,
    /// Flip the byte at this offset of the temp after it is fsynced, before verify.
    pub flip_byte_before_verify: Option<u64>,
    /// Called after each copy window/chunk with its index (e.g. to truncate the source).
    pub after_copy_chunk: Option<Box<dyn Fn(u64) + Send + Sync>>,
    /// Pretend the target's volume is of this kind (e.g. a network share).
    pub force_dst_kind: Option<DriveKind>,
    /// Make the first N window mappings of the DIRECT-SMALL compare fail.
    pub fail_maps: u32,
}

#[cfg(feature = "test-hooks")]
impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks").finish_non_exhaustive()
    }
}

/// What a successful copy did.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub size: u64,
    pub strategy: Strategy,
    pub decision: Decision,
    pub verified: bool,
    /// The source digest computed during the copy (hash strategies with verify on).
    pub digest: Option<String>,
    pub perf: Perf,
    pub notices: Vec<Notice>,
}

/// Copies files one at a time, safely. Cheap to share between threads.
pub struct Copier {
    settings: Settings,
    reporter: Arc<dyn Reporter>,
    cancel: CancelToken,
    run_id: String,
    drive_cache: std::sync::Mutex<std::collections::HashMap<PathBuf, (DriveKind, bool)>>,
    /// The "creation time not preserved" notice is an OS limit, not news about one file: emitted
    /// once per run (every file's report still lists it).
    created_notice_sent: std::sync::atomic::AtomicBool,
    /// Replaced files go to the trash (tree runs with `delete_mode=trash`).
    trash_replaced: bool,
    #[cfg(feature = "test-hooks")]
    pub hooks: Hooks,
}

impl std::fmt::Debug for Copier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copier")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// Deletes the temp file when dropped, unless it was committed.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the error that got us here is the one worth reporting. fsops also
            // deletes a temp that already has the source's read-only attribute (Windows).
            let _ = fsops::remove_temp(&self.path);
        }
    }
}

/// What a strategy's copy phase produced.
struct Copied {
    file: File,
    bytes: u64,
    method: &'static str,
    src_digest: Option<String>,
    windows: u64,
    flushes: u64,
}

/// A file copied into its temp, not yet durable, verified or committed.
struct Prepared {
    job: Job,
    tmp_file: File,
    guard: TempGuard,
    dst_dir: PathBuf,
    strategy: Strategy,
    bytes: u64,
    method: &'static str,
    src_digest: Option<String>,
    windows: u64,
    flushes: u64,
    copy_ms: u64,
    started: Instant,
}

/// A file copied into its temp next to the target, waiting for its batch to be made durable
/// (see [`Copier::prepare_file`]). Dropping it deletes the temp.
pub struct PendingFile(Box<Prepared>);

impl std::fmt::Debug for PendingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingFile")
            .field("dst", &self.0.job.dst)
            .finish_non_exhaustive()
    }
}

impl PendingFile {
    pub fn strategy(&self) -> Strategy {
        self.0.strategy
    }
    pub fn size(&self) -> u64 {
        self.0.job.size
    }
    pub fn target(&self) -> &Path {
        &self.0.job.dst
    }
}

/// Per-file state shared by the phases.
struct Job {
    id: u64,
    src: PathBuf,
    dst: PathBuf,
    src_file: File,
    size: u64,
    tmp: PathBuf,
    decision: Decision,
    notices: Vec<Notice>,
}

impl Copier {
    pub fn new(mut settings: Settings, reporter: Arc<dyn Reporter>, cancel: CancelToken) -> Copier {
        // Without fsync nothing reaches the medium before the verify: it can only read the
        // cache (and dropping cached pages would start the very write-back `none` skips).
        if settings.durability == crate::settings::Durability::None {
            settings.verify_read = crate::settings::VerifyRead::Cache;
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let run_id = format!("{:08x}", (std::process::id().rotate_left(16)) ^ nanos);
        Copier {
            settings,
            reporter,
            cancel,
            run_id,
            drive_cache: Default::default(),
            created_notice_sent: Default::default(),
            trash_replaced: false,
            #[cfg(feature = "test-hooks")]
            hooks: Hooks::default(),
        }
    }

    /// Replaced target files are moved to the trash after their verified copy took their place
    /// (what the original app did); the replacement itself stays one atomic rename.
    pub fn with_trash_replaced(mut self, on: bool) -> Copier {
        self.trash_replaced = on;
        self
    }

    /// Names this run's temps with `tag` (a journaled run's tag, so a resume and the sweep can
    /// tell its temps from other runs').
    pub fn with_run_tag(mut self, tag: &str) -> Copier {
        self.run_id = tag.to_string();
        self
    }

    /// The tag in this run's temp names.
    pub fn run_tag(&self) -> &str {
        &self.run_id
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// The drive kind (and UNC-ness) of a path, cached per directory: a tree run asks for the
    /// same few directories thousands of times, and each uncached answer reads
    /// `/proc/self/mountinfo` and resolves every path component. A symlink is judged by its
    /// target (seed A.9), so it is never answered from its directory's entry.
    fn drive_info_cached(&self, p: &Path, is_dir: bool) -> std::io::Result<(DriveKind, bool)> {
        let is_link = !is_dir
            && std::fs::symlink_metadata(p)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
        let key = if is_dir || is_link {
            p.to_path_buf()
        } else {
            parent_dir(p)
        };
        if !is_link
            && let Some(k) = self
                .drive_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
        {
            return Ok(*k);
        }
        let info = fsops::drive_info(p)?;
        let k = (info.kind, info.is_unc || fsops::is_unc_path(p));
        if !is_link {
            self.drive_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, k);
        }
        Ok(k)
    }

    /// A fresh temp name next to `dst` (this run's naming: `.<name>.<run>-<n>.fcs.tmp`).
    pub(crate) fn temp_for(&self, dst: &Path) -> PathBuf {
        temp_path(&parent_dir(dst), dst, &self.run_id)
    }

    pub fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }

    /// Like [`Copier::copy_file`], but leaves the fsync of the target's directory to the caller,
    /// who syncs each directory once after a batch of files (the tree executor). The file itself
    /// is fsynced and verified before its rename as always.
    pub fn copy_file_deferred(&self, src: &Path, dst: &Path) -> Result<FileReport, Error> {
        self.copy_with(src, dst, false)
    }

    /// Copies the regular file `src` to `dst` (a file path, or an existing directory to copy
    /// into). Emits `FileStarted` … `FileFinished` whatever the outcome.
    pub fn copy_file(&self, src: &Path, dst: &Path) -> Result<FileReport, Error> {
        self.copy_with(src, dst, true)
    }

    fn copy_with(&self, src: &Path, dst: &Path, sync_dir: bool) -> Result<FileReport, Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dst = resolve_target(src, dst);
        let result = self
            .prepare(id, src, &dst, None, Instant::now())
            .and_then(|p| self.finish(p, false, sync_dir));
        self.report_finished(id, src, &dst, result.as_ref());
        result
    }

    /// First half of a batched copy: preflight, copy into the temp, source check, metadata —
    /// everything but making it durable, verifying and committing it. The caller collects a batch,
    /// makes the whole filesystem durable once (`fsops::sync_filesystem`), then calls
    /// [`Copier::commit_file`] for each. Thousands of small files then cost a few syncs instead
    /// of one fsync each, and every file is still verified (from the medium) before its rename.
    pub fn prepare_file(&self, src: &Path, dst: &Path) -> Result<PendingFile, Error> {
        self.prepare_file_as(src, dst, None)
    }

    /// [`Copier::prepare_file`] for action `seq` of a journaled run: the temp is named after the
    /// run's tag and `seq` (`.<name>.<tag>-s<seq>.fcs.tmp`), so the journal, which holds the
    /// plan, knows every temp the run can leave behind without a write per file.
    pub fn prepare_file_as(
        &self,
        src: &Path,
        dst: &Path,
        seq: Option<usize>,
    ) -> Result<PendingFile, Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self.prepare(id, src, dst, seq, Instant::now()) {
            Ok(p) => Ok(PendingFile(Box::new(p))),
            Err(e) => {
                self.report_finished(id, src, dst, Err(&e));
                Err(e)
            }
        }
    }

    /// Second half of a batched copy. `synced`: the filesystem holding the temp was synced after
    /// the temp was written (else the temp is fsynced here). The directory fsync is left to the
    /// caller, once per directory.
    pub fn commit_file(&self, pending: PendingFile, synced: bool) -> Result<FileReport, Error> {
        let p = *pending.0;
        let (id, src, dst) = (p.job.id, p.job.src.clone(), p.job.dst.clone());
        let result = self.finish(p, synced, false);
        self.report_finished(id, &src, &dst, result.as_ref());
        result
    }

    /// Abandons a prepared file (its batch could not be made durable): the temp is deleted and
    /// the file reported as failed with `error`.
    pub fn abandon_file(&self, pending: PendingFile, error: Error) -> Error {
        let (id, src, dst) = (
            pending.0.job.id,
            pending.0.job.src.clone(),
            pending.0.job.dst.clone(),
        );
        drop(pending);
        self.report_finished(id, &src, &dst, Err(&error));
        error
    }

    fn report_finished(
        &self,
        id: u64,
        src: &Path,
        dst: &Path,
        result: Result<&FileReport, &Error>,
    ) {
        let (outcome, perf) = match result {
            Ok(r) => (
                Outcome::Committed {
                    verified: r.verified,
                },
                Some(r.perf.clone()),
            ),
            Err(e) if e.is_cancelled() => (Outcome::Cancelled { code: e.code }, None),
            Err(e) => (
                Outcome::Failed {
                    code: e.code,
                    message: e.to_string(),
                },
                None,
            ),
        };
        let perf_line = perf
            .as_ref()
            .filter(|_| self.settings.perf_log)
            .map(|p| p.to_string());
        self.reporter.report(&Event::FileFinished {
            id,
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            outcome,
            perf,
            perf_line,
        });
    }

    fn notice(&self, job: &mut Job, kind: &'static str, message: String) {
        let n = Notice { kind, message };
        self.reporter.report(&Event::Notice {
            id: job.id,
            path: job.dst.clone(),
            notice: n.clone(),
        });
        job.notices.push(n);
    }

    fn emit_decision(&self, job: &Job) {
        self.reporter.report(&Event::Decision {
            id: job.id,
            decision: job.decision.clone(),
            line: job.decision.to_string(),
        });
    }

    fn progress(&self, id: u64, phase: Phase, done: u64, total: u64) -> ControlFlow<()> {
        self.reporter.report(&Event::Progress {
            id,
            phase,
            done,
            total,
        });
        if self.cancel.is_cancelled() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Everything up to (not including) making the temp durable: preflight, strategy, temp,
    /// copy, source-unchanged check, metadata.
    fn prepare(
        &self,
        id: u64,
        src: &Path,
        dst: &Path,
        seq: Option<usize>,
        started: Instant,
    ) -> Result<Prepared, Error> {
        let s = &self.settings;

        // --- source ---------------------------------------------------------------------------
        let src_file = fsops::open_source(src)
            .map_err(|e| Error::io(Code::PreflightSource, src, "cannot open the source", e))?;
        let src_meta = src_file.metadata().map_err(|e| {
            Error::io(
                Code::PreflightSource,
                src,
                "cannot read the source's metadata",
                e,
            )
        })?;
        if !src_meta.is_file() {
            return Err(Error::new(
                Code::PreflightSource,
                src,
                "the source is not a regular file",
            ));
        }
        let size = src_meta.len();
        self.reporter.report(&Event::FileStarted {
            id,
            src: src.into(),
            dst: dst.into(),
            size,
        });
        let src_identity = match fsops::identity_from_metadata(&src_meta) {
            Some(id) => id,
            None => fsops::file_identity(&src_file).map_err(|e| {
                Error::io(Code::PreflightSource, src, "cannot identify the source", e)
            })?,
        };

        // --- target directory and existing target ----------------------------------------------
        let dst_dir = parent_dir(dst);
        match std::fs::metadata(&dst_dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    Code::PreflightTargetDir,
                    &dst_dir,
                    "the target's parent is not a directory",
                ));
            }
            Err(e) => {
                return Err(Error::io(
                    Code::PreflightTargetDir,
                    &dst_dir,
                    "the target directory is not accessible",
                    e,
                ));
            }
        }
        match std::fs::symlink_metadata(dst) {
            Ok(m) if m.is_dir() => {
                return Err(Error::new(
                    Code::PreflightTargetDir,
                    dst,
                    "the target is a directory",
                ));
            }
            Ok(_) => {
                if fsops::path_identity(dst).ok() == Some(src_identity) {
                    return Err(Error::new(
                        Code::PreflightSameFile,
                        dst,
                        "source and target are the same file",
                    ));
                }
            }
            Err(_) => {}
        }

        // --- drive kinds, UNC policy, size cap --------------------------------------------------
        let mut notices = Vec::new();
        let mut kind_of = |p: &Path, is_dir: bool| match self.drive_info_cached(p, is_dir) {
            Ok(k) => k,
            Err(e) => {
                notices.push(Notice {
                    kind: "drive_kind_unknown",
                    message: format!(
                        "cannot tell the drive kind of '{}' ({e}); treated as UNKNOWN",
                        p.display()
                    ),
                });
                (DriveKind::Unknown, fsops::is_unc_path(p))
            }
        };
        let (mut src_kind, src_unc) = kind_of(src, false);
        let (mut dst_kind, dst_unc) = kind_of(&dst_dir, true);
        #[cfg(feature = "test-hooks")]
        if let Some(k) = self.hooks.force_dst_kind {
            dst_kind = k;
        }
        if src_unc || dst_unc {
            match s.unc_policy {
                UncPolicy::Reject => {
                    let p = if src_unc { src } else { dst };
                    return Err(Error::new(
                        Code::PreflightUnc,
                        p,
                        "UNC paths are rejected (unc_policy=reject)",
                    ));
                }
                UncPolicy::Staged => {
                    if src_unc {
                        src_kind = DriveKind::NetworkUnc;
                    }
                    if dst_unc {
                        dst_kind = DriveKind::NetworkUnc;
                    }
                }
            }
        }
        if s.max_file_size > 0 && size > s.max_file_size {
            return Err(Error::new(
                Code::PreflightTooLarge,
                src,
                format!(
                    "the source is {size} bytes, above max_file_size={}",
                    s.max_file_size
                ),
            ));
        }

        let strategy = select(s, src_kind, dst_kind, size);
        let mut decision = Decision::new(s, strategy, src_kind, dst_kind, size);
        let tmp = match seq {
            Some(seq) => seq_temp_path(&parent_dir(dst), dst, &self.run_id, seq),
            None => self.temp_for(dst),
        };
        let mut job = Job {
            id,
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            src_file,
            size,
            tmp,
            decision: decision.clone(),
            notices,
        };
        for n in std::mem::take(&mut job.notices) {
            self.notice(&mut job, n.kind, n.message);
        }

        // A read-back from the medium is impossible where the medium *is* the cache (tmpfs).
        if decision.read_back == ReadBackMode::Device && dst_kind == DriveKind::Ramdisk {
            decision.read_back = ReadBackMode::Cache;
            job.decision = decision.clone();
            self.notice(
                &mut job,
                "read_back_cache",
                "verify_read=device is not possible on this filesystem; the verify reads the page cache".into(),
            );
        }

        if s.sparse_file_warning && fsops::is_sparse(&src_meta) {
            self.notice(
                &mut job,
                "sparse_source",
                "the source is sparse; its holes are copied as data".into(),
            );
        }

        // --- free space -------------------------------------------------------------------------
        let need = size.saturating_add(s.free_space_margin);
        match fsops::free_space(&dst_dir) {
            Ok(free) if free < need => {
                let msg =
                    format!("needs {need} bytes (size + free_space_margin) but {free} are free");
                if dst_kind.is_local() || dst_kind == DriveKind::Removable {
                    return Err(Error::new(Code::CopyNoSpace, &dst_dir, msg));
                }
                // Network free-space figures are often wrong (quotas, thin pools): attempt, warn.
                self.notice(&mut job, "low_space", msg);
            }
            Ok(_) => {}
            Err(e) => self.notice(
                &mut job,
                "free_space_unknown",
                format!("cannot read free space ({e})"),
            ),
        }

        // --- copy -------------------------------------------------------------------------------
        let t_copy = Instant::now();
        let guard = TempGuard {
            path: job.tmp.clone(),
            armed: true,
        };
        let copied = match strategy {
            Strategy::DirectSmall => self.direct_small(&mut job)?,
            Strategy::DirectLarge => self.direct_large(&mut job)?,
            Strategy::Staged => self.staged(&mut job)?,
        };
        let copy_ms = t_copy.elapsed().as_millis() as u64;
        let Copied {
            file: tmp_file,
            bytes,
            method,
            src_digest,
            windows,
            flushes,
        } = copied;

        // --- did the source change while we copied it? -------------------------------------------
        self.check_source_unchanged(&job, &src_meta, src_identity, bytes)?;

        // --- metadata onto the temp, then make it durable ----------------------------------------
        self.apply_metadata(&mut job, &tmp_file, &src_meta)?;
        Ok(Prepared {
            job,
            tmp_file,
            guard,
            dst_dir,
            strategy,
            bytes,
            method,
            src_digest,
            windows,
            flushes,
            copy_ms,
            started,
        })
    }

    /// Makes the temp durable (unless the caller already synced the whole filesystem), verifies
    /// it, renames it over the target and (unless deferred) fsyncs the directory.
    fn finish(&self, p: Prepared, synced: bool, sync_dir: bool) -> Result<FileReport, Error> {
        let Prepared {
            mut job,
            tmp_file,
            mut guard,
            dst_dir,
            strategy,
            bytes,
            method,
            src_digest,
            windows,
            flushes,
            copy_ms,
            started,
        } = p;
        let (src, dst, size) = (job.src.clone(), job.dst.clone(), job.size);
        let (src, dst) = (src.as_path(), dst.as_path());
        if !synced {
            tmp_file.sync_all().map_err(|e| {
                // I7: a failed fsync is never retried and trusted. The temp is discarded.
                Error::io(
                    Code::FinalizeFsync,
                    &job.tmp,
                    "fsync of the temp file failed",
                    e,
                )
            })?;
        }

        #[cfg(feature = "test-hooks")]
        if let Some(off) = self.hooks.flip_byte_before_verify {
            flip_byte(&tmp_file, off);
        }

        // --- verify -----------------------------------------------------------------------------
        let t_verify = Instant::now();
        let verified = job.decision.verify != VerifyMode::None;
        if verified {
            // A fresh read-only handle that leaves the access time we just applied alone.
            let readback = fsops::open_readback(&job.tmp).map_err(|e| {
                Error::io(
                    Code::VerifyRead,
                    &job.tmp,
                    "cannot reopen the copy for verification",
                    e,
                )
            })?;
            // The hash verify reads unbuffered where it can (`open_direct`); the compare, and a
            // hash verify where unbuffered reads are refused, drop the cached pages instead.
            let direct = match (job.decision.read_back, job.decision.verify) {
                (ReadBackMode::Device, VerifyMode::Hash) => {
                    fsops::open_direct(&job.tmp).ok().flatten()
                }
                (ReadBackMode::Device, VerifyMode::Mmap) if job.size >= DIRECT_COMPARE_MIN => {
                    fsops::open_direct(&job.tmp).ok().flatten()
                }
                _ => None,
            };
            if job.decision.read_back == ReadBackMode::Device && direct.is_none() {
                match fsops::drop_cache(&readback) {
                    Ok(ReadBack::Device) => {}
                    Ok(ReadBack::Cache) => self.notice(
                        &mut job,
                        "read_back_cache",
                        "the filesystem cannot drop cached pages; the verify reads the page cache"
                            .into(),
                    ),
                    Err(e) => self.notice(
                        &mut job,
                        "read_back_cache",
                        format!("cannot drop cached pages ({e})"),
                    ),
                }
            }
            match job.decision.verify {
                VerifyMode::Mmap => match &direct {
                    Some(d) => self.verify_compare_direct(&job, d)?,
                    None => self.verify_compare(&job, &readback)?,
                },
                VerifyMode::Hash => {
                    let expected = src_digest.as_deref().unwrap_or_default();
                    self.verify_hash(&job, direct.as_ref(), &readback, expected)?
                }
                VerifyMode::None => {}
            }
        }
        let verify_ms = if verified {
            t_verify.elapsed().as_millis() as u64
        } else {
            0
        };

        // --- commit -----------------------------------------------------------------------------
        // Close our handle first: Windows cannot rename a file that is open without share-delete.
        drop(tmp_file);
        let kept = if self.trash_replaced {
            self.keep_replaced(&mut job, &dst_dir)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&job.tmp, dst) {
            if let Some(k) = &kept {
                let _ = std::fs::remove_file(k.join(dst.file_name().unwrap_or_default()));
                let _ = std::fs::remove_dir(k);
            }
            let message = match fsops::describe_os_error(&e) {
                Some(cause) => format!("cannot replace the target with the verified copy: {cause}"),
                None => "cannot replace the target with the verified copy".to_string(),
            };
            return Err(Error::io(Code::FinalizeRename, dst, message, e));
        }
        guard.armed = false;
        if let Some(k) = kept {
            self.trash_kept(&mut job, &k);
        }
        if sync_dir {
            fsops::sync_dir(&dst_dir).map_err(|e| {
                Error::io(
                    Code::FinalizeDirSync,
                    &dst_dir,
                    "fsync of the target directory failed after the rename",
                    e,
                )
            })?;
        }

        let perf = Perf {
            bytes,
            elapsed_ms: started.elapsed().as_millis() as u64,
            copy_ms,
            verify_ms,
            windows,
            flushes,
            strategy,
            verify: job.decision.verify.as_str(),
            method,
        };
        Ok(FileReport {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            size,
            strategy,
            decision: job.decision,
            verified,
            digest: src_digest,
            perf,
            notices: job.notices,
        })
    }

    /// Before a verified copy replaces an existing file: a second name (hard link) for the old
    /// file in a private folder next to it, so the rename stays atomic (the target path always
    /// holds the complete old or new file) and the old version can go to the trash afterwards
    /// under its own name. `None` (with a notice) where the filesystem has no hard links.
    fn keep_replaced(&self, job: &mut Job, dst_dir: &Path) -> Option<PathBuf> {
        let dst = job.dst.clone();
        match std::fs::symlink_metadata(&dst) {
            Ok(m) if m.is_file() => {}
            _ => return None,
        }
        let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
        let keep = dst_dir.join(format!(".fcs-replaced.{}-{n}.fcs.tmp", self.run_id));
        let linked = std::fs::create_dir(&keep).and_then(|()| {
            std::fs::hard_link(&dst, keep.join(dst.file_name().unwrap_or_default()))
        });
        match linked {
            Ok(()) => Some(keep),
            Err(e) => {
                let _ = std::fs::remove_dir(&keep);
                self.notice(job, "replaced_not_trashed", format!("the replaced version cannot be kept for the trash here ({e}); it is replaced without a copy in the trash"));
                None
            }
        }
    }

    /// Moves the replaced version kept by [`Copier::keep_replaced`] to the trash. If the trash
    /// refuses, it stays where it is (never deleted silently) and a notice names it.
    fn trash_kept(&self, job: &mut Job, keep: &Path) {
        let old = keep.join(job.dst.file_name().unwrap_or_default());
        match trash::delete(&old) {
            Ok(()) => {
                let _ = std::fs::remove_dir(keep);
            }
            Err(e) => self.notice(
                job,
                "replaced_not_trashed",
                format!("the replaced version could not be moved to the trash ({e}); it was kept at '{}'", old.display()),
            ),
        }
    }

    /// DIRECT-SMALL: the kernel copy; verify (later) by window compare.
    fn direct_small(&self, job: &mut Job) -> Result<Copied, Error> {
        self.emit_decision(job);
        let (id, size) = (job.id, job.size);
        #[cfg(feature = "test-hooks")]
        let mut chunk_index = 0u64;
        let mut cb = |done: u64| {
            #[cfg(feature = "test-hooks")]
            if let Some(f) = &self.hooks.after_copy_chunk {
                f(chunk_index);
                chunk_index += 1;
            }
            self.progress(id, Phase::Copy, done, size)
        };
        let out = fsops::kernel_copy(
            &job.src_file,
            &job.src,
            &job.tmp,
            size,
            self.settings.kernel_copy_chunk,
            &mut cb,
        )
        .map_err(|e| copy_io_error(e, &job.tmp, &job.src))?;
        match out {
            KernelCopy::Cancelled => Err(cancelled_copy(&job.dst)),
            KernelCopy::Copied {
                file,
                method,
                bytes,
            } => Ok(Copied {
                file,
                bytes,
                method: method.as_str(),
                src_digest: None,
                windows: 0,
                flushes: 0,
            }),
        }
    }

    /// DIRECT-LARGE: preallocated temp, windowed copy with the source hashed on the fly (only
    /// when verifying), write-back started every `flush_every_windows` windows.
    ///
    /// The source is read with `pread`, never mapped: a source truncated while mapped raises
    /// SIGBUS and kills the process, whereas a short read is just a value we turn into
    /// `COPY_E_SOURCE_CHANGED`. Each window is copied in the kernel (`copy_file_range`) where the
    /// OS can; with verify on, the same window of the source is then read from the page cache it
    /// was just copied through and hashed on a second thread, so the source comes off the medium
    /// once and the hash overlaps the copy. With verify off there is no hasher at all.
    fn direct_large(&self, job: &mut Job) -> Result<Copied, Error> {
        let s = &self.settings;
        let tmp_file = fsops::create_temp(&job.tmp).map_err(|e| {
            Error::io(
                Code::CopyTempCreate,
                &job.tmp,
                "cannot create the temp file in the target directory",
                e,
            )
        })?;

        #[cfg(feature = "test-hooks")]
        let injected = self.hooks.fail_prealloc;
        #[cfg(not(feature = "test-hooks"))]
        let injected = false;
        let prealloc = if injected {
            Err(Error::io(
                Code::CopyPrealloc,
                &job.tmp,
                format!("cannot pre-allocate {} bytes", job.size),
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ))
        } else {
            match fsops::preallocate(&tmp_file, job.size) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::new(
                    Code::CopyPrealloc,
                    &job.tmp,
                    format!(
                        "the target filesystem cannot pre-allocate {} bytes without making a sparse file",
                        job.size
                    ),
                )),
                Err(e) => Err(Error::io(
                    Code::CopyPrealloc,
                    &job.tmp,
                    format!("cannot pre-allocate {} bytes", job.size),
                    e,
                )),
            }
        };
        if let Err(e) = prealloc {
            job.decision.prealloc = Prealloc::Failed;
            self.emit_decision(job);
            return Err(e);
        }
        self.emit_decision(job);

        let hasher = select_hasher(
            s.hash,
            job.decision.verify == VerifyMode::Hash,
            s.hash_threads,
        );
        let window = s.window;
        let slice = IO_SLICE.min(job.size.max(1) as usize);
        let job = &*job;
        let tmp = &tmp_file;
        let ((kernel_ok, windows, flushes), digest) = pipe::with_hasher(hasher, slice, |feed| {
            let hashing = feed.hashing();
            let mut kernel_ok = true;
            let (mut off, mut windows, mut flushes, mut flushed_to) = (0u64, 0u64, 0u64, 0u64);
            while off < job.size {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&job.dst));
                }
                let len = window.min(job.size - off);
                let mut done = false;
                if kernel_ok {
                    match fsops::copy_range(&job.src_file, tmp, off, len) {
                        Ok(Some(n)) if n == len => done = true,
                        Ok(Some(n)) => return Err(source_shrank(&job.src, off + n, job.size)),
                        Ok(None) => kernel_ok = false,
                        Err(e) => return Err(window_error(&job.tmp, windows, off, len, e)),
                    }
                }
                // Slices of the window through user space: to hash them after the kernel copy,
                // or to copy (and hash) them where the kernel cannot.
                if hashing || !done {
                    let mut pos = off;
                    while pos < off + len {
                        let n = (slice as u64).min(off + len - pos) as usize;
                        let mut buf = feed.buf();
                        read_source(&job.src_file, &job.src, job.size, &mut buf[..n], pos)?;
                        if !done {
                            fsops::write_all_at(tmp, &buf[..n], pos)
                                .map_err(|e| window_error(&job.tmp, windows, off, len, e))?;
                        }
                        feed.submit(buf, n);
                        pos += n as u64;
                    }
                }
                #[cfg(feature = "test-hooks")]
                if self.hooks.fail_window == Some(windows) {
                    return Err(window_error(
                        &job.tmp,
                        windows,
                        off,
                        len,
                        std::io::Error::other("injected window failure"),
                    ));
                }
                off += len;
                windows += 1;
                if windows % u64::from(s.flush_every_windows) == 0 {
                    fsops::start_writeback(tmp, flushed_to, off - flushed_to).map_err(|e| {
                        Error::io(
                            Code::CopyWrite,
                            &job.tmp,
                            format!("flush after window {windows} failed"),
                            e,
                        )
                    })?;
                    flushed_to = off;
                    flushes += 1;
                }
                #[cfg(feature = "test-hooks")]
                if let Some(f) = &self.hooks.after_copy_chunk {
                    f(windows - 1);
                }
                if self.progress(job.id, Phase::Copy, off, job.size).is_break() {
                    return Err(cancelled_copy(&job.dst));
                }
            }
            Ok((kernel_ok, windows, flushes))
        })?;
        Ok(Copied {
            file: tmp_file,
            bytes: job.size,
            method: if kernel_ok {
                "copy_file_range"
            } else {
                "pread_pwrite"
            },
            src_digest: digest,
            windows,
            // The final fsync is the last flush (seed A.5: "always perform a final flush").
            flushes: flushes + 1,
        })
    }

    /// STAGED: buffered chunks with a progressive hash of the source (on a second thread, so
    /// it overlaps the network I/O).
    fn staged(&self, job: &mut Job) -> Result<Copied, Error> {
        let s = &self.settings;
        let tmp_file = fsops::create_temp(&job.tmp).map_err(|e| {
            Error::io(
                Code::CopyTempCreate,
                &job.tmp,
                "cannot create the temp file in the target directory",
                e,
            )
        })?;
        self.emit_decision(job);
        let hasher = select_hasher(
            s.hash,
            job.decision.verify == VerifyMode::Hash,
            s.hash_threads,
        );
        let chunk = s.staged_chunk.min(job.size.max(1)) as usize;
        let job = &*job;
        let tmp = &tmp_file;
        let (chunks, digest) = pipe::with_hasher(hasher, chunk, |feed| {
            let (mut off, mut chunks) = (0u64, 0u64);
            while off < job.size {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_copy(&job.dst));
                }
                let len = (chunk as u64).min(job.size - off) as usize;
                let mut buf = feed.buf();
                read_source(&job.src_file, &job.src, job.size, &mut buf[..len], off)?;
                fsops::write_all_at(tmp, &buf[..len], off).map_err(|e| {
                    Error::io(
                        Code::CopyWrite,
                        &job.tmp,
                        format!("write failed at offset {off} ({off} bytes written)"),
                        e,
                    )
                })?;
                feed.submit(buf, len);
                off += len as u64;
                chunks += 1;
                #[cfg(feature = "test-hooks")]
                if let Some(f) = &self.hooks.after_copy_chunk {
                    f(chunks - 1);
                }
                if self.progress(job.id, Phase::Copy, off, job.size).is_break() {
                    return Err(cancelled_copy(&job.dst));
                }
            }
            Ok(chunks)
        })?;
        Ok(Copied {
            file: tmp_file,
            bytes: job.size,
            method: "read_write",
            src_digest: digest,
            windows: chunks,
            flushes: 1,
        })
    }

    /// The source must be the same file, with the same size and modified time, as when we opened
    /// it — else what we copied may be a torn mix of two versions.
    fn check_source_unchanged(
        &self,
        job: &Job,
        before: &std::fs::Metadata,
        identity: fsops::FileIdentity,
        copied: u64,
    ) -> Result<(), Error> {
        let changed = |what: String| Error::new(Code::CopySourceChanged, &job.src, what);
        if copied != job.size {
            return Err(changed(format!(
                "copied {copied} bytes but the source had {} when opened",
                job.size
            )));
        }
        let after = job.src_file.metadata().map_err(|e| {
            Error::io(
                Code::CopyRead,
                &job.src,
                "cannot re-read the source's metadata",
                e,
            )
        })?;
        if after.len() != job.size {
            return Err(changed(format!(
                "the source's size changed from {} to {} during the copy",
                job.size,
                after.len()
            )));
        }
        if after.modified().ok() != before.modified().ok() {
            return Err(changed("the source was modified during the copy".into()));
        }
        match fsops::path_identity(&job.src) {
            Ok(id) if id == identity => Ok(()),
            Ok(_) => Err(changed(
                "the source path now names a different file (replaced during the copy)".into(),
            )),
            Err(e) => Err(Error::io(
                Code::CopySourceChanged,
                &job.src,
                "the source disappeared during the copy",
                e,
            )),
        }
    }

    fn apply_metadata(
        &self,
        job: &mut Job,
        tmp: &File,
        src_meta: &std::fs::Metadata,
    ) -> Result<(), Error> {
        let s = &self.settings;
        if s.preserve_times {
            let created = src_meta.created().ok();
            let times = fsops::Times {
                accessed: src_meta.accessed().ok(),
                modified: src_meta.modified().ok(),
                created,
            };
            let applied = fsops::set_times(tmp, &times).map_err(|e| {
                Error::io(
                    Code::FinalizeMetadata,
                    &job.tmp,
                    "cannot set the copy's times",
                    e,
                )
            })?;
            if created.is_some() && !applied.created {
                let n = Notice {
                    kind: "created_time_not_preserved",
                    message: "this OS cannot set a file's creation time; the copy's is the time of the copy".into(),
                };
                if !self.created_notice_sent.swap(true, Ordering::Relaxed) {
                    self.reporter.report(&Event::Notice {
                        id: job.id,
                        path: job.dst.clone(),
                        notice: n.clone(),
                    });
                }
                job.notices.push(n);
            }
        }
        if s.preserve_permissions {
            tmp.set_permissions(src_meta.permissions()).map_err(|e| {
                Error::io(
                    Code::FinalizeMetadata,
                    &job.tmp,
                    "cannot set the copy's permissions",
                    e,
                )
            })?;
            fsops::copy_attributes(src_meta, tmp).map_err(|e| {
                Error::io(
                    Code::FinalizeMetadata,
                    &job.tmp,
                    "cannot set the copy's attributes",
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// DIRECT-SMALL verify from the medium for larger files: the same window-by-window compare
    /// that stops at the first difference, but the copy is read unbuffered in large aligned
    /// requests. Page faults on a mapping whose cache was just dropped read the device in small
    /// synchronous steps (measured: 1.3 s for a 480 MiB file, against 0.7 s this way).
    fn verify_compare_direct(&self, job: &Job, direct: &File) -> Result<(), Error> {
        let slice = DIRECT_SLICE
            .min((job.size as usize).div_ceil(fsops::DIRECT_ALIGN) * fsops::DIRECT_ALIGN);
        let mut src_buf = vec![0u8; slice];
        // The copy is read ahead (two requests in flight) while each slice is compared: the
        // device never waits for the compare, nor the compare for a lone request.
        pipe::read_ahead(
            job.size,
            slice,
            |buf, off| fsops::read_direct_at(direct, buf, off),
            |off, e| {
                Error::io(
                    Code::VerifyRead,
                    &job.tmp,
                    format!("read-back failed at offset {off}"),
                    e,
                )
            },
            |off, dst_buf, got| {
                if self.cancel.is_cancelled() {
                    return Err(cancelled_verify(&job.dst));
                }
                let want = (slice as u64).min(job.size - off) as usize;
                read_source(&job.src_file, &job.src, job.size, &mut src_buf[..want], off)?;
                let mismatch = if got < want {
                    Some(got)
                } else {
                    first_difference(&src_buf[..want], &dst_buf[..want])
                };
                if let Some(i) = mismatch {
                    return Err(compare_mismatch(&job.dst, off + i as u64));
                }
                if self
                    .progress(job.id, Phase::Verify, off + want as u64, job.size)
                    .is_break()
                {
                    return Err(cancelled_verify(&job.dst));
                }
                Ok(())
            },
        )
    }

    /// DIRECT-SMALL verify: compares source and copy window by window and stops at the first
    /// difference, naming its offset. The copy (our own temp, which nobody else truncates) is
    /// memory-mapped; a window whose mapping fails is compared through a buffer instead, at most
    /// `mmap_fallback_max_failures` windows in a row. The source is read with `pread` so that a
    /// source shrinking under us is a short read, not a SIGBUS.
    fn verify_compare(&self, job: &Job, tmp: &File) -> Result<(), Error> {
        let s = &self.settings;
        let window = s.window.min(job.size.max(1)) as usize;
        let mut src_buf = vec![0u8; window];
        let mut dst_buf: Vec<u8> = Vec::new();
        let (mut off, mut failures_in_row) = (0u64, 0u32);
        while off < job.size {
            if self.cancel.is_cancelled() {
                return Err(cancelled_verify(&job.dst));
            }
            let len = (window as u64).min(job.size - off) as usize;
            read_source(&job.src_file, &job.src, job.size, &mut src_buf[..len], off)?;
            let src = &src_buf[..len];
            // Files below MMAP_MIN are compared through a buffer from the start: mapping and
            // unmapping one or two pages costs more than reading them (and every munmap in a
            // multi-threaded run is a TLB shootdown on every core).
            let mapped = (job.size >= MMAP_MIN).then(|| fsops::MappedWindow::map(tmp, off, len));
            #[cfg(feature = "test-hooks")]
            let mapped = if off / (window as u64) < u64::from(self.hooks.fail_maps) {
                Some(Err(std::io::Error::other("injected mapping failure")))
            } else {
                mapped
            };
            let buffered = match mapped {
                Some(Ok(map)) => {
                    failures_in_row = 0;
                    Err(first_difference(src, &map))
                }
                Some(Err(map_err)) => {
                    failures_in_row += 1;
                    if failures_in_row > s.mmap_fallback_max_failures {
                        return Err(Error::io(
                            Code::VerifyRead,
                            &job.tmp,
                            format!(
                                "{failures_in_row} windows in a row could not be mapped (last at offset {off})"
                            ),
                            map_err,
                        ));
                    }
                    Ok(())
                }
                None => Ok(()),
            };
            let mismatch = match buffered {
                Err(mismatch) => mismatch,
                Ok(()) => {
                    if dst_buf.is_empty() {
                        dst_buf = vec![0u8; window];
                    }
                    let m = fsops::read_at(tmp, &mut dst_buf[..len], off).map_err(|e| {
                        Error::io(
                            Code::VerifyRead,
                            &job.tmp,
                            format!("read-back failed at offset {off}"),
                            e,
                        )
                    })?;
                    if m < len {
                        Some(m)
                    } else {
                        first_difference(src, &dst_buf[..len])
                    }
                }
            };
            if let Some(i) = mismatch {
                return Err(compare_mismatch(&job.dst, off + i as u64));
            }
            off += len as u64;
            if self
                .progress(job.id, Phase::Verify, off, job.size)
                .is_break()
            {
                return Err(cancelled_verify(&job.dst));
            }
        }
        Ok(())
    }

    /// Hash verify (DIRECT-LARGE, STAGED): one pass over the copy, hashed on a second thread
    /// while the next slice is read, compared with the digest of the source taken during the
    /// copy. With `read_back=device` the copy is read unbuffered (`O_DIRECT`) where the
    /// filesystem allows, else through the page cache that was dropped after the fsync.
    fn verify_hash(
        &self,
        job: &Job,
        direct: Option<&File>,
        readback: &File,
        expected: &str,
    ) -> Result<(), Error> {
        let s = &self.settings;
        let file = direct.unwrap_or(readback);
        let slice = match job.decision.strategy {
            // STAGED reads back in its own chunk size (seed 001 §B.2.3); unbuffered reads want
            // large requests, buffered ones cache-sized slices.
            Strategy::Staged => s.staged_chunk as usize,
            _ if direct.is_some() => DIRECT_SLICE,
            _ => IO_SLICE,
        }
        .min(job.size.max(1) as usize);
        // Unbuffered reads must start at block-aligned offsets: every slice but the last must be
        // a whole number of blocks (a staged_chunk of 100000 bytes would not be).
        let slice = if direct.is_some() {
            slice.div_ceil(fsops::DIRECT_ALIGN) * fsops::DIRECT_ALIGN
        } else {
            slice
        };
        let actual = if let Some(direct) = direct {
            let mut hasher = select_hasher(s.hash, true, s.hash_threads);
            // Unbuffered: two requests in flight while the caller hashes (see
            // `pipe::read_ahead`); the hash keeps up on this thread (BLAKE3 spreads a slice over
            // the cores), so the device is the only limit.
            pipe::read_ahead(
                job.size,
                slice,
                |buf, off| fsops::read_direct_at(direct, buf, off),
                |off, e| {
                    Error::io(
                        Code::VerifyRead,
                        &job.tmp,
                        format!("read-back failed at offset {off}"),
                        e,
                    )
                },
                |off, buf, got| {
                    if self.cancel.is_cancelled() {
                        return Err(cancelled_verify(&job.dst));
                    }
                    let want = (slice as u64).min(job.size - off) as usize;
                    if got < want {
                        return Err(Error::new(
                            Code::VerifyRead,
                            &job.tmp,
                            format!(
                                "the copy ends at {} bytes, expected {}",
                                off + got as u64,
                                job.size
                            ),
                        ));
                    }
                    if let Some(h) = hasher.as_mut() {
                        h.update(&buf[..want]);
                    }
                    if self
                        .progress(job.id, Phase::Verify, off + want as u64, job.size)
                        .is_break()
                    {
                        return Err(cancelled_verify(&job.dst));
                    }
                    Ok(())
                },
            )?;
            hasher.map(Hasher::finalize_hex).unwrap_or_default()
        } else {
            let hasher = select_hasher(s.hash, true, s.hash_threads);
            let ((), actual) = pipe::with_hasher(hasher, slice, |feed| {
                let mut off = 0u64;
                while off < job.size {
                    if self.cancel.is_cancelled() {
                        return Err(cancelled_verify(&job.dst));
                    }
                    let want = (slice as u64).min(job.size - off) as usize;
                    let mut buf = feed.buf();
                    // Unbuffered reads must be whole blocks: ask for the rounded-up length and
                    // accept the short read at the end of the file.
                    let ask = if direct.is_some() { buf.len() } else { want };
                    let got = if direct.is_some() {
                        fsops::read_direct_at(file, &mut buf[..ask], off)
                    } else {
                        fsops::read_at(file, &mut buf[..ask], off)
                    };
                    let got = got.map_err(|e| {
                        Error::io(
                            Code::VerifyRead,
                            &job.tmp,
                            format!("read-back failed at offset {off}"),
                            e,
                        )
                    })?;
                    if got < want {
                        return Err(Error::new(
                            Code::VerifyRead,
                            &job.tmp,
                            format!(
                                "the copy ends at {} bytes, expected {}",
                                off + got as u64,
                                job.size
                            ),
                        ));
                    }
                    feed.submit(buf, want);
                    off += want as u64;
                    if self
                        .progress(job.id, Phase::Verify, off, job.size)
                        .is_break()
                    {
                        return Err(cancelled_verify(&job.dst));
                    }
                }
                Ok(())
            })?;
            actual.unwrap_or_default()
        };
        if actual != expected {
            return Err(Error::new(
                Code::VerifyHashMismatch,
                &job.dst,
                format!(
                    "{} of the source {expected} differs from the copy's {actual}",
                    s.hash.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// `cp` semantics: a target that is an existing directory means "into it, same name".
fn resolve_target(src: &Path, dst: &Path) -> PathBuf {
    match src.file_name() {
        Some(name) if dst.is_dir() => dst.join(name),
        _ => dst.to_path_buf(),
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The temp's name: hidden, recognisably ours, short (Windows MAX_PATH), unique per run and file:
/// `.<first 24 bytes of the name>.<run>-<n>.fcs.tmp`.
fn temp_path(dir: &Path, dst: &Path, run_id: &str) -> PathBuf {
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{}.{run_id}-{n}.fcs.tmp", short_name(dst)))
}

/// The temp of action `seq` of a journaled run: `.<name>.<tag>-s<seq>.fcs.tmp`.
pub(crate) fn seq_temp_path(dir: &Path, dst: &Path, tag: &str, seq: usize) -> PathBuf {
    dir.join(format!(".{}.{tag}-s{seq}.fcs.tmp", short_name(dst)))
}

/// The run tag and (for a journaled run's file) the action's sequence number in a temp name.
pub fn parse_temp_name(name: &str) -> Option<(&str, Option<usize>)> {
    let core = name.strip_suffix(".fcs.tmp")?;
    let (head, n) = core.rsplit_once('-')?;
    let tag = head.rsplit_once('.')?.1;
    Some((tag, n.strip_prefix('s').and_then(|n| n.parse().ok())))
}

fn short_name(dst: &Path) -> String {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut short: String = String::new();
    for c in name.chars() {
        if short.len() + c.len_utf8() > 24 {
            break;
        }
        short.push(c);
    }
    short
}

/// Whether a temp file name is one of ours (for sweeps and for tests).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".fcs.tmp")
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    )
}

fn compare_mismatch(dst: &Path, at: u64) -> Error {
    Error::new(
        Code::VerifyCompareMismatch,
        dst,
        format!("the copy differs from the source at offset {at}"),
    )
}

fn cancelled_copy(dst: &Path) -> Error {
    Error::new(Code::CopyCancelled, dst, "cancelled during the copy")
}

fn cancelled_verify(dst: &Path) -> Error {
    Error::new(Code::VerifyCancelled, dst, "cancelled during the verify")
}

/// Reads exactly `buf.len()` bytes of the source at `off`: a read error is `COPY_E_READ`, a short
/// read means the source shrank under us (`COPY_E_SOURCE_CHANGED`, never a SIGBUS).
fn read_source(file: &File, src: &Path, size: u64, buf: &mut [u8], off: u64) -> Result<(), Error> {
    let n = fsops::read_at(file, buf, off).map_err(|e| {
        Error::io(
            Code::CopyRead,
            src,
            format!("read of the source failed at offset {off}"),
            e,
        )
    })?;
    if n < buf.len() {
        return Err(source_shrank(src, off + n as u64, size));
    }
    Ok(())
}

fn source_shrank(src: &Path, at: u64, size: u64) -> Error {
    Error::new(
        Code::CopySourceChanged,
        src,
        format!(
            "the source ended at {at} bytes while {size} were expected (truncated during the copy)"
        ),
    )
}

fn window_error(tmp: &Path, index: u64, off: u64, len: u64, e: std::io::Error) -> Error {
    Error::io(
        Code::CopyMmapMapWrite,
        tmp,
        format!("window {index} (offset {off}, length {len}) failed"),
        e,
    )
}

/// Maps an error from the kernel copy: out of space is `COPY_E_WRITE` (seed A.13), the rest too,
/// except a temp that could not even be created.
fn copy_io_error(e: std::io::Error, tmp: &Path, src: &Path) -> Error {
    match e.kind() {
        std::io::ErrorKind::AlreadyExists
        | std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::ReadOnlyFilesystem
            if !tmp.exists() =>
        {
            Error::io(
                Code::CopyTempCreate,
                tmp,
                "cannot create the temp file in the target directory",
                e,
            )
        }
        _ => Error::io(
            Code::CopyWrite,
            tmp,
            format!("the kernel copy from '{}' failed", src.display()),
            e,
        ),
    }
}

#[cfg(feature = "test-hooks")]
fn flip_byte(f: &File, off: u64) {
    let mut b = [0u8; 1];
    if fsops::read_at(f, &mut b, off).unwrap_or(0) == 1 {
        b[0] ^= 0xFF;
        fsops::write_all_at(f, &b, off).expect("test hook: flip byte");
        f.sync_all().expect("test hook: fsync after flip");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_short_hidden_and_recognisable() {
        let long = "x".repeat(255);
        let p = temp_path(Path::new("/d"), &Path::new("/d").join(&long), "0123abcd");
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(name.len() < 60, "{name}");
        assert!(is_temp_name(name));
        assert!(!is_temp_name("report.tmp"));
        let p = temp_path(Path::new("/d"), Path::new("/d/ééééééééééééééé.txt"), "r");
        assert!(p.file_name().unwrap().to_str().unwrap().len() < 60);
    }

    #[test]
    fn first_difference_finds_the_offset() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
    }
}

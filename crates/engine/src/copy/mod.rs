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
//! The steps live in their modules: `preflight` (checks, strategy, temp name), one module per
//! strategy (`small`, `large`, `staged`), `readback` (verify) and `commit` (metadata, fsync,
//! rename, the replaced file's way to the trash); `download` fills the temp from remote storage.
//! This module holds the public API and the order of the steps.

mod commit;
mod download;
mod large;
mod preflight;
mod readback;
mod small;
mod sparse;
mod staged;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use fsops::DriveKind;

use crate::error::{Code, Error, IoResultExt};
use crate::events::{CancelToken, Event, Notice, Outcome, Perf, Phase, Reporter};
use crate::settings::Settings;
use crate::strategy::{Decision, Strategy};
use crate::temp;
pub(crate) use download::RemoteFile;
use preflight::Preflight;
pub(crate) use preflight::name_error;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How much data moves through user space at a time: small enough to stay in the CPU's cache
/// between the read, the hash and the write, large enough that syscalls cost nothing.
const IO_SLICE: usize = 2 << 20;

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
    /// Batched tree runs see this many bytes of other programs' unwritten data before each
    /// batch sync (as if `/proc/meminfo` said so).
    pub others_dirty: Option<u64>,
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
    /// The source file.
    pub src: PathBuf,
    /// The target file (a folder given as `dst` resolved to the file inside it).
    pub dst: PathBuf,
    /// Bytes copied.
    pub size: u64,
    /// The strategy that copied it.
    pub strategy: Strategy,
    /// Why that strategy, and the sizes and verify mode it chose (the `Decision:` line).
    pub decision: Decision,
    /// Whether the copy was read back and compared with the source before its rename.
    pub verified: bool,
    /// The source digest computed during the copy (hash strategies with verify on).
    pub digest: Option<String>,
    /// Timings, throughput and the OS copy method that ran.
    pub perf: Perf,
    /// What could not be carried over (creation time, permissions…), each said once.
    pub notices: Vec<Notice>,
}

/// Copies files one at a time, safely. Cheap to share between threads.
pub struct Copier {
    settings: Settings,
    reporter: Arc<dyn Reporter>,
    cancel: CancelToken,
    run_id: String,
    drive_cache: std::sync::Mutex<std::collections::HashMap<PathBuf, (DriveKind, bool)>>,
    /// Free bytes still unspoken-for in each target folder, from one free-space query per folder
    /// (less what this copier has written there since): asked of the OS again only when a file
    /// does not fit.
    space: std::sync::Mutex<std::collections::HashMap<PathBuf, u64>>,
    /// (source volume, target folder) pairs whose filesystems cannot clone (share extents): the
    /// clone is tried once per pair, not once per file.
    no_clone: std::sync::Mutex<std::collections::HashSet<(u64, PathBuf)>>,
    /// The "creation time not preserved" notice is an OS limit, not news about one file: emitted
    /// once per run (every file's report still lists it).
    created_notice_sent: std::sync::atomic::AtomicBool,
    /// Replaced files go to the trash (tree runs with `delete_mode=trash`).
    trash_replaced: bool,
    /// The sources are files the scan found as files, never symbolic links (tree runs that do
    /// not follow links): no need to ask whether a source path is a link.
    sources_are_files: bool,
    /// Metadata the run could not keep, per kind (said once at the end).
    lost: crate::meta::Lost,
    /// Fault injection for the test suite.
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

/// Where a file is copied to: its folder, open — the temp, the rename and every other write
/// happen relative to this handle, never through a path resolved again from the top — and its
/// name there.
#[derive(Debug, Clone)]
pub struct Target {
    /// The target's folder.
    pub dir: Arc<fsops::Dir>,
    /// The target's name in it.
    pub name: OsString,
    /// The caller saw nothing at this name (a tree run's copy of a file its scan found only in
    /// the source): preflight does not look again, which saves a lookup per new file. Nothing
    /// is lost if an item appeared since: the commit's rename refuses to replace where the
    /// replaced file goes to the trash (it is kept, then replaced), and a folder there fails
    /// the rename.
    pub absent: bool,
}

impl Target {
    /// The target at `path`, whose folder is opened as the user named it (a single-file copy:
    /// a link in the path the user typed is followed).
    pub fn open(path: &Path) -> Result<Target, Error> {
        let name = path.file_name().ok_or_else(|| {
            Error::new(
                Code::PreflightTargetDir,
                path,
                "the target has no file name",
            )
        })?;
        let dir = parent_dir(path);
        let dir = fsops::Dir::open(&dir).or_code(
            Code::PreflightTargetDir,
            &dir,
            "the target directory is not accessible",
        )?;
        Ok(Target {
            dir: Arc::new(dir),
            name: name.to_os_string(),
            absent: false,
        })
    }

    /// The target's path, for messages and reports.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }
}

/// Deletes the temp file when dropped, unless it was committed.
struct TempGuard {
    dir: Arc<fsops::Dir>,
    name: OsString,
    armed: bool,
}

impl TempGuard {
    /// Deletes the temp now (an error ends the copy) and says so truthfully in `e`: a temp
    /// that could not be deleted is named in the error, never claimed gone.
    fn discard(&mut self, mut e: Error) -> Error {
        if self.armed {
            self.armed = false;
            // fsops also deletes a temp that already has the source's read-only attribute
            // (Windows).
            match self.dir.remove_temp(&self.name) {
                Ok(()) => {}
                Err(r) if r.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => e.temp_kept = Some(self.dir.path().join(&self.name)),
            }
        }
        e
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            // A prepared file dropped without an error of its own (its batch was abandoned):
            // best effort; `discard` is the path that reports.
            let _ = self.dir.remove_temp(&self.name);
        }
    }
}

/// What a strategy's copy phase produced.
struct Copied {
    file: File,
    bytes: u64,
    method: fsops::CopyMethod,
    src_digest: Option<String>,
    /// The copy's digest where it was read back during the copy (a hash verify from the page
    /// cache, see `direct_large`); `None`: the verify reads it after the fsync.
    dst_digest: Option<String>,
    windows: u64,
    flushes: u64,
}

/// A file copied into its temp, not yet durable, verified or committed.
struct Prepared {
    job: Job,
    tmp_file: File,
    guard: TempGuard,
    strategy: Strategy,
    bytes: u64,
    method: fsops::CopyMethod,
    src_digest: Option<String>,
    dst_digest: Option<String>,
    /// The copy as a batch read it back from the medium (see [`Copier::set_read_back`]).
    read_back: Option<Box<[u8]>>,
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

    /// Where a batch may read this file back from the medium itself, many files at once (see
    /// [`fsops::read_files_direct`]): its folder, temp name and length — for a DIRECT-SMALL copy
    /// that is compared with its source from the medium and is small enough. `None`: the
    /// commit reads it back.
    pub fn batch_read_back(&self) -> Option<(&fsops::Dir, &Path, u64)> {
        let (p, d) = (&self.0, &self.0.job.decision);
        (p.strategy == Strategy::DirectSmall
            && d.verify == crate::strategy::VerifyMode::Mmap
            && d.read_back == crate::strategy::ReadBackMode::Device
            && p.job.extents.is_none()
            && p.job.size <= fsops::DIRECT_BATCH_MAX)
            .then(|| (&*p.job.dir, Path::new(&p.job.tmp_name), p.job.size))
    }
}

/// Per-file state shared by the phases.
struct Job {
    id: u64,
    src: PathBuf,
    /// The target's path, for messages.
    dst: PathBuf,
    /// The target's folder and name: where every write goes.
    dir: Arc<fsops::Dir>,
    name: OsString,
    /// The source, open; none for a download (the bytes come from remote storage, see
    /// `download`), which only the code made for it reads.
    src_file: Option<File>,
    /// The source's volume (device number; 0 where the OS does not say), for the clone cache.
    src_volume: u64,
    size: u64,
    /// The temp's path (messages) and name in `dir`.
    tmp: PathBuf,
    tmp_name: OsString,
    /// The (access, modified) times put on the temp, to put again on the target after its
    /// rename where a filesystem loses them there (see `commit`).
    times: Option<(SystemTime, SystemTime)>,
    /// The source's data extents when only they are copied (a sparse source, see `sparse`).
    extents: Option<Vec<(u64, u64)>>,
    /// A file is there already: the copy replaces it.
    replaces: bool,
    /// The source's file flags, set on the target after its rename (`preserve_flags`).
    flags: u32,
    decision: Decision,
    notices: Vec<Notice>,
}

impl Job {
    /// The open source file. Only a copy from a local file reaches the strategies that read it:
    /// a download writes its temp itself (`download`) and is verified by its digest.
    fn src_file(&self) -> &File {
        self.src_file
            .as_ref()
            .expect("a download never takes a strategy that reads a local source")
    }
}

impl Copier {
    /// A copier with these settings, reporting every file's events to `reporter` and stopping
    /// within one window or chunk once `cancel` is cancelled.
    pub fn new(mut settings: Settings, reporter: Arc<dyn Reporter>, cancel: CancelToken) -> Copier {
        // Without fsync nothing reaches the medium before the verify: it can only read the
        // cache (and dropping cached pages would start the very write-back `none` skips).
        if settings.durability == crate::settings::Durability::None {
            settings.verify_read = crate::settings::VerifyRead::Cache;
        }
        // `auto` owners and flags resolved once, not asked of the OS for every file.
        settings.preserve_owner = Some(settings.keeps_owner());
        settings.preserve_flags = Some(settings.keeps_flags());
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // The pid in clear: a later run tells a temp of a live copy from a dead one's.
        let run_id = temp::tag_for(std::process::id(), nanos);
        Copier {
            settings,
            reporter,
            cancel,
            run_id,
            drive_cache: Default::default(),
            space: Default::default(),
            no_clone: Default::default(),
            created_notice_sent: Default::default(),
            trash_replaced: false,
            sources_are_files: false,
            lost: Default::default(),
            #[cfg(feature = "test-hooks")]
            hooks: Hooks::default(),
        }
    }

    /// Replaced target files are moved to the trash after their verified copy took their place
    /// (what the original app did); the replacement itself stays one atomic rename.
    pub(crate) fn with_trash_replaced(mut self, on: bool) -> Copier {
        self.trash_replaced = on;
        self
    }

    /// The sources are the scan's regular files, never links (`follow_symlinks=false`).
    pub(crate) fn with_sources_are_files(mut self, on: bool) -> Copier {
        self.sources_are_files = on;
        self
    }

    /// Names this run's temps with `tag` (a journaled run's tag, so a resume and the sweep can
    /// tell its temps from other runs').
    pub(crate) fn with_run_tag(mut self, tag: &str) -> Copier {
        self.run_id = tag.to_string();
        self
    }

    /// The tag in this run's temp names.
    pub(crate) fn run_tag(&self) -> &str {
        &self.run_id
    }

    /// The settings it copies with (after the adjustments `new` makes, e.g. `durability=none`
    /// verifies through the cache).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// What the run could not keep of the metadata it was asked to, per kind.
    pub(crate) fn lost(&self) -> &crate::meta::Lost {
        &self.lost
    }

    /// The temp of `target`: named after the run's tag and action `seq` in a journaled run (the
    /// journal then knows every temp the run can leave), else after this copy alone.
    fn temp_name(&self, target: &Target, seq: Option<usize>) -> OsString {
        match seq {
            Some(seq) => temp::seq_temp_name(&target.name, &self.run_id, seq),
            None => self.temp_for(&target.name),
        }
    }

    /// A fresh temp name next to the target named `dst` (this run's naming:
    /// `.<name>.<run>-<n>.fcs.tmp`).
    pub(crate) fn temp_for(&self, dst: &OsStr) -> OsString {
        temp::temp_name(dst, &self.run_id)
    }

    pub(crate) fn reporter(&self) -> &dyn Reporter {
        &*self.reporter
    }

    /// Copies the regular file `src` to `dst` (a file path, or an existing directory to copy
    /// into). Emits `FileStarted` … `FileFinished` whatever the outcome.
    pub fn copy_file(&self, src: &Path, dst: &Path) -> Result<FileReport, Error> {
        // `durability=none` (benchmarks) syncs nothing here either: neither the file nor its
        // folder.
        let durable = self.settings.durability != crate::settings::Durability::None;
        self.copy_with(src, dst, durable)
    }

    fn copy_with(&self, src: &Path, dst: &Path, durable: bool) -> Result<FileReport, Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dst = resolve_target(src, dst);
        let result = Target::open(&dst)
            .inspect(|t| self.sweep_dead_temps(t))
            .and_then(|t| self.prepare(id, src, &t, None, Instant::now()))
            .and_then(|p| self.finish(p, !durable, durable));
        self.report_finished(id, src, &dst, result.as_ref());
        let report = result?;
        // A single file: what it could not keep is said now, and fails the copy (the file is in
        // place) only where the user asked for that kind explicitly.
        let mut failed = None;
        for nk in self.lost.drain() {
            let e = self.report_not_kept(&nk, &dst);
            failed = failed.or(e);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Says that `nk` could not be kept (one notice for its kind); returns the error it is
    /// when the user asked for that kind explicitly (`FINALIZE_E_NOT_KEPT`).
    pub(crate) fn report_not_kept(&self, nk: &crate::meta::NotKept, path: &Path) -> Option<Error> {
        let message = format!(
            "{} not kept on {} item(s): {}",
            nk.kind.as_str(),
            nk.items,
            nk.reason
        );
        self.reporter.report(&Event::Notice {
            id: 0,
            path: path.to_path_buf(),
            notice: Notice {
                kind: crate::events::NoticeKind::MetadataNotKept,
                message: message.clone(),
            },
        });
        self.settings
            .is_explicit(nk.kind.setting())
            .then(|| Error::new(Code::FinalizeNotKept, path, message))
    }

    /// First half of a batched copy: preflight, copy into the temp, source check, metadata —
    /// everything but making it durable, verifying and committing it. The caller collects a batch,
    /// makes the whole filesystem durable once (`fsops::sync_filesystem`), then calls
    /// [`Copier::commit_file`] for each. Thousands of small files then cost a few syncs instead
    /// of one fsync each, and every file is still verified (from the medium) before its rename.
    pub(crate) fn prepare_file(&self, src: &Path, dst: &Path) -> Result<PendingFile, Error> {
        let target = match Target::open(dst) {
            Ok(t) => t,
            Err(e) => {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                self.report_finished(id, src, dst, Err(&e));
                return Err(e);
            }
        };
        self.prepare_file_at(src, &target, None)
    }

    /// [`Copier::prepare_file`] into an open target folder (a tree run resolves it beneath the
    /// target root), for action `seq` of a journaled run: the temp is named after the run's tag
    /// and `seq` (`.<name>.<tag>-s<seq>.fcs.tmp`), so the journal, which holds the plan, knows
    /// every temp the run can leave behind without a write per file.
    pub(crate) fn prepare_file_at(
        &self,
        src: &Path,
        target: &Target,
        seq: Option<usize>,
    ) -> Result<PendingFile, Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self.prepare(id, src, target, seq, Instant::now()) {
            Ok(p) => Ok(PendingFile(Box::new(p))),
            Err(e) => {
                self.report_finished(id, src, &target.path(), Err(&e));
                Err(e)
            }
        }
    }

    /// Second half of a batched copy. `synced`: the filesystem holding the temp was synced after
    /// the temp was written (else the temp is fsynced here). The directory fsync is left to the
    /// caller, once per directory.
    pub(crate) fn commit_file(
        &self,
        pending: PendingFile,
        synced: bool,
    ) -> Result<FileReport, Error> {
        let p = *pending.0;
        let (id, src, dst) = (p.job.id, p.job.src.clone(), p.job.dst.clone());
        let result = self.finish(p, synced, false);
        self.report_finished(id, &src, &dst, result.as_ref());
        result
    }

    /// Abandons a prepared file (its batch could not be made durable): the temp is deleted and
    /// the file reported as failed with `error`.
    pub(crate) fn abandon_file(&self, pending: PendingFile, error: Error) -> Error {
        let mut p = *pending.0;
        let (id, src, dst) = (p.job.id, p.job.src.clone(), p.job.dst.clone());
        drop(p.tmp_file);
        let error = p.guard.discard(error);
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

    /// A single-file copy first removes the temps that copies killed before it left in the
    /// target's folder: those of processes that are gone, and of no unfinished journaled run.
    fn sweep_dead_temps(&self, t: &Target) {
        let Ok(names) = t.dir.entries() else { return };
        // Temps of processes that are gone; the journals (SQLite databases) are read only when
        // there is one, so a plain copy into a clean folder opens none of them.
        let dead: Vec<_> = names
            .into_iter()
            .filter(|n| {
                n.to_str()
                    .is_some_and(|s| temp::is_temp_name(s) && temp::is_dead(s, &[]))
            })
            .collect();
        if dead.is_empty() {
            return;
        }
        let keep = crate::tree::journal::Journal::default_dir()
            .map(|d| crate::tree::journal::Journal::unfinished_tags(&d))
            .unwrap_or_default();
        let mut n = 0;
        for name in dead {
            let Some(s) = name.to_str() else { continue };
            if temp::is_dead(s, &keep)
                && t.dir
                    .stat(&name)
                    .is_ok_and(|st| st.kind == fsops::EntryType::File)
                && t.dir.remove_temp(&name).is_ok()
            {
                n += 1;
            }
        }
        if n > 0 {
            self.reporter.report(&Event::Notice {
                id: 0,
                path: t.dir.path().to_path_buf(),
                notice: Notice {
                    kind: crate::events::NoticeKind::TempsSwept,
                    message: format!("removed {n} temp file(s) left by an interrupted copy"),
                },
            });
        }
    }

    fn notice(&self, job: &mut Job, kind: crate::events::NoticeKind, message: String) {
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
        target: &Target,
        seq: Option<usize>,
        started: Instant,
    ) -> Result<Prepared, Error> {
        let Preflight {
            mut job,
            src_meta,
            src_identity,
            strategy,
        } = self.preflight(id, src, target, seq)?;

        // --- copy -------------------------------------------------------------------------------
        let t_copy = Instant::now();
        let mut guard = TempGuard {
            dir: job.dir.clone(),
            name: job.tmp_name.clone(),
            armed: true,
        };
        let copied = match (job.extents.clone(), strategy) {
            (Some(extents), _) => self.sparse_copy(&mut job, &extents),
            (None, Strategy::DirectSmall) => self.direct_small(&mut job),
            (None, Strategy::DirectLarge) => self.direct_large(&mut job),
            (None, Strategy::Staged) => self.staged(&mut job),
        }
        .map_err(|e| guard.discard(e))?;
        let copy_ms = t_copy.elapsed().as_millis() as u64;
        let Copied {
            file: tmp_file,
            bytes,
            method,
            src_digest,
            dst_digest,
            windows,
            flushes,
        } = copied;

        // --- did the source change while we copied it? -------------------------------------------
        // --- metadata onto the temp, then make it durable ----------------------------------------
        let checked = self
            .check_source_unchanged(&job, &src_meta, src_identity, bytes)
            .and_then(|()| self.apply_metadata(&mut job, &tmp_file, &src_meta));
        if let Err(e) = checked {
            drop(tmp_file);
            return Err(guard.discard(e));
        }
        Ok(Prepared {
            job,
            tmp_file,
            guard,
            strategy,
            bytes,
            method,
            src_digest,
            dst_digest,
            read_back: None,
            windows,
            flushes,
            copy_ms,
            started,
        })
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

fn cancelled_copy(dst: &Path) -> Error {
    Error::new(Code::CopyCancelled, dst, "cancelled during the copy")
}

/// Reads exactly `buf.len()` bytes of the source at `off`: a read error is `COPY_E_READ`, a short
/// read means the source shrank under us (`COPY_E_SOURCE_CHANGED`, never a SIGBUS).
fn read_source(file: &File, src: &Path, size: u64, buf: &mut [u8], off: u64) -> Result<(), Error> {
    let n = fsops::read_at(file, buf, off).or_code_with(Code::CopyRead, src, || {
        format!("read of the source failed at offset {off}")
    })?;
    if n < buf.len() {
        return Err(source_shrank(src, off + n as u64, size));
    }
    Ok(())
}

pub(super) fn source_shrank(src: &Path, at: u64, size: u64) -> Error {
    Error::new(
        Code::CopySourceChanged,
        src,
        format!(
            "the source ended at {at} bytes while {size} were expected (truncated during the copy)"
        ),
    )
}

//! The one progress + cancel contract shared by every front end (CLI bar, NDJSON, log, GUI).
//!
//! The engine emits typed [`Event`]s to a [`Reporter`] and checks a [`CancelToken`] every
//! window/chunk. It never prints and never waits on a front end: a reporter must return quickly
//! (batch, or hand the event to a channel).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::error::Code;
use crate::strategy::{Decision, Strategy};

/// A cheap, clonable cancel flag. Cancelling is sticky.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    /// Cancels every run holding a clone of this token; each stops at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`CancelToken::cancel`] was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Which side of a comparison a scan is for (in progress events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The left (first) root.
    Left,
    /// The right (second) root.
    Right,
}

/// Which pass over a file the bytes belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Writing the copy.
    Copy,
    /// Reading the copy back (and the source, for a compare) to verify it.
    Verify,
}

/// How a file ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The verified (or, by policy, unverified) copy replaced the target.
    Committed {
        /// Whether the copy was verified before it replaced the target.
        verified: bool,
    },
    /// The copy failed; see the code. The target is as it was unless the code says otherwise.
    Failed {
        /// The error's code.
        code: Code,
        /// The error as printed.
        message: String,
    },
    /// Cancelled; the temp is gone and the target untouched.
    Cancelled {
        /// `COPY_E_CANCELLED` or `VERIFY_E_CANCELLED`, by the phase it stopped in.
        code: Code,
    },
}

/// The per-file telemetry behind the `Perf:` line (seed A.12).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Perf {
    /// Bytes copied.
    pub bytes: u64,
    /// Wall time of the whole file operation, in milliseconds.
    pub elapsed_ms: u64,
    /// Of which copying the bytes.
    pub copy_ms: u64,
    /// Of which verifying them.
    pub verify_ms: u64,
    /// DIRECT-LARGE windows written (0 for the other strategies).
    pub windows: u64,
    /// Early write-backs started by DIRECT-LARGE (`flush_every_windows`).
    pub flushes: u64,
    /// The strategy that copied the file.
    pub strategy: Strategy,
    /// How it was verified: [`VerifyMode::as_str`](crate::VerifyMode::as_str).
    pub verify: &'static str,
    /// Which mechanism copied the bytes (`method=` in the `Perf:` line).
    #[serde(serialize_with = "as_str")]
    pub method: fsops::CopyMethod,
}

impl Perf {
    /// Megabytes (10^6) per second over the whole file operation.
    pub fn throughput_mbps(&self) -> f64 {
        if self.elapsed_ms == 0 {
            return 0.0;
        }
        self.bytes as f64 / 1e6 / (self.elapsed_ms as f64 / 1e3)
    }
}

impl std::fmt::Display for Perf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Perf: bytes={} elapsed_ms={} throughput_MBps={:.1} windows={} flushes={} strategy={} verify={} method={} copy_ms={} verify_ms={}",
            self.bytes,
            self.elapsed_ms,
            self.throughput_mbps(),
            self.windows,
            self.flushes,
            self.strategy,
            self.verify,
            self.method,
            self.copy_ms,
            self.verify_ms
        )
    }
}

/// What a notice is about (a stable name in `--json` and the log; see `docs/vocabulary.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// This OS cannot set a file's creation time (Linux): the copy's is the time of the copy.
    CreatedTimeNotPreserved,
    /// The drive kind of a path could not be told; it is treated as UNKNOWN (copied STAGED).
    DriveKindUnknown,
    /// The verify read the page cache, not the medium (tmpfs, or no way to drop the cache).
    ReadBackCache,
    /// The source has holes; they are copied as data.
    SparseSource,
    /// A network target reports less free space than the copy needs; it is attempted anyway.
    LowSpace,
    /// The target's free space could not be read.
    FreeSpaceUnknown,
    /// setuid, setgid or sticky was cleared: the copy has another owner than the source.
    SetuidStripped,
    /// A replaced file could not be kept for the trash, or the trash refused it.
    ReplacedNotTrashed,
    /// Temp files left by an interrupted run or copy were removed.
    TempsSwept,
    /// An interrupted run is finished first (a resume).
    Resume,
    /// The timestamp tolerance was raised to what the target can store.
    ToleranceRaised,
    /// The target cannot hold permission bits: they are neither kept nor compared.
    PermissionsNotKept,
    /// Owner, extended attributes or ACLs could not be kept on some items (one per kind).
    MetadataNotKept,
    /// Other programs' unwritten data would have made a batch's filesystem sync slow: the batch
    /// was fsynced file by file (said once per run).
    BatchPerFile,
}

impl NoticeKind {
    /// Every kind, for the documentation check.
    pub const ALL: &'static [NoticeKind] = &[
        NoticeKind::CreatedTimeNotPreserved,
        NoticeKind::DriveKindUnknown,
        NoticeKind::ReadBackCache,
        NoticeKind::SparseSource,
        NoticeKind::LowSpace,
        NoticeKind::FreeSpaceUnknown,
        NoticeKind::SetuidStripped,
        NoticeKind::ReplacedNotTrashed,
        NoticeKind::TempsSwept,
        NoticeKind::Resume,
        NoticeKind::ToleranceRaised,
        NoticeKind::PermissionsNotKept,
        NoticeKind::MetadataNotKept,
        NoticeKind::BatchPerFile,
    ];

    /// The kind's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::CreatedTimeNotPreserved => "created_time_not_preserved",
            NoticeKind::DriveKindUnknown => "drive_kind_unknown",
            NoticeKind::ReadBackCache => "read_back_cache",
            NoticeKind::SparseSource => "sparse_source",
            NoticeKind::LowSpace => "low_space",
            NoticeKind::FreeSpaceUnknown => "free_space_unknown",
            NoticeKind::SetuidStripped => "setuid_stripped",
            NoticeKind::ReplacedNotTrashed => "replaced_not_trashed",
            NoticeKind::TempsSwept => "temps_swept",
            NoticeKind::Resume => "resume",
            NoticeKind::ToleranceRaised => "tolerance_raised",
            NoticeKind::PermissionsNotKept => "permissions_not_kept",
            NoticeKind::MetadataNotKept => "metadata_not_kept",
            NoticeKind::BatchPerFile => "batch_per_file",
        }
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something worth telling the user that is not a failure (a creation time the OS cannot set, a
/// read-back that had to come from the cache, a sparse source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// What it is about.
    pub kind: NoticeKind,
    /// What happened, in plain words.
    pub message: String,
}

/// Everything the engine tells a front end. `id` ties the events of one file together when
/// several files are in flight.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A file's copy starts.
    FileStarted {
        /// The file's id for the events that follow.
        id: u64,
        /// The source file.
        #[serde(serialize_with = "lossy_path")]
        src: PathBuf,
        /// The target file.
        #[serde(serialize_with = "lossy_path")]
        dst: PathBuf,
        /// The source's size in bytes.
        size: u64,
    },
    /// The strategy chosen and why (the `Decision:` line).
    Decision {
        /// The file's id.
        id: u64,
        /// The decision itself.
        #[serde(flatten)]
        decision: Decision,
        /// The `Decision:` line as printed.
        line: String,
    },
    /// Bytes done in the current phase of a file, after each window/chunk.
    Progress {
        /// The file's id.
        id: u64,
        /// Copying or verifying.
        phase: Phase,
        /// Bytes done in this phase.
        done: u64,
        /// Bytes this phase will do.
        total: u64,
    },
    /// Something worth telling that is not a failure (see [`NoticeKind`]).
    Notice {
        /// The file's id (0 for a notice about the run).
        id: u64,
        /// The file or folder it is about.
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        /// What it says.
        #[serde(flatten)]
        notice: Notice,
    },
    /// A file's copy ended, however it ended.
    FileFinished {
        /// The file's id.
        id: u64,
        /// The source file.
        #[serde(serialize_with = "lossy_path")]
        src: PathBuf,
        /// The target file.
        #[serde(serialize_with = "lossy_path")]
        dst: PathBuf,
        /// Committed, failed or cancelled.
        outcome: Outcome,
        /// The file's telemetry, when it got far enough to have some.
        perf: Option<Perf>,
        /// The `Perf:` line, when `perf_log` is on and the file got far enough to have one.
        perf_line: Option<String>,
    },
    /// Entries scanned so far on one side.
    ScanProgress {
        /// The side being scanned.
        side: Side,
        /// Entries found so far.
        entries: u64,
    },
    /// Content hashing of a comparison: bytes hashed of both sides so far.
    CompareProgress {
        /// Bytes read so far, both sides together.
        hashed_bytes: u64,
        /// Bytes the comparison will read.
        total_bytes: u64,
    },
    /// A plan starts executing: its size.
    RunStarted {
        /// Actions in the plan.
        actions: u64,
        /// Files it will copy (those an interrupted run already finished not counted).
        files: u64,
        /// Bytes of those files.
        bytes: u64,
    },
    /// What the target's filesystem can hold, as probed at the start of a run.
    TargetProbed {
        /// The target root.
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        /// What the probe found.
        capabilities: crate::tree::Capabilities,
    },
    /// A target item was deleted (to the trash or permanently).
    Deleted {
        /// The item deleted.
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        /// To the trash, or for good.
        mode: crate::settings::DeleteMode,
    },
    /// A plan finished executing.
    RunFinished {
        /// What the run did.
        summary: crate::summary::Summary,
    },
}

fn as_str<S: serde::Serializer>(m: &fsops::CopyMethod, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

pub(crate) fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Receives the engine's events. Must be cheap: called from the copy loop.
pub trait Reporter: Send + Sync {
    /// Receives one event, from any of the run's threads.
    fn report(&self, event: &Event);
}

/// A reporter that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullReporter;

impl Reporter for NullReporter {
    fn report(&self, _event: &Event) {}
}

/// Forwards events to a closure.
pub struct FnReporter<F: Fn(&Event) + Send + Sync>(pub F);

impl<F: Fn(&Event) + Send + Sync> Reporter for FnReporter<F> {
    fn report(&self, event: &Event) {
        (self.0)(event)
    }
}

impl<F: Fn(&Event) + Send + Sync> std::fmt::Debug for FnReporter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnReporter")
    }
}

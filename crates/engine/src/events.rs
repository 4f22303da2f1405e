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
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
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
    Copy,
    Verify,
}

/// How a file ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The verified (or, by policy, unverified) copy replaced the target.
    Committed { verified: bool },
    /// The copy failed; see the code. The target is as it was unless the code says otherwise.
    Failed { code: Code, message: String },
    /// Cancelled; the temp is gone and the target untouched.
    Cancelled { code: Code },
}

/// The per-file telemetry behind the `Perf:` line (seed A.12).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Perf {
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub copy_ms: u64,
    pub verify_ms: u64,
    pub windows: u64,
    pub flushes: u64,
    pub strategy: Strategy,
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
    FileStarted {
        id: u64,
        #[serde(serialize_with = "lossy_path")]
        src: PathBuf,
        #[serde(serialize_with = "lossy_path")]
        dst: PathBuf,
        size: u64,
    },
    /// The strategy chosen and why (the `Decision:` line).
    Decision {
        id: u64,
        #[serde(flatten)]
        decision: Decision,
        line: String,
    },
    /// Bytes done in the current phase of a file, after each window/chunk.
    Progress {
        id: u64,
        phase: Phase,
        done: u64,
        total: u64,
    },
    Notice {
        id: u64,
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        #[serde(flatten)]
        notice: Notice,
    },
    FileFinished {
        id: u64,
        #[serde(serialize_with = "lossy_path")]
        src: PathBuf,
        #[serde(serialize_with = "lossy_path")]
        dst: PathBuf,
        outcome: Outcome,
        perf: Option<Perf>,
        /// The `Perf:` line, when `perf_log` is on and the file got far enough to have one.
        perf_line: Option<String>,
    },
    /// Entries scanned so far on one side.
    ScanProgress { side: Side, entries: u64 },
    /// Content hashing of a comparison: bytes hashed of both sides so far.
    CompareProgress { hashed_bytes: u64, total_bytes: u64 },
    /// A plan starts executing: its size.
    RunStarted {
        actions: u64,
        files: u64,
        bytes: u64,
    },
    /// What the target's filesystem can hold, as probed at the start of a run.
    TargetProbed {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        capabilities: crate::tree::Capabilities,
    },
    /// A target item was deleted (to the trash or permanently).
    Deleted {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        mode: crate::settings::DeleteMode,
    },
    /// A plan finished executing.
    RunFinished { summary: crate::summary::Summary },
}

fn as_str<S: serde::Serializer>(m: &fsops::CopyMethod, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

pub(crate) fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Receives the engine's events. Must be cheap: called from the copy loop.
pub trait Reporter: Send + Sync {
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

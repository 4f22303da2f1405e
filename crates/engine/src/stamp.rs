//! The identity of a source file at one instant: a move deletes a source only if it is still
//! the file that was copied.

use std::path::Path;
use std::time::SystemTime;

/// The source as it was when its copy started: a move deletes it only if it is still the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modified time in ns since the epoch (-1: unknown).
    pub mtime_ns: i128,
    /// (volume, file id), where the OS has them.
    pub identity: Option<(u64, u64)>,
}

impl SourceStamp {
    /// The stamp of `md` (an `lstat`).
    pub fn of(md: &std::fs::Metadata) -> SourceStamp {
        let mtime_ns = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(-1);
        SourceStamp {
            size: md.len(),
            mtime_ns,
            identity: fsops::identity_from_metadata(md).map(|i| (i.volume, i.file)),
        }
    }
    /// The stamp of an entry as a folder handle sees it (`fsops::Dir::stat`).
    pub fn of_entry(st: &fsops::EntryStat) -> SourceStamp {
        SourceStamp {
            size: st.len,
            mtime_ns: st.mtime_ns,
            identity: Some((st.identity.volume, st.identity.file)),
        }
    }

    /// The stamp of the file at `p`, not following a final symlink.
    pub fn read(p: &Path) -> std::io::Result<SourceStamp> {
        std::fs::symlink_metadata(p).map(|m| SourceStamp::of(&m))
    }
}

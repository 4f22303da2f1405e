//! What a tree run did: the counts a front end shows at the end, and every per-item failure.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Code, Error};

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Files copied (committed under their final name).
    pub copied: u64,
    /// Of those, files read back and compared before their commit.
    pub verified: u64,
    /// Items the plan left alone (type conflicts without `--delete`, special files, twins).
    pub skipped: u64,
    /// Items that failed; each is in `errors`.
    pub failed: u64,
    /// Target items deleted (to the trash or permanently).
    pub deleted: u64,
    /// Folders created on the target.
    pub dirs_created: u64,
    /// Symbolic links recreated as links.
    pub symlinks: u64,
    /// Target items renamed to the source's spelling of their name (case, normalisation).
    pub renamed: u64,
    /// Target files whose permissions, owner or attributes were updated in place (same content:
    /// no copy).
    pub metadata_updated: u64,
    /// Target files made a second name of another (hard links, `-H`).
    pub hard_linked: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Wall time of the run.
    pub elapsed_ms: u64,
    /// Files copied with each strategy.
    pub direct_small: u64,
    /// See `direct_small`.
    pub direct_large: u64,
    /// See `direct_small`.
    pub staged: u64,
    /// Files the target already held, proven identical by hash (a move, a resume).
    pub already_present: u64,
    /// Source files and links a move deleted.
    pub sources_deleted: u64,
    /// Kinds of metadata that could not be kept, and on how many items.
    pub not_kept: Vec<crate::meta::NotKept>,
    /// Whether the run was cancelled before its end (it stays resumable).
    pub cancelled: bool,
    /// One entry per failed item.
    pub errors: Vec<FailedItem>,
}

/// One item that failed, with its stable code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedItem {
    /// The file or folder (an absolute path, for messages).
    #[serde(serialize_with = "crate::events::lossy_path")]
    pub path: PathBuf,
    /// The error's code.
    pub code: Code,
    /// The whole message, code and advice included.
    pub message: String,
}

impl Summary {
    /// Adds another run's counts and errors to these (a front end's sync of both directions is
    /// two runs, reported as one).
    pub fn absorb(&mut self, o: Summary) {
        self.copied += o.copied;
        self.verified += o.verified;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.deleted += o.deleted;
        self.dirs_created += o.dirs_created;
        self.symlinks += o.symlinks;
        self.renamed += o.renamed;
        self.metadata_updated += o.metadata_updated;
        self.hard_linked += o.hard_linked;
        self.bytes += o.bytes;
        self.elapsed_ms += o.elapsed_ms;
        self.direct_small += o.direct_small;
        self.direct_large += o.direct_large;
        self.staged += o.staged;
        self.already_present += o.already_present;
        self.sources_deleted += o.sources_deleted;
        for n in o.not_kept {
            match self.not_kept.iter_mut().find(|m| m.kind == n.kind) {
                Some(m) => m.items += n.items,
                None => self.not_kept.push(n),
            }
        }
        self.cancelled |= o.cancelled;
        self.errors.extend(o.errors);
    }

    /// How the run ends in its journal: `cancelled` stays resumable (so does a run the journal
    /// itself stopped, `JOURNAL_E_WRITE`); `failed` and `done` ran to their end.
    pub(crate) fn journal_state(&self) -> &'static str {
        if self.cancelled || self.errors.iter().any(|e| e.code == Code::JournalWrite) {
            "cancelled"
        } else if self.failed > 0 {
            "failed"
        } else {
            "done"
        }
    }

    /// Counts one file copied and committed.
    pub(crate) fn count_copy(&mut self, r: &crate::copy::FileReport) {
        self.copied += 1;
        self.bytes += r.size;
        self.verified += u64::from(r.verified);
        match r.strategy {
            crate::strategy::Strategy::DirectSmall => self.direct_small += 1,
            crate::strategy::Strategy::DirectLarge => self.direct_large += 1,
            crate::strategy::Strategy::Staged => self.staged += 1,
        }
    }

    /// Counts `e` as one failed item.
    pub(crate) fn fail(&mut self, e: &Error) {
        self.failed += 1;
        self.errors.push(FailedItem {
            path: e.path.clone(),
            code: e.code,
            message: e.to_string(),
        });
    }
}

//! How many descriptors the file phase may hold at once, from the process's limit: the folders
//! it keeps open, each worker's file in flight, and the small files that wait for a batch sync
//! (up to four each: the temp, the source, a read-back handle while the batch is read back, and
//! the file's folder, which stays open while the file waits even if the cache let it go). A run over the limit fails files with "too many
//! open files"; a desktop's default soft limit (1,024 on Linux, 256 on macOS) is raised to the
//! hard limit first ([`fsops::open_files_limit`]), and what is left bounds the batches.

/// Descriptors set aside for everything else: the journal, the log, standard streams, a lock, a
/// read-back ring.
const RESERVED: u64 = 64;
/// Per worker: the source and temp of the file it copies, and a folder or read-back handle.
const PER_WORKER: u64 = 4;
/// Per pending file (see the module comment).
const PER_PENDING: u64 = 4;
/// At most this many folders are kept open per root…
const FOLDERS_MAX: usize = 512;
/// …pending files at most (bounds memory too)…
const PENDING_MAX: usize = 8192;
/// …and files per batch sync. Larger batches mean fewer filesystem syncs (each rewrites the
/// same bitmaps, inode tables and folders); measured on 20,000 × 4 KiB, 1,024 per batch took
/// 0.85 of the time of 128, and 4,096 no less than 1,024 (the last batch's sync and read-back
/// no longer overlap the copies).
const BATCH_MAX: usize = 1024;

/// The file phase's share of the process's descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Folders kept open per root (source and target each).
    pub folders: usize,
    /// Small files copied and not yet committed (each holds up to four descriptors).
    pub pending: usize,
    /// Files per batch sync.
    pub batch: usize,
}

impl Budget {
    /// The budget of a run with `workers` workers in this process.
    pub fn new(workers: usize) -> Budget {
        Budget::for_limit(fsops::open_files_limit(), workers)
    }

    /// The budget under a limit of `limit` descriptors (`None`: no limit).
    pub fn for_limit(limit: Option<u64>, workers: usize) -> Budget {
        let Some(limit) = limit.filter(|&l| l < u64::MAX / 4) else {
            return Budget {
                folders: FOLDERS_MAX,
                pending: PENDING_MAX,
                batch: BATCH_MAX,
            };
        };
        let folders = (limit / 8).clamp(8, FOLDERS_MAX as u64) as usize;
        let others = RESERVED + PER_WORKER * workers as u64 + 2 * folders as u64;
        let pending =
            (limit.saturating_sub(others) / PER_PENDING).clamp(8, PENDING_MAX as u64) as usize;
        // Room for three batches: one filling, one syncing, one being verified and renamed.
        let batch = (pending / 3).clamp(1, BATCH_MAX);
        Budget {
            folders,
            pending,
            batch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_fits_the_limit() {
        for limit in [256u64, 1024, 4096, 10_240, 524_288] {
            for workers in [1, 2, 8, 16] {
                let b = Budget::for_limit(Some(limit), workers);
                let held = RESERVED
                    + PER_WORKER * workers as u64
                    + 2 * b.folders as u64
                    + PER_PENDING * b.pending as u64;
                assert!(held <= limit, "{limit} {workers}: {b:?}");
                assert!(b.batch >= 1 && b.batch * 3 <= b.pending, "{b:?}");
            }
        }
        // A hard limit of 1,024 (some containers), 8 workers.
        let b = Budget::for_limit(Some(1024), 8);
        assert_eq!((b.folders, b.pending, b.batch), (128, 168, 56));
        // A systemd hard limit: the maximum.
        let big = Budget::for_limit(Some(524_288), 8);
        assert_eq!((big.folders, big.pending, big.batch), (512, 8192, 1024));
        assert_eq!(Budget::for_limit(None, 8), big);
    }
}

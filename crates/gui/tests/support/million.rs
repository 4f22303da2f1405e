//! A synthetic comparison of any size, built from made-up scans (no files on disk: a million
//! files take minutes to create), for the large-tree test in `tests/gui.rs` and the measurement
//! program `examples/million.rs`, which include this file.
//!
//! `folders` folders `dNNNN` each hold `files` files `fNNNN.bin`. In every folder, file `k` with
//! `k % 100 == 7` differs in size, `k % 250 == 3` exists only on the LEFT, and every tenth folder
//! has one extra RIGHT-only file `zz-extra.txt`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use engine::tree::{Comparison, Criteria, Entry, EntryKind, Scan};
use engine::{CancelToken, NullReporter};

fn entry(rel: String, kind: EntryKind, size: u64) -> Entry {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    Entry {
        rel: PathBuf::from(rel).into_boxed_path(),
        kind,
        size,
        modified: Some(t),
        created: Some(t),
        mode: 0o644,
        uid: 0,
        gid: 0,
        more: None,
    }
}

/// Whether file `k` of a folder differs in size between the sides.
pub fn differs(k: usize) -> bool {
    k % 100 == 7
}

/// Whether file `k` of a folder exists only on the LEFT.
pub fn left_only(k: usize) -> bool {
    k % 250 == 3
}

/// The comparison of the two made-up trees, rooted at `left` and `right` (existing, empty
/// folders, so the root rows look like real ones).
pub fn comparison(left: &Path, right: &Path, folders: usize, files: usize) -> Comparison {
    let mut l = Vec::with_capacity(folders * (files + 1));
    let mut r = Vec::with_capacity(folders * (files + 2));
    // Generated in the scans' order (`path_order`): a folder, then its files by name.
    for d in 0..folders {
        let dir = format!("d{d:04}");
        l.push(entry(dir.clone(), EntryKind::Dir, 0));
        r.push(entry(dir.clone(), EntryKind::Dir, 0));
        for k in 0..files {
            let rel = format!("{dir}/f{k:04}.bin");
            let size = 1000 + k as u64;
            l.push(entry(rel.clone(), EntryKind::File, size));
            if !left_only(k) {
                r.push(entry(rel, EntryKind::File, size + u64::from(differs(k))));
            }
        }
        if d % 10 == 0 {
            r.push(entry(format!("{dir}/zz-extra.txt"), EntryKind::File, 5));
        }
    }
    let scan = |root: &Path, entries| Scan {
        root: root.to_path_buf(),
        entries,
        ..Scan::default()
    };
    engine::tree::compare(
        scan(left, l),
        scan(right, r),
        Criteria::default(),
        Duration::from_secs(2),
        &NullReporter,
        &CancelToken::new(),
    )
}

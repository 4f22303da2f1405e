//! The files a bench copies: all of a small folder, else a deterministic spread over the tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::tree::{self, EntryKind};

/// One file of the sample.
pub(super) struct SampleFile {
    pub(super) rel: PathBuf,
    pub(super) size: u64,
}

/// The sample, its folders (created before each timed copy) and its size.
pub(super) struct Sample {
    pub(super) files: Vec<SampleFile>,
    pub(super) dirs: Vec<PathBuf>,
    pub(super) bytes: u64,
}

/// Every regular file when the folder fits the budget; else a deterministic spread of them
/// (ordered by a hash of the path, so every folder of the tree is represented, not just the
/// first ones) until `max_files` or `max_bytes`.
pub(super) fn pick_sample(entries: &[tree::Entry], max_files: usize, max_bytes: u64) -> Sample {
    let mut files: Vec<&tree::Entry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .collect();
    let total: u64 = files.iter().map(|e| e.size).sum();
    if files.len() > max_files || total > max_bytes {
        files.sort_by_key(|e| fnv1a(e.rel.as_os_str().as_encoded_bytes()));
    }
    let (mut picked, mut bytes) = (Vec::new(), 0u64);
    for e in files {
        if picked.len() >= max_files {
            break;
        }
        if bytes + e.size > max_bytes {
            continue;
        }
        bytes += e.size;
        picked.push(SampleFile {
            rel: e.rel.to_path_buf(),
            size: e.size,
        });
    }
    // Parents before children, so the folders can be created in order.
    let dirs: BTreeSet<PathBuf> = picked
        .iter()
        .flat_map(|f| f.rel.ancestors().skip(1).map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    Sample {
        files: picked,
        dirs: dirs.into_iter().collect(),
        bytes,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_spreads_over_the_tree_within_the_budget() {
        let entries: Vec<tree::Entry> = (0..100)
            .map(|i| tree::Entry {
                rel: PathBuf::from(format!("d{}/f{i}", i % 10)).into_boxed_path(),
                kind: EntryKind::File,
                size: 10,
                modified: None,
                created: None,
                mode: 0,
                uid: 0,
                gid: 0,
                more: None,
            })
            .collect();
        let s = pick_sample(&entries, 20, 1000);
        assert_eq!(s.files.len(), 20);
        assert_eq!(s.bytes, 200);
        let folders: BTreeSet<_> = s.files.iter().map(|f| f.rel.parent()).collect();
        assert!(folders.len() > 3, "sample not spread: {folders:?}");
        let s = pick_sample(&entries, 1000, 55);
        assert_eq!(s.files.len(), 5);
    }
}

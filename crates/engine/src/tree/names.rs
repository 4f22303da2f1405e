//! Names that one filesystem would fold into one: case-only and Unicode-normalisation twins
//! (found across both trees, so a copy never lets one overwrite the other), and the pairing of a
//! left-only and a right-only path whose folded names match (one item whose `NAME` differs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::tree::compare::{Criteria, Diffs, Item, categorize, metadata_diffs};
use crate::tree::scan::Entry;

/// How twin names differ (a stable name in `--json`; see `docs/vocabulary.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TwinKind {
    /// Only by case (`a.txt`, `A.txt`): merged by NTFS, APFS, exFAT and FAT.
    Case,
    /// Only by Unicode normalisation (NFC, NFD): merged by APFS and HFS+.
    UnicodeNormalization,
}

impl TwinKind {
    /// Every kind, for the documentation check.
    pub const ALL: &'static [TwinKind] = &[TwinKind::Case, TwinKind::UnicodeNormalization];

    /// The kind of filesystem that would merge the names, for messages.
    pub fn folding(self) -> &'static str {
        match self {
            TwinKind::Case => "case-insensitive",
            TwinKind::UnicodeNormalization => "normalising (macOS)",
        }
    }
}

/// Names that differ only by case, or only by Unicode normalisation (NFC vs NFD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Twins {
    /// How the names differ.
    pub kind: TwinKind,
    /// The names (relative paths), sorted.
    #[serde(serialize_with = "lossy_paths")]
    pub paths: Vec<PathBuf>,
}

fn lossy_paths<S: serde::Serializer>(p: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    p.iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .serialize(s)
}

/// On a side that folds names, a left-only and a right-only path that fold to the same name are
/// one item (`Report.txt` in the source, `report.txt` on an exFAT target): its name differs
/// (`NAME`, when the last component differs; a folder's rename carries its contents) and the
/// rest is compared as usual. Only unambiguous pairs are joined: one name on each side.
pub(super) fn pair_folded(
    items: &mut Vec<Item>,
    le: &[Entry],
    re: &[Entry],
    criteria: &Criteria,
    tolerance: Duration,
) {
    let mut by_key: HashMap<String, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for (k, it) in items.iter().enumerate() {
        let (rel, left) = match (it.left, it.right) {
            (Some(l), None) => (&le[l as usize].rel, true),
            (None, Some(r)) => (&re[r as usize].rel, false),
            _ => continue,
        };
        let Some(s) = rel.to_str() else { continue };
        let e = by_key
            .entry(fold_with(s, criteria.fold_case, criteria.fold_unicode))
            .or_default();
        if left { e.0.push(k) } else { e.1.push(k) }
    }
    let mut gone = vec![false; items.len()];
    for (ls, rs) in by_key.into_values() {
        let ([kl], [kr]) = (ls.as_slice(), rs.as_slice()) else {
            continue;
        };
        let (l, r) = (
            &le[items[*kl].left.unwrap_or_default() as usize],
            &re[items[*kr].right.unwrap_or_default() as usize],
        );
        let mut diffs = metadata_diffs(l, r, criteria, tolerance);
        if l.rel.file_name() != r.rel.file_name() {
            diffs.insert(Diffs::NAME);
        }
        items[*kl] = Item {
            left: items[*kl].left,
            right: items[*kr].right,
            diffs,
            category: categorize(Some(l), Some(r), diffs),
        };
        gone[*kr] = true;
    }
    let mut k = 0;
    items.retain(|_| {
        k += 1;
        !gone[k - 1]
    });
}

/// `s` as a filesystem that ignores case (`case`) or Unicode normalisation (`unicode`) sees it.
fn fold_with(s: &str, case: bool, unicode: bool) -> String {
    let s: String = if unicode && !s.is_ascii() {
        s.nfc().collect()
    } else {
        s.to_owned()
    };
    if case { s.to_lowercase() } else { s }
}

/// The folded form of a path: what a case-insensitive, normalising filesystem would see.
fn fold_key(s: &str) -> String {
    // ASCII names need no normalisation, only case folding (the common, cheap case).
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.nfc().collect::<String>().to_lowercase()
    }
}

/// A hash of [`fold_key`] of a path, computed without allocating for ASCII paths (FNV-1a over
/// the lower-cased bytes); equal keys give equal hashes. `None` for a path that is not UTF-8
/// (it has no folded form).
pub(super) fn fold_hash(path: &Path) -> Option<u64> {
    fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
        bytes.fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
    let raw = path.as_os_str().as_encoded_bytes();
    if raw.is_ascii() {
        Some(fnv(raw.iter().map(u8::to_ascii_lowercase)))
    } else {
        Some(fnv(fold_key(path.to_str()?).into_bytes().into_iter()))
    }
}

/// Groups of paths (from both trees) that differ only by case or only by Unicode normalisation:
/// copied onto a case-insensitive or normalising filesystem they would overwrite each other.
///
/// Twins are rare, so the caller only hashes each distinct path once ([`fold_hash`], no
/// allocation for ASCII names; done in the comparison's merge, while the path's bytes are in
/// the cache) and this sorts the hashes; folded keys are built only where two hashes collide.
/// Building a key string and a map entry for every path was 14% of a whole no-change re-sync's
/// CPU time (`perf`, 40,000 entries), all of it on the serial path after the parallel scan.
pub(super) fn find_twins(mut hashed: Vec<(u64, &Path)>) -> Vec<Twins> {
    hashed.sort_unstable_by_key(|&(h, _)| h);
    let mut by_fold: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0) {
        // The same path on both sides is one name, not twins.
        if run.iter().all(|(_, p)| *p == run[0].1) {
            continue;
        }
        for &(_, p) in run {
            let Some(s) = p.to_str() else { continue };
            let v = by_fold.entry(fold_key(s)).or_default();
            if !v.iter().any(|q| q.as_path() == p) {
                v.push(p.to_path_buf());
            }
        }
    }
    let mut out: Vec<Twins> = by_fold
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut paths| {
            paths.sort();
            let nfc: Vec<String> = paths
                .iter()
                .map(|p| p.to_string_lossy().nfc().collect())
                .collect();
            let kind = if nfc.windows(2).all(|w| w[0] == w[1]) {
                TwinKind::UnicodeNormalization
            } else {
                TwinKind::Case
            };
            Twins { kind, paths }
        })
        .collect();
    out.sort_by(|a, b| a.paths.cmp(&b.paths));
    out
}

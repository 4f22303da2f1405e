//! `fcs verify FOLDER s3://…`: every file of the folder hashed (BLAKE3, read from the medium
//! as the settings say) and its object read back from the server and hashed — not the hash
//! stored beside it, which only says what was sent — and every file missing on either side.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use super::Store;
use crate::error::Error;
use crate::events::{CancelToken, Event, Reporter};
use crate::hash::hash_path;
use crate::settings::{HashAlgo, Settings, VerifyRead};
use crate::tree::verify::{Problem, VerifyItem, VerifyReport};
use crate::tree::{Comparison, EntryKind, Filter, Side, path_order};

/// Verifies the objects below `store`'s location against the files below `left`. `Err` when
/// the location cannot be listed (nothing was compared).
pub fn verify_remote(
    left: &Path,
    store: &dyn Store,
    filter: &Filter,
    settings: &Settings,
    threads: usize,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Result<VerifyReport, Error> {
    let started = Instant::now();
    let local = crate::tree::scan::scan_with(
        left,
        Side::Left,
        filter,
        threads.min(8),
        crate::tree::scan::Extras::default(),
        reporter,
        cancel,
    );
    let (remote, _) = super::list_as_scan(store, None, threads, cancel)?;
    let mut report = VerifyReport {
        algo: HashAlgo::Blake3.as_str().to_string(),
        ..VerifyReport::default()
    };
    for i in &local.issues {
        report.problems.push(VerifyItem {
            rel: i.path.strip_prefix(left).unwrap_or(&i.path).to_path_buf(),
            problem: Problem::Unreadable,
            detail: i.message.clone(),
        });
    }
    // Files only: an object store keeps no folders or links of its own.
    let files = |s: &crate::tree::Scan| {
        s.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| (e.rel.to_path_buf(), e.size))
            .collect::<Vec<_>>()
    };
    let (l, r) = (files(&local), files(&remote));
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < l.len() || j < r.len() {
        let ord = match (l.get(i), r.get(j)) {
            (Some(a), Some(b)) => path_order(&a.0, &b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let missing = |rel: &Path, problem, detail: &str| VerifyItem {
            rel: rel.to_path_buf(),
            problem,
            detail: detail.to_string(),
        };
        match ord {
            std::cmp::Ordering::Less => {
                report
                    .problems
                    .push(missing(&l[i].0, Problem::MissingRight, "no such object"));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                report.problems.push(missing(
                    &r[j].0,
                    Problem::MissingLeft,
                    "an object with no file",
                ));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if l[i].1 == r[j].1 {
                    pairs.push((l[i].0.clone(), l[i].1));
                } else {
                    report.problems.push(missing(
                        &l[i].0,
                        Problem::Mismatch,
                        &format!("{} bytes here, {} in the object", l[i].1, r[j].1),
                    ));
                }
                i += 1;
                j += 1;
            }
        }
    }
    let total: u64 = pairs.iter().map(|p| p.1 * 2).sum();
    let done = AtomicU64::new(0);
    let progress = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        reporter.report(&Event::CompareProgress {
            hashed_bytes: d,
            total_bytes: total,
        });
    };
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<VerifyItem>> = Mutex::new(Vec::new());
    let identical = AtomicU64::new(0);
    let from_medium = settings.verify_read == VerifyRead::Device;
    let part = store.capabilities().part_size;
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, 64).min(pairs.len().max(1)) {
            s.spawn(|| {
                while !cancel.is_cancelled() {
                    let Some((rel, size)) = pairs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let key = rel.to_string_lossy().replace('\\', "/");
                    let here = hash_path(
                        &left.join(rel),
                        HashAlgo::Blake3,
                        from_medium,
                        cancel,
                        &progress,
                    );
                    let there = object_hash(store, &key, *size, part, &progress);
                    if cancel.is_cancelled() {
                        break;
                    }
                    let item = |problem, detail: String| VerifyItem {
                        rel: rel.clone(),
                        problem,
                        detail,
                    };
                    let finding = match (here, there) {
                        (Ok(a), Ok(b)) if a == b => {
                            identical.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                        (Ok(a), Ok(b)) => Some(item(
                            Problem::Mismatch,
                            format!("blake3 {a} here, {b} in the object"),
                        )),
                        (Err(e), _) => Some(item(Problem::Unreadable, e.to_string())),
                        (_, Err(e)) => Some(item(Problem::Unreadable, e.to_string())),
                    };
                    if let Some(f) = finding {
                        found.lock().unwrap_or_else(|e| e.into_inner()).push(f);
                    }
                }
            });
        }
    });
    report
        .problems
        .extend(found.into_inner().unwrap_or_else(|e| e.into_inner()));
    report.problems.sort_by(|a, b| path_order(&a.rel, &b.rel));
    report.identical = identical.into_inner();
    report.bytes = done.into_inner();
    report.cancelled = cancel.is_cancelled() || local.cancelled;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The BLAKE3 of the object `key` (`size` bytes), read back in `part`-sized ranges.
fn object_hash(
    store: &dyn Store,
    key: &str,
    size: u64,
    part: u64,
    progress: &dyn Fn(u64),
) -> Result<String, Error> {
    let mut h = blake3::Hasher::new();
    let mut at = 0;
    while at < size {
        let end = (at + part).min(size);
        let b = store.read(key, at..end)?;
        h.update(&b);
        progress(b.len() as u64);
        at = end;
    }
    Ok(h.finalize().to_hex().to_string())
}

/// `--by content` against remote storage: each pair of equal size (`cmp`'s content
/// candidates) settled by the file's BLAKE3 against the one stored with the object (`stored`,
/// as fcs uploads it — what was sent, the way rclone's check trusts a stored MD5), or, where
/// none is stored (another tool uploaded it; SFTP), against the object read back and hashed.
pub(crate) fn compare_content(
    cmp: &Comparison,
    local: &Path,
    store: &dyn Store,
    stored: &HashMap<PathBuf, String>,
    threads: usize,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Vec<(usize, Result<bool, String>)> {
    let pairs = cmp.content_candidates();
    let size_of = |k: usize| {
        cmp.items[k]
            .left
            .map_or(0, |l| cmp.left.entries[l as usize].size)
    };
    let total: u64 = pairs
        .iter()
        .map(|&k| {
            let rel = cmp.rel(&cmp.items[k]);
            size_of(k) * if stored.contains_key(rel) { 1 } else { 2 }
        })
        .sum();
    let done = AtomicU64::new(0);
    let progress = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        reporter.report(&Event::CompareProgress {
            hashed_bytes: d,
            total_bytes: total,
        });
    };
    let part = store.capabilities().part_size;
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, Result<bool, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, 64).min(pairs.len().max(1)) {
            s.spawn(|| {
                while !cancel.is_cancelled() {
                    let Some(&k) = pairs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let rel = cmp.rel(&cmp.items[k]);
                    let here =
                        hash_path(&local.join(rel), HashAlgo::Blake3, false, cancel, &progress)
                            .map_err(|e| {
                                format!(
                                    "SCAN_E_READ: cannot read '{}' to compare it: {e}",
                                    local.join(rel).display()
                                )
                            });
                    let there = match stored.get(rel) {
                        Some(h) => Ok(h.clone()),
                        None => {
                            let key = rel.to_string_lossy().replace('\\', "/");
                            object_hash(store, &key, size_of(k), part, &progress)
                                .map_err(|e| e.to_string())
                        }
                    };
                    if cancel.is_cancelled() {
                        break;
                    }
                    let r = match (here, there) {
                        (Ok(a), Ok(b)) => Ok(a == b),
                        (Err(e), _) | (_, Err(e)) => Err(e),
                    };
                    out.lock().unwrap_or_else(|e| e.into_inner()).push((k, r));
                }
            });
        }
    });
    out.into_inner().unwrap_or_else(|e| e.into_inner())
}

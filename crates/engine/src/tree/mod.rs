//! Folder trees: scan both roots → compare → plan → execute (DESIGN.md §3), as one [`Run`].

mod compare;
mod execute;
mod filter;
mod job;
pub mod journal;
mod lock;
mod names;
mod plan;
mod probe;
mod resume;
mod roots;
mod run;
mod saved;
pub(crate) mod scan;
pub mod verify;

use std::path::Path;

pub use crate::events::Side;
pub use crate::summary::{FailedItem, Summary};
pub use crate::tree::journal::RunKind;
pub use compare::{Category, CompareIssue, Comparison, Criteria, Diffs, Item, compare};
pub use filter::Filter;
pub use names::{TwinKind, Twins};
pub use plan::{Action, ActionKind, Direction, Plan, PlanOptions, Skip};
pub use probe::Capabilities;
pub use resume::Resumed;
pub use roots::check_roots;
pub(crate) use roots::resolve_target;
pub use run::{Prepared, Run, copy_target, interrupted_move_of};
pub use saved::{SavedJob, SavedMode};
pub use scan::{Entry, EntryKind, Scan, ScanIssue, ScanIssueKind};
pub(crate) use scan::{path_order, scan};

use crate::error::{Code, Error};
use crate::events::{CancelToken, Reporter};
use crate::remote::{self, Store, Url};
use crate::settings::Settings;

/// Whether the folder `dir` (or, if it does not exist yet, its nearest existing ancestor) folds
/// names that differ only by case or normalisation, so twins must not be copied into it: the
/// run's probe, which puts the folder's times back.
pub fn folds_names(dir: &Path) -> bool {
    let dir = dir
        .ancestors()
        .find(|a| a.is_dir())
        .unwrap_or(Path::new("."));
    let caps = probe::probe(dir, &format!("f{:x}", std::process::id()), true);
    caps.case_insensitive || caps.normalization_insensitive
}

/// Worker threads for a tree run onto `target` when the user did not choose (`workers=0`):
/// local disks get several per core (small-file copies wait on metadata I/O, not the CPU); a
/// network share 8 requests in flight (latency-bound, like robocopy's /MT default); a removable
/// or unknown device 2, because parallel writes to a USB stick only make it seek.
pub fn default_workers(target: &Path) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    match fsops::drive_info(target).map(|i| i.kind) {
        Ok(fsops::DriveKind::LocalFixed | fsops::DriveKind::Ramdisk) => (cores * 4).clamp(4, 16),
        Ok(fsops::DriveKind::NetworkUnc) => 8,
        _ => 2,
    }
}

/// Walker and worker threads for a run onto `target`: the `workers` setting, or
/// [`default_workers`] when it is 0 (auto).
pub fn threads(settings: &Settings, target: &Path) -> usize {
    match settings.workers {
        0 => default_workers(target),
        n => n as usize,
    }
}

/// `fcs compare` and a front end's Compare: the roots checked ([`check_roots`]), both trees
/// scanned with the settings' threads and symlink policy, and compared with the settings'
/// timestamp tolerance.
pub fn compare_roots(
    left: &Path,
    right: &Path,
    settings: &Settings,
    filter: Filter,
    criteria: Criteria,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Result<Comparison, Error> {
    let filter = filter.with_follow_symlinks(settings.follow_symlinks);
    let remote_left = match (Url::parse(left), Url::parse(right)) {
        (Some(l), Some(r)) => {
            l?;
            r?;
            return Err(Error::new(
                Code::RemoteUnsupported,
                left,
                "one side must be a local folder: fcs compares a folder with s3:// or sftp://, not two remote locations",
            ));
        }
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    };
    if let Some(remote_left) = remote_left {
        let (local, remote) = if remote_left {
            (right, left)
        } else {
            (left, right)
        };
        let url = Url::parse(remote).unwrap_or_else(|| unreachable!())?;
        let src = std::fs::canonicalize(local)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                Error::new(
                    Code::PlanRoots,
                    local,
                    format!("'{}' is not an existing folder", local.display()),
                )
            })?;
        let criteria = remote_criteria(criteria);
        let store = remote::open(&url, settings)?;
        let threads = match settings.workers {
            0 => 16,
            n => n as usize,
        };
        return compare_remote(
            &src,
            &*store,
            remote_left,
            &filter,
            criteria,
            settings.timestamp_tolerance,
            threads,
            reporter,
            cancel,
        );
    }
    check_roots(left, right, false)?;
    // Both sides' own rules, judged from what is there (a compare writes nothing).
    let caps = probe::judge_both(left, right);
    let (mut settings, mut criteria) = (settings.clone(), criteria);
    for notice in probe::fit(&caps, &mut settings, &mut criteria) {
        reporter.report(&crate::events::Event::Notice {
            id: 0,
            path: right.to_path_buf(),
            notice,
        });
    }
    let cmp = compare_trees(
        left,
        right,
        &filter,
        criteria,
        settings.timestamp_tolerance,
        threads(&settings, right),
        reporter,
        cancel,
    );
    run::nested_roots(&cmp)?;
    Ok(cmp)
}

/// What a comparison with remote storage compares: an object keeps its bytes, its modified
/// time and our hash, nothing else (permissions, owners, created times and attributes are
/// left out; names are compared exactly, as a bucket keeps them).
pub(crate) fn remote_criteria(mut criteria: Criteria) -> Criteria {
    criteria.permissions = false;
    criteria.owner = false;
    criteria.created = false;
    criteria.xattrs = Default::default();
    criteria.fold_case = false;
    criteria.fold_unicode = false;
    criteria
}

/// The local folder `src` scanned, `store` listed (with the metadata of the objects whose size
/// agrees), and the two compared: the folder is the left side and the store the right, or —
/// `remote_left` — the other way round (`fcs compare s3://… FOLDER`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn compare_remote(
    src: &Path,
    store: &dyn Store,
    remote_left: bool,
    filter: &Filter,
    criteria: Criteria,
    tolerance: std::time::Duration,
    threads: usize,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Result<Comparison, Error> {
    // A download's local folder may not exist yet: nothing there.
    let src_scan = if src.exists() {
        scan::scan_with(
            src,
            Side::Left,
            filter,
            threads.min(8),
            scan::Extras::default(),
            reporter,
            cancel,
        )
    } else {
        Scan {
            root: src.to_path_buf(),
            ..Scan::default()
        }
    };
    let (dst_scan, hashes) = if src_scan.cancelled {
        Default::default()
    } else {
        remote::list_as_scan(store, Some(&src_scan), threads, cancel)?
    };
    // A store that keeps whole seconds (SFTP) would make every file differ by its fraction.
    let granularity = store.capabilities().time_granularity;
    let tolerance = if granularity > tolerance {
        reporter.report(&crate::events::Event::Notice {
            id: 0,
            path: std::path::PathBuf::from(store.url().to_string()),
            notice: crate::events::Notice {
                kind: crate::events::NoticeKind::ToleranceRaised,
                message: format!(
                    "{} keeps modified times to {} s: times are compared within that",
                    store.url(),
                    granularity.as_secs_f64()
                ),
            },
        });
        granularity
    } else {
        tolerance
    };
    let by_content = criteria.content;
    let criteria = Criteria {
        content: false,
        ..criteria
    };
    let mut cmp = if remote_left {
        compare(dst_scan, src_scan, criteria, tolerance, reporter, cancel)
    } else {
        compare(src_scan, dst_scan, criteria, tolerance, reporter, cancel)
    };
    if by_content && !cmp.cancelled {
        let results = remote::compare_content(&cmp, src, store, &hashes, threads, reporter, cancel);
        cmp.settle_content(results);
    }
    Ok(cmp)
}

/// Scans both roots in parallel (one thread pool each) and compares them.
#[allow(clippy::too_many_arguments)]
pub fn compare_trees(
    left: &Path,
    right: &Path,
    filter: &Filter,
    criteria: Criteria,
    tolerance: std::time::Duration,
    threads: usize,
    reporter: &dyn Reporter,
    cancel: &CancelToken,
) -> Comparison {
    let per_side = (threads / 2).max(1);
    // Each side watches for the other root: a second path to it inside the tree (a bind mount)
    // makes one root nest in the other, which no path comparison sees.
    let (lid, rid) = (
        fsops::path_identity(left).ok(),
        fsops::path_identity(right).ok(),
    );
    let extras = |watch| scan::Extras {
        watch,
        xattrs: criteria.xattrs,
    };
    let (ls, rs) = std::thread::scope(|s| {
        let l = s.spawn(|| {
            scan::scan_with(
                left,
                Side::Left,
                filter,
                per_side,
                extras(rid),
                reporter,
                cancel,
            )
        });
        let r = if right.exists() {
            scan::scan_with(
                right,
                Side::Right,
                filter,
                per_side,
                extras(lid),
                reporter,
                cancel,
            )
        } else {
            Scan {
                root: right.to_path_buf(),
                ..Scan::default()
            }
        };
        (l.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), r)
    });
    compare(ls, rs, criteria, tolerance, reporter, cancel)
}

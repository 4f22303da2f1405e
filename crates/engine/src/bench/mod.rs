//! `fcs bench` (seed 003, the benchmarks module): our own strategies and settings measured on the
//! user's own folder, so the settings we recommend fit that machine and that data.
//!
//! The folder is only read. A sample of its files (all of them when it is small, else a
//! deterministic spread up to `max_files` / `max_bytes`) is copied, through the same
//! [`Copier`](crate::Copier) the real runs use, into a scratch folder next to it (same volume,
//! so the same disk), once per variant: DIRECT-SMALL vs DIRECT-LARGE vs STAGED, window sizes,
//! chunk sizes, worker counts, durability modes, and the scan with several walker thread counts.
//! Variants of a group run interleaved (A B C A B C …) so that a noisy neighbour hurts them all
//! alike. The scratch folder is deleted at the end, on error and on cancel (`Scratch`'s `Drop`).
//!
//! The engine never prints: rows go to the caller's callback as they are measured, file events to
//! the [`Reporter`], and the result is a [`Report`] with a recommendation per setting.

mod recommend;
mod sample;
mod trial;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Code, Error, IoResultExt};
use crate::events::{CancelToken, Reporter};
use crate::settings::{Settings, StrategyChoice, format_bytes};
use crate::tree::{self, EntryKind, Filter, Side};
use recommend::recommend;
use sample::pick_sample;
use trial::{Bench, Scratch};

const MIB: u64 = 1 << 20;

/// What to measure. [`Options::full`] and [`Options::quick`] are the two presets.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs of each variant (interleaved); the median counts.
    pub repetitions: u32,
    /// At most this many files of the folder are copied per variant…
    pub max_files: usize,
    /// …and at most this many bytes.
    pub max_bytes: u64,
    /// Worker counts to measure (the automatic count is always added).
    pub workers: Vec<usize>,
    /// DIRECT-LARGE window sizes to measure, in bytes.
    pub windows: Vec<u64>,
    /// DIRECT-SMALL kernel copy chunks to measure, in bytes.
    pub kernel_chunks: Vec<u64>,
    /// STAGED chunks to measure, in bytes.
    pub staged_chunks: Vec<u64>,
    /// Walker thread counts to time the scan with.
    pub scan_threads: Vec<usize>,
    /// Where the scratch folder goes (default: the folder's parent, i.e. next to it).
    pub scratch_parent: Option<PathBuf>,
}

impl Options {
    /// A thorough run (minutes): a large sample, three repetitions, every variant.
    pub fn full() -> Options {
        Options {
            repetitions: 3,
            max_files: 5_000,
            max_bytes: 512 * MIB,
            workers: vec![1, 2, 4, 8, 16],
            windows: vec![16 * MIB, 64 * MIB, 256 * MIB],
            kernel_chunks: vec![MIB, 16 * MIB, 64 * MIB],
            staged_chunks: vec![MIB, 4 * MIB, 16 * MIB],
            scan_threads: vec![1, 2, 4, 8],
            scratch_parent: None,
        }
    }

    /// A run of seconds, not minutes: a small sample, one repetition, fewer variants.
    pub fn quick() -> Options {
        Options {
            repetitions: 1,
            max_files: 500,
            max_bytes: 64 * MIB,
            workers: vec![1, 4, 16],
            windows: vec![16 * MIB, 64 * MIB],
            kernel_chunks: vec![MIB, 16 * MIB],
            staged_chunks: vec![MIB, 4 * MIB],
            scan_threads: vec![1, 4],
            scratch_parent: None,
        }
    }
}

/// Which comparison a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The copy strategies, forced for every file, against the decision matrix.
    Strategy,
    /// DIRECT-LARGE window sizes.
    Window,
    /// DIRECT-SMALL kernel copy chunks.
    KernelChunk,
    /// STAGED chunks.
    StagedChunk,
    /// Worker counts.
    Workers,
    /// Durability modes.
    Durability,
    /// Walker thread counts of the scan.
    Scan,
}

impl Group {
    /// The group's title, with the strategy it is measured under.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Strategy => "strategy",
            Group::Window => "window (DIRECT-LARGE)",
            Group::KernelChunk => "kernel_copy_chunk (DIRECT-SMALL)",
            Group::StagedChunk => "staged_chunk (STAGED)",
            Group::Workers => "workers",
            Group::Durability => "durability",
            Group::Scan => "scan threads",
        }
    }
}

/// One measured variant.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The comparison it belongs to.
    pub group: Group,
    /// What varies, e.g. `DIRECT-LARGE`, `64MiB`, `8`.
    pub label: String,
    /// The settings that produce it (`key`, `value`), on top of the caller's.
    pub settings: Vec<(&'static str, String)>,
    /// Files copied per repetition (entries, for a scan).
    pub files: u64,
    /// Bytes copied per repetition (0 for a scan).
    pub bytes: u64,
    /// Wall time of each repetition, in seconds.
    pub seconds: Vec<f64>,
    /// The first failure, if any file failed (the row's times then mean little).
    pub error: Option<String>,
}

impl Row {
    /// The median wall time of the repetitions, in seconds.
    pub fn median(&self) -> f64 {
        median(&self.seconds)
    }
    /// Megabytes (10^6) per second at the median.
    pub fn mbps(&self) -> f64 {
        let m = self.median();
        if m > 0.0 {
            self.bytes as f64 / 1e6 / m
        } else {
            0.0
        }
    }
    /// Files per second at the median.
    pub fn files_per_sec(&self) -> f64 {
        let m = self.median();
        if m > 0.0 { self.files as f64 / m } else { 0.0 }
    }
}

/// A setting we recommend for this machine and this kind of folder.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// The setting's key.
    pub key: &'static str,
    /// The value we recommend.
    pub value: String,
    /// The value in effect during the bench (default or the caller's).
    pub current: String,
    /// Why, from the measurements (or why not measured).
    pub why: String,
}

impl Recommendation {
    /// Whether following it changes anything.
    pub fn changes(&self) -> bool {
        self.value != self.current
    }
}

/// The outcome of a bench run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The folder measured.
    pub folder: PathBuf,
    /// The scratch folder used (already deleted).
    pub scratch: PathBuf,
    /// Regular files in the folder.
    pub folder_files: u64,
    /// Their bytes.
    pub folder_bytes: u64,
    /// Files of the sample copied per variant.
    pub sample_files: u64,
    /// Their bytes.
    pub sample_bytes: u64,
    /// Runs of each variant.
    pub repetitions: u32,
    /// Every row, in the order measured.
    pub rows: Vec<Row>,
    /// One recommendation per setting measured.
    pub recommendations: Vec<Recommendation>,
}

/// Settings that make a variant: (`key`, `value`) pairs for `Settings::set`.
pub(super) type Pairs = Vec<(&'static str, String)>;

/// Measures `folder` (see the module docs). `base` are the settings every variant starts from
/// (the user's `--set`s); `on_row` gets each row as soon as it is measured. Cancelling returns
/// the cancel error once the scratch folder is gone.
pub fn run(
    folder: &Path,
    base: &Settings,
    opts: &Options,
    reporter: Arc<dyn Reporter>,
    cancel: &CancelToken,
    on_row: &mut dyn FnMut(&Row),
) -> Result<Report, Error> {
    let folder = std::fs::canonicalize(folder).or_code(
        Code::PlanRoots,
        folder,
        "the folder does not exist or cannot be reached",
    )?;
    if !folder.is_dir() {
        return Err(Error::new(Code::PlanRoots, &folder, "not a folder"));
    }
    let parent = match &opts.scratch_parent {
        Some(p) => p.clone(),
        None => folder
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| Error::new(Code::PlanRoots, &folder, "the folder has no parent"))?,
    };
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    let filter = Filter::new(&[], &[], None, false)?;
    let threads = tree::default_workers(&parent);

    let scan = tree::scan(&folder, Side::Left, &filter, threads, &*reporter, cancel);
    check_cancel(cancel, &folder)?;
    let (folder_files, folder_bytes) = scan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .fold((0, 0), |(n, b), e| (n + 1, b + e.size));
    let sample = pick_sample(&scan.entries, opts.max_files, opts.max_bytes);
    if sample.files.is_empty() {
        return Err(Error::new(
            Code::PlanRoots,
            &folder,
            "the folder has no regular files to benchmark with",
        ));
    }
    // Warm the page cache, so that every variant reads the source alike (from memory) and the
    // first one does not pay for everybody.
    for f in &sample.files {
        check_cancel(cancel, &folder)?;
        let _ = std::fs::File::open(folder.join(&f.rel))
            .and_then(|mut r| std::io::copy(&mut r, &mut std::io::sink()));
    }

    let scratch = Scratch::create(&parent, &name)?;
    let mut b = Bench {
        folder: &folder,
        scratch: &scratch.0,
        sample: &sample,
        reporter,
        cancel,
        reps: opts.repetitions.max(1),
        rows: Vec::new(),
        trial: 0,
    };

    let auto_workers = match base.workers {
        0 => threads,
        n => n as usize,
    };
    let mut current = base.clone();
    let with = |s: &Settings, pairs: &[(&'static str, String)]| -> Result<Settings, Error> {
        let mut s = s.clone();
        for (k, v) in pairs {
            s.set(k, v)?;
        }
        Ok(s)
    };
    let mut recs = Vec::new();

    // One untimed copy first: the first trial of a run otherwise pays for creating the scratch
    // folder's metadata and for whatever write-back the warm-up left.
    b.trial(&current, auto_workers)?;

    // 1. Strategies. `auto` is the decision matrix; the others are forced for every file.
    let variants: Vec<(String, Pairs)> = ["auto", "direct-small", "direct-large", "staged"]
        .iter()
        .map(|s| {
            let label = match *s {
                "auto" => "auto (decision matrix)".to_string(),
                other => other.to_uppercase(),
            };
            (label, vec![("strategy", s.to_string())])
        })
        .collect();
    let rows = b.group(Group::Strategy, &current, &variants, auto_workers, on_row)?;
    let rec = recommend(
        "strategy",
        &rows,
        strategy_name(&current),
        |r| r.settings[0].1.clone(),
        "auto",
    );
    current = with(&current, &[("strategy", rec.value.clone())])?;
    recs.push(rec);

    // 2. Windows, under DIRECT-LARGE (where the window is the unit of copy, hash and write-back),
    // 3. chunk sizes: the kernel copy's under DIRECT-SMALL, the buffered chunk under STAGED.
    // A size no file of the sample exceeds cannot make a difference: such a group is not run
    // (its differences would be noise, and noise must not become a recommendation).
    let largest = sample.files.iter().map(|f| f.size).max().unwrap_or(0);
    let size_groups: [(Group, &'static str, &[u64], &str, u64); 3] = [
        (
            Group::Window,
            "window",
            &opts.windows,
            "direct-large",
            current.window,
        ),
        (
            Group::KernelChunk,
            "kernel_copy_chunk",
            &opts.kernel_chunks,
            "direct-small",
            current.kernel_copy_chunk,
        ),
        (
            Group::StagedChunk,
            "staged_chunk",
            &opts.staged_chunks,
            "staged",
            current.staged_chunk,
        ),
    ];
    for (group, key, values, strategy, now) in size_groups {
        let smallest = values.iter().copied().min().unwrap_or(0);
        let rec = if largest <= smallest {
            Recommendation {
                key,
                value: format_bytes(now),
                current: format_bytes(now),
                why: format!(
                    "not measured: no file here is larger than {} (it makes no difference)",
                    format_bytes(smallest)
                ),
            }
        } else {
            let variants = sizes(values, key, &[("strategy", strategy)]);
            let rows = b.group(group, &current, &variants, auto_workers, on_row)?;
            recommend(
                key,
                &rows,
                &format_bytes(now),
                |r| r.settings[0].1.clone(),
                "",
            )
        };
        current = with(&current, &[(key, rec.value.clone())])?;
        recs.push(rec);
    }

    // 4. Durability: the same atomicity either way; `none` is shown for scale only (never
    // recommended: a power cut can lose files).
    let variants: Vec<_> = ["full", "batch", "none"]
        .iter()
        .map(|d| (d.to_string(), vec![("durability", d.to_string())]))
        .collect();
    let rows = b.group(Group::Durability, &current, &variants, auto_workers, on_row)?;
    let safe: Vec<Row> = rows.iter().filter(|r| r.label != "none").cloned().collect();
    let rec = recommend(
        "durability",
        &safe,
        current.durability.as_str(),
        |r| r.label.clone(),
        "",
    );
    current = with(&current, &[("durability", rec.value.clone())])?;
    recs.push(rec);

    // 5. Worker counts, with everything chosen so far; the automatic count is always measured,
    // so that keeping `auto` can be recommended.
    let mut counts = opts.workers.clone();
    if !counts.contains(&auto_workers) {
        counts.push(auto_workers);
        counts.sort_unstable();
    }
    let variants: Vec<_> = counts
        .iter()
        .map(|n| (n.to_string(), vec![("workers", n.to_string())]))
        .collect();
    let rows = b.group_workers(&current, &variants, on_row)?;
    let cur = if base.workers == 0 {
        "0".to_string()
    } else {
        base.workers.to_string()
    };
    let mut rec = recommend("workers", &rows, &cur, |r| r.label.clone(), "");
    if base.workers == 0 && rec.value == auto_workers.to_string() {
        // The automatic choice is the best one: keep `0` (auto) so another target kind still
        // gets its own default.
        rec.value = "0".into();
        rec.why = format!("auto ({auto_workers} here) is as fast as any fixed count");
    }
    recs.push(rec);

    // 6. Scan: walker threads over the whole folder (informational; tree runs use `workers`).
    for rep in 0..b.reps {
        for &n in &opts.scan_threads {
            check_cancel(cancel, &folder)?;
            let t = Instant::now();
            let s = tree::scan(&folder, Side::Left, &filter, n, &*b.reporter, cancel);
            let dt = t.elapsed().as_secs_f64();
            check_cancel(cancel, &folder)?;
            let label = n.to_string();
            let idx = b
                .rows
                .iter()
                .position(|r| r.group == Group::Scan && r.label == label);
            let i = match idx {
                Some(i) => i,
                None => {
                    b.rows.push(Row {
                        group: Group::Scan,
                        label,
                        settings: vec![],
                        files: s.entries.len() as u64,
                        bytes: 0,
                        seconds: vec![],
                        error: None,
                    });
                    b.rows.len() - 1
                }
            };
            b.rows[i].seconds.push(dt);
            if rep + 1 == b.reps {
                on_row(&b.rows[i]);
            }
        }
    }

    let rows = std::mem::take(&mut b.rows);
    let report = Report {
        folder: folder.clone(),
        scratch: scratch.0.clone(),
        folder_files,
        folder_bytes,
        sample_files: sample.files.len() as u64,
        sample_bytes: sample.bytes,
        repetitions: b.reps,
        rows,
        recommendations: recs,
    };
    drop(scratch);
    Ok(report)
}

/// The `strategy` setting's value as `Settings::set` spells it.
fn strategy_name(s: &Settings) -> &'static str {
    match s.strategy {
        StrategyChoice::Auto => "auto",
        StrategyChoice::DirectSmall => "direct-small",
        StrategyChoice::DirectLarge => "direct-large",
        StrategyChoice::Staged => "staged",
    }
}

fn sizes(
    values: &[u64],
    key: &'static str,
    fixed: &[(&'static str, &str)],
) -> Vec<(String, Pairs)> {
    values
        .iter()
        .map(|&v| {
            let mut s = vec![(key, format_bytes(v))];
            s.extend(fixed.iter().map(|(k, v)| (*k, v.to_string())));
            (format_bytes(v), s)
        })
        .collect()
}

fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn check_cancel(cancel: &CancelToken, path: &Path) -> Result<(), Error> {
    if cancel.is_cancelled() {
        Err(Error::new(
            Code::CopyCancelled,
            path,
            "the bench was cancelled",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}

//! `fcs bench` (seed 003, the benchmarks module): our own strategies and settings measured on the
//! user's own folder, so the settings we recommend fit that machine and that data.
//!
//! The folder is only read. A sample of its files (all of them when it is small, else a
//! deterministic spread up to `max_files` / `max_bytes`) is copied, through the same
//! [`Copier`] the real runs use, into a scratch folder next to it (same volume, so the same disk),
//! once per variant: DIRECT-SMALL vs DIRECT-LARGE vs STAGED, window sizes, chunk sizes, worker
//! counts, durability modes, and the scan with several walker thread counts. Variants of a group
//! run interleaved (A B C A B C …) so that a noisy neighbour hurts them all alike. The scratch
//! folder is deleted at the end, on error and on cancel ([`Scratch`]'s `Drop`).
//!
//! The engine never prints: rows go to the caller's callback as they are measured, file events to
//! the [`Reporter`], and the result is a [`Report`] with a recommendation per setting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::copy::{Copier, PendingFile};
use crate::error::{Code, Error, IoResultExt};
use crate::events::{CancelToken, Reporter};
use crate::settings::{Durability, Settings, StrategyChoice, format_bytes};
use crate::strategy::Strategy;
use crate::tree::{self, EntryKind, Filter, Side};

const MIB: u64 = 1 << 20;

/// A variant must beat the current setting by more than this share before we recommend a change:
/// smaller differences are within the noise of one run on a shared machine.
const MARGIN: f64 = 0.05;

/// Batched durability (as the tree executor does it): files up to this size wait for one
/// filesystem sync per batch of `BATCH_FILES`.
const BATCH_MAX_FILE: u64 = 8 * MIB;
const BATCH_FILES: usize = 128;

/// What to measure. [`Options::full`] and [`Options::quick`] are the two presets.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs of each variant (interleaved); the median counts.
    pub repetitions: u32,
    /// At most this many files of the folder are copied per variant…
    pub max_files: usize,
    /// …and at most this many bytes.
    pub max_bytes: u64,
    pub workers: Vec<usize>,
    pub windows: Vec<u64>,
    pub kernel_chunks: Vec<u64>,
    pub staged_chunks: Vec<u64>,
    pub scan_threads: Vec<usize>,
    /// Where the scratch folder goes (default: the folder's parent, i.e. next to it).
    pub scratch_parent: Option<PathBuf>,
}

impl Options {
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
    Strategy,
    Window,
    KernelChunk,
    StagedChunk,
    Workers,
    Durability,
    Scan,
}

impl Group {
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
    pub group: Group,
    /// What varies, e.g. `DIRECT-LARGE`, `64MiB`, `8`.
    pub label: String,
    /// The settings that produce it (`key`, `value`), on top of the caller's.
    pub settings: Vec<(&'static str, String)>,
    pub files: u64,
    pub bytes: u64,
    /// Wall time of each repetition, in seconds.
    pub seconds: Vec<f64>,
    /// The first failure, if any file failed (the row's times then mean little).
    pub error: Option<String>,
}

impl Row {
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
    pub fn files_per_sec(&self) -> f64 {
        let m = self.median();
        if m > 0.0 { self.files as f64 / m } else { 0.0 }
    }
}

/// A setting we recommend for this machine and this kind of folder.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub key: &'static str,
    pub value: String,
    /// The value in effect during the bench (default or the caller's).
    pub current: String,
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
    pub folder: PathBuf,
    /// The scratch folder used (already deleted).
    pub scratch: PathBuf,
    pub folder_files: u64,
    pub folder_bytes: u64,
    pub sample_files: u64,
    pub sample_bytes: u64,
    pub repetitions: u32,
    pub rows: Vec<Row>,
    pub recommendations: Vec<Recommendation>,
}

/// The scratch folder: created fresh next to the target, deleted whatever happens.
struct Scratch(PathBuf);

impl Scratch {
    fn create(parent: &Path, name: &str) -> Result<Scratch, Error> {
        let path = parent.join(format!(".fcs-bench-{name}-{}", std::process::id()));
        // create_dir, not create_dir_all: never adopt (and later delete) a folder we did not make.
        std::fs::create_dir(&path).or_code(
            Code::PlanRoots,
            &path,
            "cannot create the bench's scratch folder next to the folder",
        )?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: an error here must not hide the one that ended the run.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Settings that make a variant: (`key`, `value`) pairs for `Settings::set`.
type Pairs = Vec<(&'static str, String)>;

/// One file of the sample.
struct SampleFile {
    rel: PathBuf,
    size: u64,
}

/// The sample, its folders (created before each timed copy) and its size.
struct Sample {
    files: Vec<SampleFile>,
    dirs: Vec<PathBuf>,
    bytes: u64,
}

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

/// The fastest row's value, unless the current value is within [`MARGIN`] of it (then keep it:
/// the difference is noise). `prefer` is kept the same way when it is among the rows.
fn recommend(
    key: &'static str,
    rows: &[Row],
    current: &str,
    value: impl Fn(&Row) -> String,
    prefer: &str,
) -> Recommendation {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let Some(best) = ok
        .iter()
        .min_by(|a, b| a.median().total_cmp(&b.median()))
        .copied()
    else {
        return Recommendation {
            key,
            value: current.to_string(),
            current: current.to_string(),
            why: "every variant failed: keep the current value".into(),
        };
    };
    // Slower by less than the margin, or by less than the best variant's own spread between
    // repetitions: not a measured difference.
    let best_slowest = best.seconds.iter().copied().fold(0.0, f64::max);
    let within = |v: &str| {
        ok.iter()
            .find(|r| value(r) == v)
            .filter(|r| r.median() <= best.median() * (1.0 + MARGIN) || r.median() <= best_slowest)
    };
    let (chosen, why) = if let Some(r) = within(current) {
        let why = if value(r) == value(best) {
            "fastest".to_string()
        } else {
            format!(
                "within {:.0}% or the run-to-run spread of the fastest ({}): not worth a change",
                MARGIN * 100.0,
                value(best)
            )
        };
        (current.to_string(), why)
    } else if let Some(r) = (!prefer.is_empty()).then(|| within(prefer)).flatten() {
        (
            value(r),
            format!("within {:.0}% of the fastest", MARGIN * 100.0),
        )
    } else {
        let cur = ok.iter().find(|r| value(r) == current);
        let why = match cur {
            Some(c) => format!(
                "{:.0}% faster than {current} here",
                (1.0 - best.median() / c.median()) * 100.0
            ),
            None => "fastest".to_string(),
        };
        (value(best), why)
    };
    Recommendation {
        key,
        value: chosen,
        current: current.to_string(),
        why,
    }
}

/// Every regular file when the folder fits the budget; else a deterministic spread of them
/// (ordered by a hash of the path, so every folder of the tree is represented, not just the
/// first ones) until `max_files` or `max_bytes`.
fn pick_sample(entries: &[tree::Entry], max_files: usize, max_bytes: u64) -> Sample {
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

struct Bench<'a> {
    folder: &'a Path,
    scratch: &'a Path,
    sample: &'a Sample,
    reporter: Arc<dyn Reporter>,
    cancel: &'a CancelToken,
    reps: u32,
    rows: Vec<Row>,
    trial: u64,
}

impl Bench<'_> {
    /// Runs each variant `reps` times, interleaved, with `workers` workers; returns the rows.
    fn group(
        &mut self,
        group: Group,
        base: &Settings,
        variants: &[(String, Pairs)],
        workers: usize,
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let v: Vec<_> = variants
            .iter()
            .map(|(l, s)| (l.clone(), s.clone(), workers))
            .collect();
        self.measure(group, base, &v, on_row)
    }

    fn group_workers(
        &mut self,
        base: &Settings,
        variants: &[(String, Pairs)],
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let v: Vec<_> = variants
            .iter()
            .map(|(l, s)| (l.clone(), s.clone(), l.parse().unwrap_or(1)))
            .collect();
        self.measure(Group::Workers, base, &v, on_row)
    }

    fn measure(
        &mut self,
        group: Group,
        base: &Settings,
        variants: &[(String, Pairs, usize)],
        on_row: &mut dyn FnMut(&Row),
    ) -> Result<Vec<Row>, Error> {
        let mut rows: Vec<Row> = variants
            .iter()
            .map(|(label, settings, _)| Row {
                group,
                label: label.clone(),
                settings: settings.clone(),
                files: self.sample.files.len() as u64,
                bytes: self.sample.bytes,
                seconds: Vec::new(),
                error: None,
            })
            .collect();
        for _ in 0..self.reps {
            for (i, (_, pairs, workers)) in variants.iter().enumerate() {
                let mut s = base.clone();
                for (k, v) in pairs {
                    s.set(k, v)?;
                }
                let (dt, err) = self.trial(&s, *workers)?;
                rows[i].seconds.push(dt);
                if rows[i].error.is_none() {
                    rows[i].error = err;
                }
            }
        }
        for r in &rows {
            on_row(r);
        }
        self.rows.extend(rows.iter().cloned());
        Ok(rows)
    }

    /// One timed copy of the sample into a fresh folder of the scratch, then its deletion and a
    /// filesystem sync (not timed), so the next trial does not pay for this one's write-back.
    fn trial(
        &mut self,
        settings: &Settings,
        workers: usize,
    ) -> Result<(f64, Option<String>), Error> {
        check_cancel(self.cancel, self.folder)?;
        self.trial += 1;
        let out = self.scratch.join(format!("t{}", self.trial));
        let mkdir = |p: &Path| {
            std::fs::create_dir(p).or_code(Code::PlanRoots, p, "cannot create a scratch folder")
        };
        mkdir(&out)?;
        for d in &self.sample.dirs {
            mkdir(&out.join(d))?;
        }
        let copier = Copier::new(settings.clone(), self.reporter.clone(), self.cancel.clone());
        let t = Instant::now();
        let err = copy_sample(&copier, self.folder, &out, self.sample, workers);
        let dt = t.elapsed().as_secs_f64();
        // Cancelled: report that, not the files it failed.
        check_cancel(self.cancel, self.folder)?;
        let _ = std::fs::remove_dir_all(&out);
        let _ = fsops::sync_filesystem(self.scratch);
        Ok((dt, err))
    }
}

/// Copies the sample on `workers` threads the way a tree run does for the copier's durability
/// setting; returns the first failure.
fn copy_sample(
    copier: &Copier,
    src_root: &Path,
    dst_root: &Path,
    sample: &Sample,
    workers: usize,
) -> Option<String> {
    let durability = copier.settings().durability;
    let next = AtomicUsize::new(0);
    let first_err: Mutex<Option<String>> = Mutex::new(None);
    let fail = |e: Error| {
        let mut f = first_err.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert_with(|| e.to_string());
    };
    let batch: Mutex<Vec<PendingFile>> = Mutex::new(Vec::new());
    let sync_batch = |files: Vec<PendingFile>| {
        if files.is_empty() {
            return;
        }
        match fsops::sync_filesystem(dst_root) {
            Ok(synced) => {
                for p in files {
                    if let Err(e) = copier.commit_file(p, synced) {
                        fail(e);
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for p in files {
                    let err = Error::new(
                        Code::FinalizeFsync,
                        dst_root,
                        format!("syncfs failed: {msg}"),
                    );
                    fail(copier.abandon_file(p, err));
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    if copier.cancel_token().is_cancelled() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = sample.files.get(i) else { break };
                    let (src, dst) = (src_root.join(&f.rel), dst_root.join(&f.rel));
                    let r = match durability {
                        Durability::Full => copier.copy_file(&src, &dst).map(|_| ()),
                        Durability::None => copier
                            .prepare_file(&src, &dst)
                            .and_then(|p| copier.commit_file(p, true))
                            .map(|_| ()),
                        Durability::Batch => match copier.prepare_file(&src, &dst) {
                            Ok(p)
                                if p.strategy() == Strategy::DirectSmall
                                    && f.size <= BATCH_MAX_FILE =>
                            {
                                let full = {
                                    let mut b = batch.lock().unwrap_or_else(|e| e.into_inner());
                                    b.push(p);
                                    (b.len() >= BATCH_FILES).then(|| std::mem::take(&mut *b))
                                };
                                if let Some(full) = full {
                                    sync_batch(full);
                                }
                                Ok(())
                            }
                            Ok(p) => copier.commit_file(p, false).map(|_| ()),
                            Err(e) => Err(e),
                        },
                    };
                    if let Err(e) = r {
                        fail(e);
                    }
                }
            });
        }
    });
    let rest = std::mem::take(&mut *batch.lock().unwrap_or_else(|e| e.into_inner()));
    sync_batch(rest);
    if durability != Durability::None {
        // The renames become durable with one fsync per folder, as in a tree run.
        for d in std::iter::once(PathBuf::new()).chain(sample.dirs.iter().cloned()) {
            if let Err(e) = fsops::sync_dir(&dst_root.join(d)) {
                fail(Error::io(
                    Code::FinalizeFsync,
                    dst_root,
                    "folder fsync failed",
                    e,
                ));
            }
        }
    }
    first_err.into_inner().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, secs: f64) -> Row {
        Row {
            group: Group::Window,
            label: label.into(),
            settings: vec![("window", label.into())],
            files: 1,
            bytes: 1,
            seconds: vec![secs],
            error: None,
        }
    }

    #[test]
    fn recommend_keeps_the_current_value_within_the_noise_margin() {
        let rows = [row("16MiB", 1.0), row("64MiB", 1.03)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "64MiB");
        assert!(!r.changes());
        let rows = [row("16MiB", 1.0), row("64MiB", 1.5)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "16MiB");
        assert!(r.why.contains("33% faster"), "{}", r.why);
        // A faster median whose own repetitions reach the current value's median is noise.
        let mut noisy = row("16MiB", 1.0);
        noisy.seconds = vec![0.9, 1.0, 1.8];
        let rows = [noisy, row("64MiB", 1.5)];
        let r = recommend("window", &rows, "64MiB", |r| r.label.clone(), "");
        assert_eq!(r.value, "64MiB", "{}", r.why);
    }

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
                link_target: None,
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

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}

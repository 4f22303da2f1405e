//! `fcs compare`, `fcs sync` and `fcs copy` of folder trees.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine::journal::{Journal, RunKind, TargetLock};
use engine::tree::{
    self, Category, Comparison, Criteria, Direction, Filter, Job, Plan, PlanOptions, Summary,
};
use engine::{CancelToken, Code, Error, Settings};

use crate::report::CliReporter;
use crate::{
    Common, CopyArgs, CopyFlags, EXIT_CANCELLED, EXIT_DIFFERENT, EXIT_ERROR, EXIT_OK,
    build_settings, install_ctrl_c,
};

#[derive(Debug, Args, Default)]
pub(crate) struct FilterArgs {
    /// Only files matching this glob (repeatable; `*.rs` matches names at any depth, `src/**`
    /// paths from the root).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Leave out entries matching this glob (repeatable; an excluded folder is skipped whole).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// The original app's filter: a case-insensitive wildcard on file names (`*.jpg;*.png`).
    #[arg(long, value_name = "WILDCARD")]
    pub name: Option<String>,
    /// Leave out version-control folders (.git, .hg, .svn, …).
    #[arg(long)]
    pub exclude_vcs: bool,
    /// Follow symbolic links (copy what they point to) instead of copying them as links.
    #[arg(long)]
    pub follow_symlinks: bool,
}

impl FilterArgs {
    fn build(&self, settings: &Settings) -> Result<Filter, Error> {
        Ok(Filter::new(
            &self.include,
            &self.exclude,
            self.name.as_deref(),
            self.exclude_vcs,
        )?
        .with_follow_symlinks(self.follow_symlinks || settings.follow_symlinks))
    }
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    left: PathBuf,
    right: PathBuf,
    /// What to compare: existence,size,modified,created,content (or all).
    #[arg(long, value_name = "LIST", default_value = "existence,size,modified")]
    by: String,
    /// Timestamp tolerance: 0.01s (default), 2s, or the presets fat (2 s) and exact.
    #[arg(long, value_name = "DURATION")]
    tolerance: Option<String>,
    /// List identical items too.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    filters: FilterArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    left: PathBuf,
    right: PathBuf,
    /// Also delete items that exist only on the target (mirror).
    #[arg(long)]
    delete: bool,
    /// Print the plan, one line per action, and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Sync RIGHT → LEFT instead.
    #[arg(long)]
    reverse: bool,
    /// Skip the mass-deletion guard (max_delete).
    #[arg(long)]
    force: bool,
    /// Deleted items go to the trash (default) or are deleted permanently.
    #[arg(long, value_name = "trash|permanent")]
    delete_mode: Option<String>,
    /// What decides that a file differs: existence,size,modified,created,content.
    #[arg(long, value_name = "LIST", default_value = "existence,size,modified")]
    by: String,
    /// Timestamp tolerance (e.g. 0.01s, 2s for FAT).
    #[arg(long, value_name = "DURATION")]
    tolerance: Option<String>,
    #[command(flatten)]
    flags: CopyFlags,
    #[command(flatten)]
    filters: FilterArgs,
}

/// Walker and worker threads: the `workers` setting, or a default from the cores and the
/// target's drive kind.
fn threads(settings: &Settings, target: &Path) -> usize {
    match settings.workers {
        0 => tree::default_workers(target),
        n => n as usize,
    }
}

fn reporter(common: &Common, command: &str) -> Result<(Arc<CliReporter>, Option<PathBuf>), Error> {
    let log = match &common.log {
        Some(p) => Some(p.clone()),
        None => default_log_path(command),
    };
    let r = CliReporter::new(common.verbose, common.quiet, common.json, log.as_deref()).map_err(
        |e| {
            Error::io(
                Code::ConfigFile,
                log.as_deref().unwrap_or(Path::new("")),
                "cannot open the log file",
                e,
            )
        },
    )?;
    Ok((Arc::new(r), log))
}

/// `<data dir>/fcs/logs/<command>-<UTC time>-<pid>.log` (e.g. ~/.local/share on Linux,
/// %LOCALAPPDATA% on Windows; `FCS_DATA_DIR` overrides the folder). `None` when there is no such directory or it cannot be created.
fn default_log_path(command: &str) -> Option<PathBuf> {
    let dir = engine::journal::data_dir()?.join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "");
    Some(dir.join(format!("{command}-{stamp}-{}.log", std::process::id())))
}

fn tolerance(settings: &mut Settings, t: &Option<String>) -> Result<(), Error> {
    if let Some(t) = t {
        settings.set("timestamp_tolerance", t)?;
    }
    Ok(())
}

pub(crate) fn compare(common: &Common, args: &CompareArgs) -> Result<u8, Error> {
    let mut settings = build_settings(common, &[])?;
    tolerance(&mut settings, &args.tolerance)?;
    let criteria = Criteria::parse(&args.by)?;
    let filter = args.filters.build(&settings)?;
    tree::check_roots(&args.left, &args.right, false)?;
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let rep = Arc::new(
        CliReporter::new(common.verbose, common.quiet, false, common.log.as_deref()).map_err(
            |e| {
                Error::io(
                    Code::ConfigFile,
                    Path::new(""),
                    "cannot open the log file",
                    e,
                )
            },
        )?,
    );
    let cmp = tree::compare_trees(
        &args.left,
        &args.right,
        &filter,
        criteria,
        settings.timestamp_tolerance,
        threads(&settings, &args.right),
        &*rep,
        &cancel,
    );
    rep.finish();
    if cmp.cancelled {
        return Ok(EXIT_CANCELLED);
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    if common.json {
        print_comparison_json(&mut out, &cmp, args.all);
    } else {
        print_comparison(&mut out, &cmp, args.all, common.quiet);
    }
    let errors = cmp
        .left
        .issues
        .iter()
        .chain(&cmp.right.issues)
        .any(|i| !i.is_warning())
        || !cmp.issues.is_empty();
    Ok(if errors {
        EXIT_ERROR
    } else if cmp.identical() {
        EXIT_OK
    } else {
        EXIT_DIFFERENT
    })
}

fn fmt_time(t: Option<std::time::SystemTime>) -> String {
    t.map(|t| humantime::format_rfc3339_millis(t).to_string())
        .unwrap_or_else(|| "-".into())
}

fn print_comparison(out: &mut impl Write, cmp: &Comparison, all: bool, quiet: bool) {
    for it in &cmp.items {
        if it.category == Category::Same && !all {
            continue;
        }
        if quiet {
            continue;
        }
        let l = cmp.left_entry(it);
        let r = cmp.right_entry(it);
        let size = |e: Option<&engine::tree::Entry>| {
            e.map(|e| e.size.to_string()).unwrap_or_else(|| "-".into())
        };
        let _ = writeln!(
            out,
            "{:<11} {:>12} {:>12}  {:<24} {:<24}  {}{}",
            it.category.as_str(),
            size(l),
            size(r),
            fmt_time(l.and_then(|e| e.modified)),
            fmt_time(r.and_then(|e| e.modified)),
            cmp.rel(it).display(),
            if it.diffs.is_empty()
                || matches!(it.category, Category::LeftOnly | Category::RightOnly)
            {
                String::new()
            } else {
                format!("  [{}]", it.diffs.names().join(","))
            }
        );
    }
    for issue in cmp.left.issues.iter().chain(&cmp.right.issues) {
        let level = if issue.is_warning() {
            "warning"
        } else {
            "error"
        };
        eprintln!("{level}: {} — '{}'", issue.message, issue.path.display());
    }
    for (p, m) in &cmp.issues {
        eprintln!("error: {m} — '{}'", p.display());
    }
    for t in &cmp.twins {
        eprintln!(
            "warning: names that a {} filesystem would merge: {}",
            if t.kind == "case" {
                "case-insensitive"
            } else {
                "normalising (macOS)"
            },
            t.paths
                .iter()
                .map(|p| format!("'{}'", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let c = cmp.counts();
    let differences = c[..5].iter().sum::<u64>();
    eprintln!(
        "{differences} differences | {} left-only | {} right-only | {} left-newer | {} right-newer | {} different | {} same",
        c[0], c[1], c[2], c[3], c[4], c[5]
    );
}

fn print_comparison_json(out: &mut impl Write, cmp: &Comparison, all: bool) {
    let side = |e: Option<&engine::tree::Entry>| {
        e.map(|e| {
            serde_json::json!({
                "kind": e.kind,
                "size": e.size,
                "modified": e.modified.map(|t| humantime::format_rfc3339_nanos(t).to_string()),
                "created": e.created.map(|t| humantime::format_rfc3339_nanos(t).to_string()),
            })
        })
    };
    for it in &cmp.items {
        if it.category == Category::Same && !all {
            continue;
        }
        let v = serde_json::json!({
            "event": "item",
            "path": cmp.rel(it).to_string_lossy(),
            "category": it.category,
            "diffs": it.diffs,
            "left": side(cmp.left_entry(it)),
            "right": side(cmp.right_entry(it)),
        });
        let _ = writeln!(out, "{v}");
    }
    for issue in cmp.left.issues.iter().chain(&cmp.right.issues) {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"event": "issue", "path": issue.path.to_string_lossy(), "message": issue.message})
        );
    }
    for t in &cmp.twins {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"event": "twins", "kind": t.kind, "paths": t})
        );
    }
    let c = cmp.counts();
    let _ = writeln!(
        out,
        "{}",
        serde_json::json!({"event": "summary", "identical": cmp.identical(), "left_only": c[0], "right_only": c[1], "left_newer": c[2], "right_newer": c[3], "different": c[4], "same": c[5]})
    );
}

pub(crate) fn sync(common: &Common, args: &SyncArgs) -> Result<u8, Error> {
    let mut flags = args.flags.pairs();
    flags.push(("delete_mode", args.delete_mode.clone()));
    let mut settings = build_settings(common, &flags)?;
    tolerance(&mut settings, &args.tolerance)?;
    let (left, right) = if args.reverse {
        (&args.right, &args.left)
    } else {
        (&args.left, &args.right)
    };
    let criteria = Criteria::parse(&args.by)?;
    run_tree(
        common,
        settings,
        left,
        right,
        criteria,
        &args.filters,
        args.delete,
        args.force,
        args.dry_run,
        RunKind::Sync,
        args.flags.manifest.as_deref(),
    )
}

pub(crate) fn copy_tree(common: &Common, args: &CopyArgs, kind: RunKind) -> Result<u8, Error> {
    let mut settings = build_settings(common, &args.flags.pairs())?;
    if kind == RunKind::Move {
        settings = crate::move_settings(settings)?;
    }
    // `cp -r` / `mv` semantics: into an existing folder under the source's name, else the folder
    // itself.
    // The exception: DST itself is the target of an interrupted run of this command (the run
    // created it), so running the command again continues that run instead of copying into it.
    let target = match args.src.file_name() {
        Some(name) if args.dst.is_dir() && !interrupted_into(kind, &args.src, &args.dst) => {
            args.dst.join(name)
        }
        _ => args.dst.to_path_buf(),
    };
    run_tree(
        common,
        settings,
        &args.src,
        &target,
        Criteria::default(),
        &args.filters,
        false,
        false,
        args.dry_run,
        kind,
        args.flags.manifest.as_deref(),
    )
}

/// Whether an unfinished `kind` run from `src` to `dst` itself is in the journal.
fn interrupted_into(kind: RunKind, src: &Path, dst: &Path) -> bool {
    let (Ok(src), Ok(dst), Some(dir)) = (
        std::fs::canonicalize(src),
        std::fs::canonicalize(dst),
        Journal::default_dir(),
    ) else {
        return false;
    };
    let path = Journal::job_path(&dir, kind, &src, &dst);
    path.exists()
        && Journal::open(&path)
            .and_then(|j| j.unfinished())
            .is_ok_and(|r| r.is_some())
}

#[allow(clippy::too_many_arguments)]
fn run_tree(
    common: &Common,
    settings: Settings,
    src: &Path,
    dst: &Path,
    criteria: Criteria,
    filters: &FilterArgs,
    delete: bool,
    force: bool,
    dry_run: bool,
    kind: RunKind,
    manifest: Option<&Path>,
) -> Result<u8, Error> {
    let filter = filters.build(&settings)?;
    let (src, dst) = tree::check_roots(src, dst, true)?;
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let (rep, log) = if dry_run {
        (
            Arc::new(
                CliReporter::new(common.verbose, common.quiet, false, None)
                    .map_err(|e| Error::io(Code::ConfigFile, Path::new(""), "log", e))?,
            ),
            None,
        )
    } else {
        reporter(common, kind.as_str())?
    };
    let n = threads(&settings, &dst);
    // A real run: the target exists, is ours alone (lock), and an interrupted run of the same
    // job is finished before anything new is compared.
    let mut job = None;
    let mut resumed_failed = false;
    if !dry_run {
        let mut j = Job::open(kind, &src, &dst)?;
        if let Some(run) = j.interrupted()? {
            rep.note(&format!(
                "an interrupted {} run of this folder (started {}) is finished first",
                run.kind.as_str(),
                run.started
            ));
            let r = j.resume(&run, n, rep.clone(), cancel.clone())?;
            rep.finish();
            print_summary(common, &r.summary, &run.plan(), None);
            resumed_failed = r.summary.failed > 0;
            if r.summary.cancelled {
                return Ok(EXIT_CANCELLED);
            }
            // A move that the resume finished has no source left to compare.
            if kind == RunKind::Move && !src.exists() {
                return Ok(if resumed_failed { EXIT_ERROR } else { EXIT_OK });
            }
        }
        job = Some(j);
    }
    let mut cmp = tree::compare_trees(
        &src,
        &dst,
        &filter,
        criteria,
        settings.timestamp_tolerance,
        n,
        &*rep,
        &cancel,
    );
    if cmp.cancelled {
        rep.finish();
        return Ok(EXIT_CANCELLED);
    }
    for w in cmp
        .left
        .issues
        .iter()
        .chain(&cmp.right.issues)
        .filter(|i| i.is_warning())
    {
        rep.note(&format!("{} — '{}'", w.message, w.path.display()));
    }
    let scan_errors: Vec<String> = cmp
        .left
        .issues
        .iter()
        .chain(&cmp.right.issues)
        .filter(|i| !i.is_warning())
        .map(|i| format!("{} — '{}'", i.message, i.path.display()))
        .chain(
            cmp.issues
                .iter()
                .map(|(p, m)| format!("{m} — '{}'", p.display())),
        )
        .collect();
    for t in &cmp.twins {
        let msg = format!(
            "names that a case-insensitive or normalising filesystem would merge: {:?}",
            t.paths
        );
        rep.note(&msg);
    }
    let opts = PlanOptions {
        direction: Direction::LeftToRight,
        delete,
        force,
        max_delete: settings.max_delete,
        target_folds_names: !cmp.twins.is_empty() && tree::folds_names(&dst),
    };
    let plan = if kind == RunKind::Move {
        Plan::build_move(&cmp, &opts)?
    } else {
        Plan::build(&cmp, &opts)?
    };
    let target_temps = std::mem::take(&mut cmp.right.temps);
    drop(cmp);
    let Some(mut job) = job else {
        rep.finish();
        print_plan(common, &plan);
        for e in &scan_errors {
            eprintln!("error: {e}");
        }
        return Ok(if scan_errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        });
    };
    let summary = job.run(
        &plan,
        settings,
        n,
        rep.clone(),
        cancel,
        manifest,
        &target_temps,
    )?;
    rep.finish();
    for e in &scan_errors {
        rep.error_line(e);
    }
    for s in &plan.skipped {
        rep.note(&format!("skipped '{}': {}", s.rel.display(), s.reason));
    }
    print_summary(common, &summary, &plan, log.as_deref());
    Ok(if summary.cancelled {
        EXIT_CANCELLED
    } else if summary.failed > 0 || !scan_errors.is_empty() || resumed_failed {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// LEFT RIGHT (two trees), or with --manifest: the folder to check.
    #[arg(num_args = 1..=2, value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// Check the folder against this manifest (b3sum / sha256sum format, paths relative to it).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Read from the medium (device, the default) or the page cache.
    #[arg(long, value_enum)]
    verify_read: Option<crate::VerifyReadArg>,
    /// Hash algorithm (default blake3; a manifest named *.sha256 is SHA-256).
    #[arg(long, value_enum)]
    hash: Option<crate::HashArg>,
    #[command(flatten)]
    filters: FilterArgs,
}

pub(crate) fn verify(common: &Common, args: &VerifyArgs) -> Result<u8, Error> {
    let settings = build_settings(
        common,
        &[
            ("verify_read", crate::value_name(args.verify_read)),
            ("hash", crate::value_name(args.hash)),
        ],
    )?;
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let rep = Arc::new(
        CliReporter::new(
            common.verbose,
            common.quiet,
            common.json,
            common.log.as_deref(),
        )
        .map_err(|e| Error::io(Code::ConfigFile, Path::new(""), "cannot open the log", e))?,
    );
    let report = match (&args.manifest, args.paths.as_slice()) {
        (Some(m), [dir]) => {
            let entries = engine::manifest::read(m)?;
            let algo = engine::manifest::algo_for(m, settings.hash);
            engine::verify::verify_manifest(
                &entries,
                dir,
                algo,
                &settings,
                threads(&settings, dir),
                &*rep,
                &cancel,
            )
        }
        (None, [left, right]) => {
            tree::check_roots(left, right, false)?;
            let filter = args.filters.build(&settings)?;
            engine::verify::verify_trees(
                left,
                right,
                &filter,
                &settings,
                threads(&settings, right),
                &*rep,
                &cancel,
            )
        }
        _ => {
            return Err(Error::new(
                Code::ConfigInvalidValue,
                Path::new("verify"),
                "give two folders (fcs verify LEFT RIGHT) or a manifest and one folder (fcs verify --manifest FILE DIR)",
            ));
        }
    };
    rep.finish();
    let out = std::io::stdout();
    let mut out = out.lock();
    for p in &report.problems {
        if common.json {
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({"event": "verify_problem", "path": p.rel.to_string_lossy(), "problem": p.problem, "code": engine::verify::VerifyReport::code_of(p.problem).as_str(), "detail": p.detail})
            );
        } else {
            let _ = writeln!(
                out,
                "{:<14} {}  ({})",
                match p.problem {
                    engine::verify::Problem::Mismatch => "MISMATCH",
                    engine::verify::Problem::MissingLeft if args.manifest.is_some() => "MISSING",
                    engine::verify::Problem::MissingLeft => "EXTRA-RIGHT",
                    engine::verify::Problem::MissingRight => "MISSING-RIGHT",
                    engine::verify::Problem::TypeOrLink => "TYPE/LINK",
                    engine::verify::Problem::Unreadable => "UNREADABLE",
                },
                display_rel(&p.rel),
                p.detail
            );
        }
    }
    if common.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"event": "verify_summary", "report": {"identical": report.identical, "problems": report.problems.len(), "bytes": report.bytes, "elapsed_ms": report.elapsed_ms, "algo": report.algo, "cancelled": report.cancelled}})
        );
    } else if !common.quiet {
        eprintln!(
            "verified by {} ({}): {} identical, {} problem(s); {} bytes read in {:.2} s{}",
            report.algo,
            match settings.verify_read {
                engine::VerifyRead::Device => "read from the medium",
                engine::VerifyRead::Cache => "read through the page cache",
            },
            report.identical,
            report.problems.len(),
            report.bytes,
            report.elapsed_ms as f64 / 1000.0,
            if report.cancelled {
                " — CANCELLED"
            } else {
                ""
            }
        );
    }
    Ok(if report.cancelled {
        EXIT_CANCELLED
    } else if report.has_errors() {
        EXIT_ERROR
    } else if report.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_DIFFERENT
    })
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The journal of the run to finish (default: the one unfinished run in the data folder).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
}

/// The journal of an interrupted tree move from `src`, when `src` no longer exists.
pub(crate) fn interrupted_move_of(src: &Path) -> Option<PathBuf> {
    if std::fs::symlink_metadata(src).is_ok() {
        return None;
    }
    let abs = std::path::absolute(src).ok()?;
    let dir = Journal::default_dir()?;
    Journal::list_unfinished(&dir)
        .into_iter()
        .find(|(_, r)| r.kind == RunKind::Move && r.source == abs)
        .map(|(p, _)| p)
}

pub(crate) fn resume(common: &Common, args: &ResumeArgs) -> Result<u8, Error> {
    let candidates = match &args.journal {
        Some(p) => {
            let j = Journal::open(p)?;
            j.unfinished()?
                .map(|r| vec![(p.clone(), r)])
                .unwrap_or_default()
        }
        None => Journal::default_dir()
            .map(|d| Journal::list_unfinished(&d))
            .unwrap_or_default(),
    };
    let (path, run) = match candidates.len() {
        1 => candidates.into_iter().next().expect("one"),
        0 => {
            return Err(Error::new(
                Code::JournalNothing,
                args.journal.as_deref().unwrap_or(Path::new("")),
                "there is no interrupted run to resume",
            ));
        }
        _ => {
            let list: Vec<String> = candidates
                .iter()
                .map(|(p, r)| {
                    format!(
                        "{} '{}' → '{}' (started {}): --journal {}",
                        r.kind.as_str(),
                        r.source.display(),
                        r.target.display(),
                        r.started,
                        p.display()
                    )
                })
                .collect();
            return Err(Error::new(
                Code::JournalNothing,
                Path::new(""),
                format!(
                    "several interrupted runs; pick one:\n  {}",
                    list.join("\n  ")
                ),
            ));
        }
    };
    let _lock = TargetLock::acquire(&run.target)?;
    let mut journal = Journal::open(&path)?;
    // Re-read under the lock: another resume may have finished it meanwhile.
    let Some(run) = journal.unfinished()? else {
        eprintln!("nothing to do: the run was finished meanwhile");
        return Ok(EXIT_OK);
    };
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let (rep, log) = reporter(common, "resume")?;
    let workers = threads(&run.settings, &run.target);
    if !common.quiet && !common.json {
        eprintln!(
            "resuming the {} run '{}' → '{}' started {}",
            run.kind.as_str(),
            run.source.display(),
            run.target.display(),
            run.started
        );
    }
    let r = tree::resume(&mut journal, &run, workers, rep.clone(), cancel, None)?;
    rep.finish();
    let plan = run.plan();
    print_summary(common, &r.summary, &plan, log.as_deref());
    if r.temps_removed > 0 && !common.quiet && !common.json {
        eprintln!(
            "removed {} temp file(s) of the interrupted run",
            r.temps_removed
        );
    }
    Ok(if r.summary.cancelled {
        EXIT_CANCELLED
    } else if r.summary.failed > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn print_plan(common: &Common, plan: &Plan) {
    let out = std::io::stdout();
    let mut out = out.lock();
    if common.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"event": "plan", "plan": plan})
        );
        return;
    }
    for a in &plan.actions {
        let _ = writeln!(
            out,
            "{:<9} {}{}",
            a.kind.as_str(),
            display_rel(&a.rel),
            if a.size > 0 {
                format!("  ({} bytes; {})", a.size, a.reason)
            } else {
                format!("  ({})", a.reason)
            }
        );
    }
    for s in &plan.skipped {
        let _ = writeln!(out, "skip      {}  ({})", display_rel(&s.rel), s.reason);
    }
    let (files, bytes) = plan.copy_totals();
    eprintln!(
        "DRY RUN: {} actions ({files} files, {bytes} bytes to copy); nothing was written",
        plan.actions.len()
    );
}

fn display_rel(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}

fn print_summary(common: &Common, s: &Summary, plan: &Plan, log: Option<&Path>) {
    if common.json {
        return; // the run_finished event carries the summary
    }
    for e in &s.errors {
        eprintln!("error: {}", e.message);
    }
    if !common.quiet {
        eprintln!(
            "{} → {}: copied {} (verified {}), {}{}symlinks {}, dirs created {}, deleted {}, skipped {}, failed {}; {} bytes in {:.2} s; DIRECT-SMALL {}, DIRECT-LARGE {}, STAGED {}{}",
            plan.source_root.display(),
            plan.target_root.display(),
            s.copied,
            s.verified,
            if s.already_present > 0 {
                format!("already there (checked by hash) {}, ", s.already_present)
            } else {
                String::new()
            },
            if s.sources_deleted > 0 {
                format!("sources removed {}, ", s.sources_deleted)
            } else {
                String::new()
            },
            s.symlinks,
            s.dirs_created,
            s.deleted,
            s.skipped,
            s.failed,
            s.bytes,
            s.elapsed_ms as f64 / 1000.0,
            s.direct_small,
            s.direct_large,
            s.staged,
            if s.cancelled { " — CANCELLED" } else { "" }
        );
        if let Some(l) = log {
            eprintln!("log: {}", l.display());
        }
    }
}

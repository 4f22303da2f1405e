//! `fcs compare`, `fcs sync` and `fcs copy` of folder trees.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine::tree::{
    self, Category, Comparison, Criteria, Filter, Plan, Run, RunKind, SavedJob, SavedMode, Summary,
};
use engine::{CancelToken, Code, Error, Settings};

use crate::report::CliReporter;
use crate::{
    Common, CopyArgs, CopyFlags, EXIT_CANCELLED, EXIT_DIFFERENT, EXIT_ERROR, EXIT_OK,
    build_settings, install_ctrl_c,
};

#[derive(Debug, Clone, Args, Default)]
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
    fn build(&self) -> Result<Filter, Error> {
        Filter::new(
            &self.include,
            &self.exclude,
            self.name.as_deref(),
            self.exclude_vcs,
        )
    }

    /// The flags that are settings (`follow_symlinks`).
    pub fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![(
            "follow_symlinks",
            self.follow_symlinks.then(|| "true".to_string()),
        )]
    }
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    left: PathBuf,
    right: PathBuf,
    /// What to compare: existence,size,modified,created,content,permissions,owner,xattrs (or
    /// all). Owners are compared where they are kept (as root); attributes and ACLs with -X,
    /// -A or -a, or when listed here.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "existence,size,modified,permissions,owner"
    )]
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
    /// The source folder (with --reverse, the target). May come from a saved job instead:
    /// `fcs sync --config job.toml` (its `[job]` table names both folders).
    left: Option<PathBuf>,
    right: Option<PathBuf>,
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
    /// Never replace a target file that is newer than the source (like rsync -u, robocopy /XO).
    #[arg(short = 'u', long)]
    update: bool,
    /// Deleted items go to the trash (default) or are deleted permanently.
    #[arg(long, value_name = "trash|permanent")]
    delete_mode: Option<String>,
    /// What decides that a file differs: existence,size,modified,created,content,permissions,
    /// owner,xattrs. Owners are compared where they are kept (as root); attributes and ACLs
    /// with -X, -A or -a, or when listed here.
    /// [default: existence,size,modified,permissions,owner, or the saved job's `by`]
    #[arg(long, value_name = "LIST")]
    by: Option<String>,
    /// Timestamp tolerance (e.g. 0.01s, 2s for FAT).
    #[arg(long, value_name = "DURATION")]
    tolerance: Option<String>,
    #[command(flatten)]
    flags: CopyFlags,
    #[command(flatten)]
    filters: FilterArgs,
}

fn reporter(common: &Common, command: &str) -> Result<(Arc<CliReporter>, Option<PathBuf>), Error> {
    let log = match &common.log {
        Some(p) => Some(p.clone()),
        None => crate::logs::default_path(common, command),
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

fn tolerance(settings: &mut Settings, t: &Option<String>) -> Result<(), Error> {
    if let Some(t) = t {
        settings.set("timestamp_tolerance", t)?;
    }
    Ok(())
}

pub(crate) fn compare(common: &Common, args: &CompareArgs) -> Result<u8, Error> {
    let mut settings = build_settings(common, &args.filters.pairs())?;
    tolerance(&mut settings, &args.tolerance)?;
    let criteria = Criteria::parse(&args.by)?;
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
    let cmp = tree::compare_roots(
        &args.left,
        &args.right,
        &settings,
        args.filters.build()?,
        criteria,
        &*rep,
        &cancel,
    )?;
    rep.finish();
    if cmp.cancelled {
        if !common.quiet {
            err!("cancelled while scanning: no comparison to show");
        }
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
        err!("{level}: {} — '{}'", issue.message, issue.path.display());
    }
    for i in &cmp.issues {
        err!("error: {} — '{}'", i.message, i.rel.display());
    }
    for t in &cmp.twins {
        err!(
            "warning: names that a {} filesystem would merge: {}",
            t.kind.folding(),
            t.paths
                .iter()
                .map(|p| format!("'{}'", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let c = cmp.counts();
    let differences = c[..6].iter().sum::<u64>();
    err!(
        "{differences} differences | {} left-only | {} right-only | {} left-newer | {} right-newer | {} different | {} metadata-only | {} same",
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
        c[6]
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
            serde_json::json!({"event": "issue", "path": issue.path.to_string_lossy(), "kind": issue.kind, "code": issue.kind.code().as_str(), "message": issue.message})
        );
    }
    for issue in &cmp.issues {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"event": "issue", "path": issue.rel.to_string_lossy(), "kind": "content_unreadable", "code": engine::Code::ScanRead.as_str(), "message": issue.message})
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
        serde_json::json!({"event": "summary", "identical": cmp.identical(), "left_only": c[0], "right_only": c[1], "left_newer": c[2], "right_newer": c[3], "different": c[4], "metadata_only": c[5], "same": c[6]})
    );
}

/// The criteria `fcs sync` compares by unless told otherwise.
const SYNC_BY: &str = "existence,size,modified,permissions,owner";

pub(crate) fn sync(common: &Common, args: &SyncArgs) -> Result<u8, Error> {
    let mut flags = args.flags.pairs();
    flags.push(("delete_mode", args.delete_mode.clone()));
    flags.extend(args.filters.pairs());
    let mut settings = build_settings(common, &flags)?;
    tolerance(&mut settings, &args.tolerance)?;
    // A saved job (`--config job.toml` with a [job] table) gives what the command line leaves
    // out; the command line wins where it says something.
    let job = match &common.config {
        Some(path) => SavedJob::read(path)?,
        None => None,
    };
    let (left, right) = match (&args.left, &args.right, &job) {
        (Some(l), Some(r), _) => (l.clone(), r.clone()),
        (None, None, Some(j)) => (j.left.clone(), j.right.clone()),
        _ => {
            return Err(Error::new(
                Code::ConfigInvalidValue,
                "",
                "fcs sync needs LEFT and RIGHT folders, or --config FILE whose [job] table names them",
            ));
        }
    };
    let reverse = args.reverse || job.as_ref().is_some_and(|j| j.reverse);
    let (left, right) = if reverse {
        (right, left)
    } else {
        (left, right)
    };
    let mode = job.as_ref().map(|j| j.mode);
    let by = args
        .by
        .clone()
        .or_else(|| job.as_ref().and_then(|j| j.by.clone()))
        .unwrap_or_else(|| SYNC_BY.to_string());
    let mut filters = args.filters.clone();
    if let Some(j) = &job {
        filters.exclude.extend(j.exclude.iter().cloned());
        if filters.name.is_none() {
            filters.name = j.name.clone();
        }
    }
    let run = Run::new(RunKind::Sync, &left, &right, &settings)
        .criteria(Criteria::parse(&by)?)
        .filter(filters.build()?)
        .delete(args.delete || mode == Some(SavedMode::Mirror))
        .force(args.force)
        .update(args.update || mode == Some(SavedMode::Update))
        .dry_run(args.dry_run)
        .manifest(args.flags.manifest.clone());
    run_tree(common, run, "sync", args.dry_run)
}

pub(crate) fn copy_tree(common: &Common, args: &CopyArgs, kind: RunKind) -> Result<u8, Error> {
    let mut flags = args.flags.pairs();
    flags.extend(args.filters.pairs());
    let settings = build_settings(common, &flags)?;
    let target = tree::copy_target(kind, &args.src, &args.dst);
    let run = Run::new(kind, &args.src, target, &settings)
        .filter(args.filters.build()?)
        .dry_run(args.dry_run)
        .manifest(args.flags.manifest.clone());
    run_tree(common, run, kind.as_str(), args.dry_run)
}

/// Prepares and executes `run`, printing what it found, did and failed to do.
fn run_tree(common: &Common, run: Run, command: &str, dry_run: bool) -> Result<u8, Error> {
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
        reporter(common, command)?
    };
    let prepared = run.prepare(rep.clone(), cancel)?;
    let mut failed = false;
    if let Some(r) = prepared.resumed() {
        rep.finish();
        print_summary(common, &r.summary, &r.source, &r.target, None);
        failed = r.summary.failed > 0;
    }
    if prepared.is_cancelled() {
        rep.finish();
        if !common.quiet {
            let done = if prepared.resumed().is_some() {
                "nothing beyond the interrupted run finished above was changed"
            } else {
                "nothing was changed"
            };
            err!("cancelled while scanning and planning: {done} (run it again to sync)");
        }
        return Ok(EXIT_CANCELLED);
    }
    if prepared.is_finished() {
        return Ok(if failed { EXIT_ERROR } else { EXIT_OK });
    }
    rep.info(&format!("keeps: {}", prepared.metadata_kept().join(", ")));
    for w in prepared.scan_issues().iter().filter(|i| i.is_warning()) {
        rep.note(&format!("{} — '{}'", w.message, w.path.display()));
    }
    let scan_errors: Vec<String> = prepared
        .scan_issues()
        .iter()
        .filter(|i| !i.is_warning())
        .map(|i| format!("{} — '{}'", i.message, i.path.display()))
        .chain(
            prepared
                .compare_issues()
                .iter()
                .map(|i| format!("{} — '{}'", i.message, i.rel.display())),
        )
        .collect();
    for t in prepared.twins() {
        rep.note(&format!(
            "names that a case-insensitive or normalising filesystem would merge: {:?}",
            t.paths
        ));
    }
    if dry_run {
        rep.finish();
        print_plan(common, prepared.plan());
        for e in &scan_errors {
            err!("error: {e}");
        }
        return Ok(if scan_errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        });
    }
    let plan = prepared.plan();
    let (source, target) = (plan.source_root.clone(), plan.target_root.clone());
    let skipped = plan.skipped.clone();
    let summary = prepared.execute()?;
    rep.finish();
    for e in &scan_errors {
        rep.error_line(e);
    }
    // Refusals that are errors are in the summary's errors already.
    for s in skipped.iter().filter(|s| s.code.is_none()) {
        rep.note(&format!("skipped '{}': {}", s.rel.display(), s.reason));
    }
    print_summary(common, &summary, &source, &target, log.as_deref());
    Ok(if summary.cancelled {
        EXIT_CANCELLED
    } else if summary.failed > 0 || !scan_errors.is_empty() || failed {
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
    let mut flags = vec![
        ("verify_read", crate::value_name(args.verify_read)),
        ("hash", crate::value_name(args.hash)),
    ];
    flags.extend(args.filters.pairs());
    let settings = build_settings(common, &flags)?;
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
                tree::threads(&settings, dir),
                &*rep,
                &cancel,
            )
        }
        (None, [left, right])
            if engine::remote::is_remote(left) || engine::remote::is_remote(right) =>
        {
            // The folder and the location, whichever side each is on (`fcs verify s3://… DIR`
            // after a download); the report speaks of the sides as written.
            let remote_left = engine::remote::is_remote(left);
            let (local, remote) = if remote_left {
                (right, left)
            } else {
                (left, right)
            };
            if engine::remote::is_remote(local) {
                return Err(Error::new(
                    Code::RemoteUnsupported,
                    left,
                    "one side must be a local folder: fcs verifies a folder against s3:// or sftp://",
                ));
            }
            let url = engine::remote::Url::parse(remote).unwrap_or_else(|| unreachable!())?;
            let store = engine::remote::open(&url, &settings)?;
            let filter = args
                .filters
                .build()?
                .with_follow_symlinks(settings.follow_symlinks);
            let mut report = engine::remote::verify_remote(
                local,
                &*store,
                &filter,
                &settings,
                match settings.workers {
                    0 => 16,
                    n => n as usize,
                },
                &*rep,
                &cancel,
            )?;
            if remote_left {
                report.swap_sides();
            }
            report
        }
        (None, [left, right]) => {
            tree::check_roots(left, right, false)?;
            let filter = args
                .filters
                .build()?
                .with_follow_symlinks(settings.follow_symlinks);
            engine::verify::verify_trees(
                left,
                right,
                &filter,
                &settings,
                tree::threads(&settings, right),
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
        err!(
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

pub(crate) fn resume(common: &Common, args: &ResumeArgs) -> Result<u8, Error> {
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let (rep, log) = reporter(common, "resume")?;
    let prepared = Run::resume(args.journal.clone()).prepare(rep.clone(), cancel)?;
    let plan = prepared.plan();
    let (source, target) = (plan.source_root.clone(), plan.target_root.clone());
    let summary = prepared.execute()?;
    rep.finish();
    print_summary(common, &summary, &source, &target, log.as_deref());
    Ok(if summary.cancelled {
        EXIT_CANCELLED
    } else if summary.failed > 0 {
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
        let code = s.code.map(|c| format!("{c}: ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "skip      {}  ({code}{})",
            display_rel(&s.rel),
            s.reason
        );
    }
    let (files, bytes) = plan.copy_totals();
    err!(
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

fn print_summary(common: &Common, s: &Summary, source: &Path, target: &Path, log: Option<&Path>) {
    if common.json {
        return; // the run_finished event carries the summary
    }
    for e in &s.errors {
        err!("error: {}", e.message);
    }
    if !common.quiet {
        err!(
            "{} → {}: copied {} (verified {}), {}{}symlinks {}, dirs created {}, deleted {}, skipped {}, failed {}; {} bytes in {:.2} s; DIRECT-SMALL {}, DIRECT-LARGE {}, STAGED {}{}",
            source.display(),
            target.display(),
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
            } + &if s.renamed > 0 {
                format!("renamed {}, ", s.renamed)
            } else {
                String::new()
            } + &if s.metadata_updated > 0 {
                format!("metadata updated {}, ", s.metadata_updated)
            } else {
                String::new()
            } + &if s.hard_linked > 0 {
                format!("hard-linked {}, ", s.hard_linked)
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
            err!("log: {}", l.display());
        }
    }
}

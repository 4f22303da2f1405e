//! `fcs compare`, `fcs sync` and `fcs copy` of folder trees.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use engine::tree::{
    self, Category, Comparison, Criteria, Direction, Filter, Plan, PlanOptions, Summary,
};
use engine::{CancelToken, Code, Copier, Error, Settings};

use crate::report::CliReporter;
use crate::{
    Common, CopyFlags, EXIT_CANCELLED, EXIT_DIFFERENT, EXIT_ERROR, EXIT_OK, build_settings,
    install_ctrl_c,
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
/// %LOCALAPPDATA% on Windows). `None` when there is no such directory or it cannot be created.
fn default_log_path(command: &str) -> Option<PathBuf> {
    let dir = dirs::data_local_dir()?.join("fcs").join("logs");
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
        "sync",
    )
}

pub(crate) fn copy_tree(
    common: &Common,
    src: &Path,
    dst: &Path,
    flags: &CopyFlags,
    filters: &FilterArgs,
    dry_run: bool,
) -> Result<u8, Error> {
    let settings = build_settings(common, &flags.pairs())?;
    // `cp -r` semantics: into an existing folder under the source's name, else the folder itself.
    let target = match src.file_name() {
        Some(name) if dst.is_dir() => dst.join(name),
        _ => dst.to_path_buf(),
    };
    run_tree(
        common,
        settings,
        src,
        &target,
        Criteria::default(),
        filters,
        false,
        false,
        dry_run,
        "copy",
    )
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
    command: &str,
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
        reporter(common, command)?
    };
    let n = threads(&settings, &dst);
    let cmp = tree::compare_trees(
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
    let plan = Plan::build(&cmp, &opts)?;
    drop(cmp);
    if dry_run {
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
    }
    if !dst.exists() {
        std::fs::create_dir_all(&dst)
            .map_err(|e| Error::io(Code::TreeMkdir, &dst, "cannot create the target folder", e))?;
    }
    let delete_mode = settings.delete_mode;
    let copier = Copier::new(settings, rep.clone(), cancel.clone())
        .with_trash_replaced(delete_mode == engine::DeleteMode::Trash);
    let summary = tree::execute(&plan, &copier, n, delete_mode);
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
    } else if summary.failed > 0 || !scan_errors.is_empty() {
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
            "{} → {}: copied {} (verified {}), symlinks {}, dirs created {}, deleted {}, skipped {}, failed {}; {} bytes in {:.2} s; DIRECT-SMALL {}, DIRECT-LARGE {}, STAGED {}{}",
            plan.source_root.display(),
            plan.target_root.display(),
            s.copied,
            s.verified,
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

//! The main window: folder pickers and options on top, the two aligned trees in the middle, the
//! summary bar, status line and status log at the bottom, and the dialogs (confirmation,
//! progress with two bars and Cancel, completion summary, Delete Orphans).
//!
//! Side effects are started from the frame's handlers, but every long operation runs as a
//! [`Job`] on a worker thread; the UI drains the job's messages at the start of each frame.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use egui::{Color32, RichText};
use engine::tree::{ActionKind, Comparison, Criteria, Direction, Plan, Summary};
use engine::{DeleteMode, Event, Outcome, Phase, Settings, VerifyPolicy, format_bytes};

use crate::model::{Pane, SortKey, Tree, compile_wildcard, copy_plan};
use crate::sync::Rule;
use crate::worker::{Job, JobKind, Msg, Selection, start_compare, start_copy};

/// Lines kept in the status log (the original app's limit).
pub const LOG_LINES: usize = 5000;
/// Items listed by name in a confirmation before "… and N more".
const CONFIRM_LIST: usize = 10;
const STORAGE_KEY: &str = "fcs-gui";

mod bars_ui;
mod folders_ui;
mod grid_ui;
mod job_ui;
mod orphans_ui;
mod progress_ui;
mod result_ui;
mod row_menu;
mod sync_ui;
pub use orphans_ui::Access;
use orphans_ui::Orphans;
use result_ui::{Failure, failures_ui, rel_under};
use sync_ui::SyncPreview;

/// The verify radio buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VerifyChoice {
    None,
    BelowThreshold,
    All,
}

/// What persists between runs: folders and options (never handles or results).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub left: String,
    pub right: String,
    pub by_size: bool,
    pub by_created: bool,
    pub by_modified: bool,
    pub by_content: bool,
    pub dry_run: bool,
    pub verify: VerifyChoice,
    pub differences_only: bool,
    pub filter: String,
    /// The sync mode and its direction.
    pub rule: Rule,
    /// The view filter bar: which kinds are shown (in [`crate::kinds::Kind::ALL`]'s order), and the search.
    pub kinds_shown: [bool; 8],
    pub search: String,
    /// Show the Date Created columns even when creation dates are not compared.
    pub show_created: bool,
    /// Folder pairs compared before, most recent first.
    pub recent: Vec<(String, String)>,
    /// Items left out of the compare (`;`-separated: names, `*.ext`, `folder/path`), as
    /// `fcs --exclude` takes them.
    pub exclude: String,
}

impl Default for Prefs {
    fn default() -> Prefs {
        Prefs {
            left: String::new(),
            right: String::new(),
            by_size: true,
            by_created: false,
            by_modified: true,
            by_content: false,
            dry_run: false,
            verify: VerifyChoice::All,
            differences_only: false,
            filter: String::new(),
            rule: Rule::default(),
            kinds_shown: [true; 8],
            search: String::new(),
            show_created: false,
            recent: Vec::new(),
            exclude: String::new(),
        }
    }
}

/// One file in flight in a copy run.
#[derive(Debug, Clone)]
struct InFlight {
    name: String,
    size: u64,
    phase: Phase,
    done: u64,
    total: u64,
}

/// Progress of the current job, fed by engine events.
#[derive(Debug, Default)]
struct Progress {
    scanned: [u64; 2],
    hashed: u64,
    hash_total: u64,
    files_total: u64,
    bytes_total: u64,
    files_done: u64,
    /// Bytes of files that have finished (committed, failed or cancelled).
    bytes_done: u64,
    /// Work done by finished files: their bytes once for the copy and once more when verified
    /// (the overall bar counts both passes, so it reaches its end with the last verify).
    work_done: u64,
    in_flight: HashMap<u64, InFlight>,
    /// The file the "current file" bar follows: the most recently started one still running.
    current: Option<u64>,
    deleted: u64,
    /// The totals were set before the job (a sync of two runs): a run's start does not reset
    /// them.
    preset: bool,
}

impl Progress {
    /// (work done, work in all) of a copy: each byte counts once for the copy and once more for
    /// its read-back, so the overall bar reaches its end with the last verify, not before it.
    /// The total assumes every file is verified when the policy verifies any.
    fn work(&self, verifies: bool) -> (u64, u64) {
        let passes = if verifies { 2 } else { 1 };
        let total = self.bytes_total * passes;
        let in_flight: u64 = self
            .in_flight
            .values()
            .map(|f| match f.phase {
                Phase::Copy => f.done,
                Phase::Verify => f.size + f.done,
            })
            .sum();
        ((self.work_done + in_flight).min(total), total)
    }
}

/// The dialog on top of the main window, if any.
#[derive(Debug)]
enum Dialog {
    None,
    ConfirmCopy {
        from: Pane,
        plan: Box<Plan>,
        items: Vec<PathBuf>,
        listing: Vec<String>,
        more: usize,
        /// Target files newer than the source versions that would replace them.
        newer: Vec<String>,
    },
    Finished(Box<Finished>),
    Orphans(Box<Orphans>),
    ConfirmDelete {
        plan: Box<Plan>,
        items: Vec<PathBuf>,
        mode: DeleteMode,
        listing: Vec<String>,
        more: usize,
        dry_run: bool,
    },
    ConfirmSync(Box<SyncPreview>),
    Chooser(Box<folders_ui::Chooser>),
    FileDiff(Box<row_menu::FileDiff>),
    Message(String),
}

/// The completion summary.
#[derive(Debug)]
struct Finished {
    title: String,
    summary: Summary,
    lines: Vec<String>,
    errors: Vec<Failure>,
}

/// The application.
pub struct FcsApp {
    pub prefs: Prefs,
    settings: Settings,
    /// The last comparison, shared with the copy or delete run that acts on it.
    cmp: Option<Arc<Comparison>>,
    /// The folder fields as they were when the shown comparison was started: a copy or delete
    /// refuses to act on a comparison of other folders than the fields now name.
    compared: Option<(String, String)>,
    /// The folder fields of the compare running now.
    pending_roots: Option<(String, String)>,
    tree: Tree,
    job: Option<Job>,
    progress: Progress,
    dialog: Dialog,
    log: VecDeque<String>,
    status: String,
    /// Per-file strategy and outcome of the last copy, by relative path (shown on hover).
    file_notes: HashMap<PathBuf, String>,
    run_root: Option<PathBuf>,
    cursor: Option<usize>,
    active: Pane,
    scroll_to_cursor: bool,
    focus_filter: bool,
    applied_filter: String,
    wake: Arc<dyn Fn() + Send + Sync>,
    /// After a real copy or delete: compare again once the run has ended.
    recompare: bool,
    last_error: Option<String>,
    /// The sort chosen from a column header: key, side, descending. Kept across compares.
    sort: Option<(SortKey, Pane, bool)>,
    /// The mirror's deletes tripped the mass-deletion guard (the engine's message).
    guard: Option<String>,
    /// Items the last run could not do, by relative path, with the reason (marked in the grid).
    failed: HashMap<PathBuf, String>,
    /// Browse may use the system's folder dialog.
    system_dialogs: bool,
}

impl std::fmt::Debug for FcsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcsApp")
            .field("prefs", &self.prefs)
            .field("rows", &self.tree.len())
            .finish()
    }
}

/// A time as the grid shows it; none where the filesystem gave none (some report a zero birth
/// time: not 1970).
fn fmt_time(t: Option<std::time::SystemTime>) -> String {
    t.filter(|t| *t != std::time::UNIX_EPOCH)
        .map(|t| {
            let s = humantime::format_rfc3339_seconds(t).to_string();
            s.trim_end_matches('Z').replace('T', " ")
        })
        .unwrap_or_default()
}

impl FcsApp {
    /// The app for `eframe::run_native` (and the kittest harness): restores the saved prefs,
    /// then applies `left`/`right` when given.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        settings: Settings,
        left: Option<PathBuf>,
        right: Option<PathBuf>,
    ) -> FcsApp {
        let mut prefs: Prefs = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default();
        if let Some(l) = left {
            prefs.left = l.display().to_string();
        }
        if let Some(r) = right {
            prefs.right = r.display().to_string();
        }
        let ctx = cc.egui_ctx.clone();
        let mut app = FcsApp {
            applied_filter: prefs.filter.clone(),
            prefs,
            settings,
            cmp: None,
            compared: None,
            pending_roots: None,
            tree: Tree::default(),
            job: None,
            progress: Progress::default(),
            dialog: Dialog::None,
            log: VecDeque::new(),
            status: "Choose two folders and press Compare (Ctrl+R).".into(),
            file_notes: HashMap::new(),
            run_root: None,
            cursor: None,
            active: Pane::Left,
            scroll_to_cursor: false,
            focus_filter: false,
            wake: Arc::new(move || ctx.request_repaint()),
            recompare: false,
            last_error: None,
            sort: None,
            guard: None,
            failed: HashMap::new(),
            system_dialogs: true,
        };
        app.sync_verify_setting();
        app
    }

    // --- read access for tests and the status bar ---------------------------------------------

    /// The aligned rows.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
    pub fn tree_mut(&mut self) -> &mut Tree {
        &mut self.tree
    }
    /// Whether a compare, copy or delete is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }
    pub fn status(&self) -> &str {
        &self.status
    }
    pub fn log_lines(&self) -> impl Iterator<Item = &str> {
        self.log.iter().map(String::as_str)
    }
    /// The summary of the last finished copy or delete, while its dialog is open.
    pub fn finished_summary(&self) -> Option<&Summary> {
        match &self.dialog {
            Dialog::Finished(f) => Some(&f.summary),
            _ => None,
        }
    }
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
    /// The engine settings the next copy uses.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Shows a finished comparison exactly as a compare run's result is shown. Tests and the
    /// measurement program load synthetic trees of a million rows through it.
    pub fn show_comparison(&mut self, cmp: Comparison, took: Duration) {
        self.pending_roots = Some((
            self.prefs.left.trim().to_string(),
            self.prefs.right.trim().to_string(),
        ));
        self.on_compared(cmp, took);
    }

    // --- log --------------------------------------------------------------------------------

    fn log(&mut self, line: impl Into<String>) {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let time = stamp.get(11..19).unwrap_or("").to_string();
        self.log.push_back(format!("{time}  {}", line.into()));
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    fn set_status(&mut self, s: impl Into<String>) {
        let s = s.into();
        self.log(s.clone());
        self.status = s;
    }

    fn sync_verify_setting(&mut self) {
        self.settings.verify_policy = match self.prefs.verify {
            VerifyChoice::None => VerifyPolicy::None,
            VerifyChoice::BelowThreshold => VerifyPolicy::LtThreshold,
            VerifyChoice::All => VerifyPolicy::All,
        };
    }

    fn verify_text(&self) -> String {
        match self.prefs.verify {
            VerifyChoice::None => "none".into(),
            VerifyChoice::BelowThreshold => {
                format!("below {}", format_bytes(self.settings.verify_threshold))
            }
            VerifyChoice::All => "all".into(),
        }
    }

    // --- commands -----------------------------------------------------------------------------

    /// Starts a compare of the two folders in the background.
    pub fn start_compare(&mut self) {
        if self.job.is_some() {
            return;
        }
        let (l, r) = (
            self.prefs.left.trim().to_string(),
            self.prefs.right.trim().to_string(),
        );
        if l.is_empty() || r.is_empty() {
            self.set_status("Choose both folders first.");
            return;
        }
        let criteria = Criteria {
            existence: true,
            size: self.prefs.by_size,
            modified: self.prefs.by_modified,
            created: self.prefs.by_created,
            content: self.prefs.by_content,
            permissions: self.settings.preserve_permissions,
            ..Criteria::default()
        };
        let excludes: Vec<String> = self
            .prefs
            .exclude
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        let filter = match engine::tree::Filter::new(&[], &excludes, None, false) {
            Ok(f) => f,
            Err(e) => {
                self.set_status(format!("The Exclude field cannot be used: {}", e.message));
                return;
            }
        };
        self.progress = Progress::default();
        self.set_status(format!("Comparing '{l}' with '{r}' …"));
        self.pending_roots = Some((l.clone(), r.clone()));
        self.job = Some(start_compare(
            PathBuf::from(&l),
            PathBuf::from(&r),
            criteria,
            filter,
            self.settings.clone(),
            self.wake.clone(),
        ));
    }

    /// Exchanges the two folders; a shown comparison is made again the other way round.
    pub fn swap_sides(&mut self) {
        if self.job.is_some() {
            return;
        }
        std::mem::swap(&mut self.prefs.left, &mut self.prefs.right);
        let had = self.cmp.is_some();
        self.forget_comparison();
        if had {
            self.start_compare();
        }
    }

    /// Copy the ticked items of `from` to the other side: builds the plan and asks first.
    pub fn request_copy(&mut self, from: Pane) {
        if self.job.is_some() || !self.comparison_is_current() {
            return;
        }
        let Some(cmp) = &self.cmp else {
            self.set_status("Compare the folders first.");
            return;
        };
        if self.tree.remote(from) {
            self.set_status(format!("{}.", sync_ui::REMOTE_NOT_A_SOURCE));
            return;
        }
        let ticked = self.tree.ticked_rels(from);
        if ticked.is_empty() {
            self.set_status(format!(
                "Nothing ticked on the {} side: tick items, or use Select All Differences.",
                from.name()
            ));
            return;
        }
        let direction = match from {
            Pane::Left => Direction::LeftToRight,
            Pane::Right => Direction::RightToLeft,
        };
        // The comparison matched names the way the target folds them (judged when it was made);
        // the copy itself probes the target again before it plans.
        let folds = cmp.criteria.fold_case || cmp.criteria.fold_unicode;
        match copy_plan(cmp, &ticked, direction, folds) {
            Ok(plan) => {
                let names: Vec<String> = plan
                    .actions
                    .iter()
                    .filter(|a| a.kind != ActionKind::SetDirTimes)
                    .map(|a| format!("{} {}", a.kind.as_str(), a.rel.display()))
                    .collect();
                let more = names.len().saturating_sub(CONFIRM_LIST);
                let newer = newer_targets(cmp, &plan, from);
                self.dialog = Dialog::ConfirmCopy {
                    from,
                    plan: Box::new(plan),
                    items: ticked,
                    listing: names.into_iter().take(CONFIRM_LIST).collect(),
                    more,
                    newer,
                };
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn fail(&mut self, msg: String) {
        // The log keeps the engine's whole message; the status line says it in words.
        self.log(format!("error: {msg}"));
        self.status = match result_ui::plain(&msg) {
            Some((_, reason, _)) => format!("Error: {reason}"),
            None => format!("Error: {msg}"),
        };
        self.last_error = Some(msg.clone());
        self.dialog = Dialog::Message(msg);
    }

    fn confirm_copy(&mut self, from: Pane, plan: Plan, items: Vec<PathBuf>) {
        let (files, bytes) = plan.copy_totals();
        let arrow = match from {
            Pane::Left => "LEFT -> RIGHT",
            Pane::Right => "RIGHT -> LEFT",
        };
        if self.prefs.dry_run {
            for a in &plan.actions {
                self.log(format!(
                    "DRY RUN {:<9} {}  ({})",
                    a.kind.as_str(),
                    a.rel.display(),
                    a.reason
                ));
            }
            self.set_status(format!(
                "DRY RUN {arrow}: {} actions ({files} files, {}) — nothing was written.",
                plan.actions.len(),
                format_bytes(bytes)
            ));
            self.dialog = Dialog::Finished(Box::new(Finished {
                title: format!("DRY RUN {arrow}"),
                summary: Summary::default(),
                lines: vec![format!(
                    "{} actions, {files} files, {} would be copied; nothing was written.",
                    plan.actions.len(),
                    format_bytes(bytes)
                )],
                errors: vec![],
            }));
            return;
        }
        self.set_status(format!(
            "Copying {arrow}: {files} files, {} (verify: {}) …",
            format_bytes(bytes),
            self.verify_text()
        ));
        self.progress = Progress::default();
        self.file_notes.clear();
        self.run_root = Some(plan.source_root.clone());
        self.dialog = Dialog::None;
        let Some(comparison) = self.cmp.clone() else {
            return;
        };
        let sel = Selection {
            source: plan.source_root,
            target: plan.target_root,
            comparison,
            items,
        };
        self.job = Some(start_copy(sel, self.settings.clone(), self.wake.clone()));
    }

    /// Cancels the running job (prompt: the engine checks the token every window and entry).
    pub fn cancel(&mut self) {
        if let Some(j) = &self.job {
            j.cancel.cancel();
            self.status = "Cancelling …".into();
        }
    }

    // --- messages from the job ------------------------------------------------------------------

    fn drain(&mut self) {
        let Some(job) = self.job.take() else { return };
        let mut finished = None;
        let mut events = Vec::new();
        while let Ok(m) = job.rx.try_recv() {
            match m {
                Msg::Event(e) => events.push(e),
                other => {
                    finished = Some(other);
                    break;
                }
            }
        }
        for e in events {
            self.on_event(e);
        }
        match finished {
            None => self.job = Some(job),
            Some(Msg::Compared(cmp, took)) => self.on_compared(*cmp, took),
            Some(Msg::Ran(summary)) => self.on_ran(job.kind, summary, job.started.elapsed()),
            Some(Msg::Failed(m)) => {
                // A compare that failed leaves nothing to act on: the trees shown before were
                // of other folders, or of these folders as they were.
                if job.kind == JobKind::Compare {
                    self.forget_comparison();
                }
                self.fail(m)
            }
            Some(Msg::Event(_)) => {}
        }
    }

    fn on_event(&mut self, e: Event) {
        let p = &mut self.progress;
        match e {
            Event::ScanProgress { side, entries } => {
                p.scanned[side as usize] = entries;
            }
            Event::CompareProgress {
                hashed_bytes,
                total_bytes,
            } => {
                p.hashed = hashed_bytes;
                p.hash_total = total_bytes;
            }
            Event::RunStarted { files, bytes, .. } if !p.preset => {
                p.files_total = files;
                p.bytes_total = bytes;
            }
            Event::RunStarted { .. } => {}
            Event::FileStarted { id, src, size, .. } => {
                let name = src
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                p.in_flight.insert(
                    id,
                    InFlight {
                        name,
                        size,
                        phase: Phase::Copy,
                        done: 0,
                        total: size,
                    },
                );
                p.current = Some(id);
            }
            Event::Progress {
                id,
                phase,
                done,
                total,
            } => {
                if let Some(f) = p.in_flight.get_mut(&id) {
                    f.phase = phase;
                    f.done = done;
                    f.total = total;
                }
            }
            Event::Decision { line, .. } => {
                self.log(line);
            }
            Event::Notice { path, notice, .. } => {
                self.log(format!(
                    "note ({}): {} — '{}'",
                    notice.kind,
                    notice.message,
                    path.display()
                ));
            }
            Event::TargetProbed { path, capabilities } => {
                self.log(format!(
                    "target '{}': {}",
                    path.display(),
                    capabilities.describe()
                ));
            }
            Event::FileFinished {
                id,
                src,
                outcome,
                perf,
                ..
            } => {
                if let Some(f) = p.in_flight.remove(&id) {
                    p.bytes_done += f.size;
                    let verified = matches!(outcome, Outcome::Committed { verified: true });
                    p.work_done += f.size * (1 + u64::from(verified));
                }
                p.files_done += 1;
                if p.current == Some(id) {
                    p.current = p.in_flight.keys().max().copied();
                }
                let strategy = perf
                    .as_ref()
                    .map(|p| format!("{} via {}", p.strategy, p.method))
                    .unwrap_or_default();
                // Unverified copies are never called verified.
                let note = match &outcome {
                    Outcome::Committed { verified: true } => {
                        format!("copied and verified ({strategy})")
                    }
                    Outcome::Committed { verified: false } => {
                        format!("copied, NOT verified ({strategy})")
                    }
                    Outcome::Failed { code, message } => format!("FAILED {code}: {message}"),
                    Outcome::Cancelled { .. } => "cancelled; target untouched".into(),
                };
                self.log(format!("{} — {note}", src.display()));
                if let Some(rel) = self.run_root.as_ref().and_then(|r| rel_under(&src, r)) {
                    self.file_notes.insert(rel, note);
                }
            }
            Event::Deleted { path, mode } => {
                p.deleted += 1;
                self.log(format!(
                    "deleted {} '{}'",
                    match mode {
                        DeleteMode::Trash => trash_words(),
                        DeleteMode::Permanent => "permanently",
                    },
                    path.display()
                ));
            }
            Event::RunFinished { .. } => {}
        }
    }

    /// Clears the trees and the comparison (a failed compare): Copy and Delete Orphans then ask
    /// for a Compare first.
    fn forget_comparison(&mut self) {
        self.cmp = None;
        self.compared = None;
        self.pending_roots = None;
        self.tree = Tree::default();
        self.cursor = None;
        self.failed.clear();
        self.apply_view();
    }

    /// Whether the shown comparison is of the folders the fields name now (said in the status
    /// when not).
    fn comparison_is_current(&mut self) -> bool {
        let now = (
            self.prefs.left.trim().to_string(),
            self.prefs.right.trim().to_string(),
        );
        if self.cmp.is_some() && self.compared.as_ref() != Some(&now) {
            self.set_status(
                "The folders changed since the last Compare: press Compare before copying or deleting.",
            );
            return false;
        }
        true
    }

    fn on_compared(&mut self, cmp: Comparison, took: Duration) {
        if cmp.cancelled {
            self.set_status("Compare cancelled.");
            return;
        }
        self.compared = self.pending_roots.take();
        if let Some(pair) = self.compared.clone() {
            self.remember_pair(pair);
        }
        for i in cmp.left.issues.iter().chain(&cmp.right.issues) {
            let line = format!("{} — '{}'", i.message, i.path.display());
            self.log(line);
        }
        for i in &cmp.issues {
            let line = format!("{} — '{}'", i.message, i.rel.display());
            self.log(line);
        }
        self.tree = Tree::from_comparison(&cmp, 2);
        if let Some((key, pane, desc)) = self.sort {
            self.tree.sort(key, pane, desc);
        }
        self.cursor = None;
        self.cmp = Some(Arc::new(cmp));
        self.apply_mode();
        self.apply_view();
        let (d, ml, mr) = self.tree.counts();
        self.set_status(format!(
            "Compared {} in {:.2} s: {}, {ml} missing on the left, {mr} missing on the right.",
            plural(self.tree.len().saturating_sub(1) as u64, "item"),
            took.as_secs_f64(),
            plural(d as u64, "difference"),
        ));
    }

    fn on_ran(&mut self, kind: JobKind, s: Summary, took: Duration) {
        let title = outcome_title(kind, &s);
        let mut lines = vec![];
        if kind == JobKind::Delete {
            lines.push(format!("Deleted: {}", plural(s.deleted, "item")));
        } else {
            lines.push(format!(
                "Copied: {} ({} verified), {}, {} created",
                plural(s.copied, "file"),
                s.verified,
                plural(s.symlinks, "link"),
                plural(s.dirs_created, "folder")
            ));
            lines.push(format!("Bytes: {}", format_bytes(s.bytes)));
            if kind == JobKind::Sync {
                lines.push(format!(
                    "Deleted: {}, metadata updated: {}",
                    plural(s.deleted, "item"),
                    plural(s.metadata_updated, "item")
                ));
            }
            // How each file was copied is for the log, not for the result a person reads.
            self.log(format!(
                "strategies: DIRECT-SMALL {}, DIRECT-LARGE {}, STAGED {}",
                s.direct_small, s.direct_large, s.staged
            ));
        }
        if s.cancelled {
            lines.push(
                "Cancelled: what was done before the cancel is complete (and verified where \
                 verification is on); nothing else was changed."
                    .into(),
            );
        }
        lines.push(format!("Errors: {}   Skipped: {}", s.failed, s.skipped));
        lines.push(format!("Time: {:.2} s", took.as_secs_f64()));
        let errors: Vec<Failure> = s.errors.iter().map(Failure::of).collect();
        self.failed.clear();
        for (e, f) in s.errors.iter().zip(&errors) {
            self.log(format!("error: {}", e.message));
            // Marked in the grid by its row (after the compare that follows).
            let roots = [&self.tree.left_root, &self.tree.right_root];
            if let Some(rel) = roots.iter().find_map(|r| rel_under(&e.path, r)) {
                self.failed.insert(rel, f.reason.clone());
            }
        }
        self.set_status(format!("{title}: {}", lines.join("; ")));
        self.dialog = Dialog::Finished(Box::new(Finished {
            title,
            summary: s,
            lines,
            errors,
        }));
        // The trees now describe the past: compare again (the original app re-compares after a
        // real copy or delete).
        self.recompare = true;
    }

    fn apply_view(&mut self) {
        match compile_wildcard(&self.prefs.filter) {
            Ok(g) => {
                self.applied_filter = self.prefs.filter.clone();
                self.tree
                    .set_filter(self.prefs.kinds_shown, &self.prefs.search);
                self.tree.set_view(g.as_ref(), self.prefs.differences_only);
            }
            Err(e) => self.set_status(e),
        }
    }

    // --- drawing ----------------------------------------------------------------------------------

    fn keyboard(&mut self, ctx: &egui::Context) {
        use egui::{Key, Modifiers};
        let ctrl = |k| ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, k));
        if ctrl(Key::R) {
            self.start_compare();
        }
        if ctrl(Key::F) {
            self.focus_filter = true;
        }
        if ctrl(Key::S) && matches!(self.dialog, Dialog::None) {
            self.request_sync();
        }
        if ctx.egui_wants_keyboard_input() || !matches!(self.dialog, Dialog::None) {
            return;
        }
        let vis = self.tree.visible().len();
        if vis == 0 {
            return;
        }
        // The cursor's place in the visible rows is looked up only when a key needs it: a scan
        // of a million rows is not for every frame.
        let pos = || {
            self.cursor
                .and_then(|c| self.tree.visible().iter().position(|&v| v as usize == c))
        };
        // Ctrl+← / Ctrl+→ choose the tree that Space ticks in (Tab stays egui's focus key).
        if ctrl(Key::ArrowLeft) {
            self.active = Pane::Left;
        }
        if ctrl(Key::ArrowRight) {
            self.active = Pane::Right;
        }
        let press = |k| ctx.input_mut(|i| i.consume_key(Modifiers::NONE, k));
        let mut moved = None;
        if press(Key::ArrowDown) {
            moved = Some(pos().map_or(0, |p| (p + 1).min(vis - 1)));
        }
        if press(Key::ArrowUp) {
            moved = Some(pos().map_or(0, |p| p.saturating_sub(1)));
        }
        // Home, End and a page at a time: the way to cross a tree of a million rows.
        const PAGE: usize = 20;
        if press(Key::PageDown) {
            moved = Some(pos().map_or(0, |p| (p + PAGE).min(vis - 1)));
        }
        if press(Key::PageUp) {
            moved = Some(pos().map_or(0, |p| p.saturating_sub(PAGE)));
        }
        if press(Key::Home) {
            moved = Some(0);
        }
        if press(Key::End) {
            moved = Some(vis - 1);
        }
        if let Some(m) = moved {
            self.cursor = Some(self.tree.visible()[m] as usize);
            self.scroll_to_cursor = true;
        }
        let Some(c) = self.cursor else { return };
        if press(Key::ArrowRight) {
            self.tree.set_expanded(c, true);
        }
        if press(Key::ArrowLeft) {
            self.tree.set_expanded(c, false);
        }
        if press(Key::Space) {
            let on = !self.tree.is_ticked(c, self.active);
            self.tree.set_ticked(c, self.active, on);
        }
        // Delete (to the bin) and Shift+Delete (for good) on an item that exists only on the
        // active side: Delete Orphans with that item ticked, asking first as always.
        let shift = ctx.input_mut(|i| i.consume_key(Modifiers::SHIFT, Key::Delete));
        if (shift || press(Key::Delete)) && c > 0 {
            self.delete_key(c, shift);
        }
    }

    fn dialog_ui(&mut self, ctx: &egui::Context) {
        if self
            .job
            .as_ref()
            .is_some_and(|j| j.kind != JobKind::Compare)
        {
            return;
        }
        let dialog = std::mem::replace(&mut self.dialog, Dialog::None);
        self.dialog = match dialog {
            Dialog::None => Dialog::None,
            Dialog::ConfirmSync(p) => self.sync_dialog(ctx, p),
            Dialog::Chooser(c) => self.chooser_ui(ctx, c),
            Dialog::FileDiff(d) => self.file_diff_ui(ctx, d),
            Dialog::Message(m) => {
                let mut close = false;
                egui::Modal::new(egui::Id::unique("message")).show(ctx, |ui| {
                    ui.set_max_width(520.0);
                    ui.heading("FolderCompareSync");
                    result_ui::message_ui(ui, &m);
                    close = ui.button("OK").clicked();
                });
                if close {
                    Dialog::None
                } else {
                    Dialog::Message(m)
                }
            }
            Dialog::ConfirmCopy {
                from,
                plan,
                items,
                listing,
                more,
                newer,
            } => {
                let mut answer = None;
                let (files, bytes) = plan.copy_totals();
                egui::Modal::new(egui::Id::unique("confirm-copy")).show(ctx, |ui| {
                    ui.set_max_width(560.0);
                    ui.heading(match from {
                        Pane::Left => "Copy LEFT -> Right?",
                        Pane::Right => "Copy RIGHT -> Left?",
                    });
                    ui.label(format!(
                        "{} -> {}",
                        plan.source_root.display(),
                        plan.target_root.display()
                    ));
                    ui.label(format!(
                        "{files} files, {} (verify: {})",
                        format_bytes(bytes),
                        self.verify_text()
                    ));
                    for l in &listing {
                        ui.monospace(l);
                    }
                    if more > 0 {
                        ui.label(format!("… and {more} more"));
                    }
                    if !newer.is_empty() {
                        let side = match from {
                            Pane::Left => "RIGHT",
                            Pane::Right => "LEFT",
                        };
                        ui.label(
                            RichText::new(format!(
                                "Warning: {} on {side} {} newer than the version that will replace it:",
                                plural(newer.len() as u64, "file"),
                                if newer.len() == 1 { "is" } else { "are" }
                            ))
                            .color(Color32::from_rgb(210, 60, 40))
                            .strong(),
                        );
                        for n in newer.iter().take(CONFIRM_LIST) {
                            ui.monospace(n);
                        }
                        if newer.len() > CONFIRM_LIST {
                            ui.label(format!("… and {} more", newer.len() - CONFIRM_LIST));
                        }
                    }
                    if self.prefs.dry_run {
                        ui.label(
                            RichText::new("DRY RUN: nothing will be written.")
                                .color(Color32::from_rgb(220, 140, 0)),
                        );
                    }
                    ui.horizontal(|ui| {
                        if ui.button("Yes, copy").clicked() {
                            answer = Some(true);
                        }
                        if ui.button("Cancel").clicked() {
                            answer = Some(false);
                        }
                    });
                });
                match answer {
                    Some(true) => {
                        self.confirm_copy(from, *plan, items);
                        std::mem::replace(&mut self.dialog, Dialog::None)
                    }
                    Some(false) => Dialog::None,
                    None => Dialog::ConfirmCopy {
                        from,
                        plan,
                        items,
                        listing,
                        more,
                        newer,
                    },
                }
            }
            Dialog::Finished(f) => {
                let mut close = false;
                egui::Modal::new(egui::Id::unique("finished")).show(ctx, |ui| {
                    ui.set_max_width(560.0);
                    ui.heading(&f.title);
                    for l in &f.lines {
                        ui.label(l);
                    }
                    failures_ui(ui, &f.errors);
                    ui.horizontal(|ui| {
                        if ui.button("Copy to clipboard").clicked() {
                            let mut text = format!("{}\n", f.title);
                            for l in &f.lines {
                                text.push_str(l);
                                text.push('\n');
                            }
                            for e in &f.errors {
                                text.push_str(&e.text());
                                text.push('\n');
                            }
                            ui.ctx().copy_text(text);
                        }
                        close = ui.button("OK").clicked();
                    });
                });
                if close {
                    Dialog::None
                } else {
                    Dialog::Finished(f)
                }
            }
            Dialog::Orphans(mut o) => {
                let mut action = None;
                self.orphans_ui(ctx, &mut o, &mut action);
                match action {
                    Some(true) => {
                        self.request_delete(&o);
                        if matches!(self.dialog, Dialog::None) {
                            Dialog::Orphans(o)
                        } else {
                            std::mem::replace(&mut self.dialog, Dialog::None)
                        }
                    }
                    Some(false) => Dialog::None,
                    None => Dialog::Orphans(o),
                }
            }
            Dialog::ConfirmDelete {
                plan,
                items,
                mode,
                listing,
                more,
                dry_run,
            } => {
                let mut answer = None;
                egui::Modal::new(egui::Id::unique("confirm-delete")).show(ctx, |ui| {
                    ui.set_max_width(560.0);
                    ui.heading(match mode {
                        DeleteMode::Trash => {
                            if cfg!(windows) {
                                "Move to the Recycle Bin?"
                            } else {
                                "Move to the Trash?"
                            }
                        }
                        DeleteMode::Permanent => "Delete PERMANENTLY?",
                    });
                    ui.label(format!("In {}", plan.target_root.display()));
                    for l in &listing {
                        ui.monospace(l);
                    }
                    if more > 0 {
                        ui.label(format!("… and {more} more"));
                    }
                    if dry_run {
                        ui.label(
                            RichText::new("DRY RUN: nothing will be deleted.")
                                .color(Color32::from_rgb(220, 140, 0)),
                        );
                    }
                    ui.horizontal(|ui| {
                        if ui.button("Yes, delete").clicked() {
                            answer = Some(true);
                        }
                        if ui.button("Cancel").clicked() {
                            answer = Some(false);
                        }
                    });
                });
                match answer {
                    Some(true) => {
                        self.confirm_delete(*plan, items, mode, dry_run);
                        std::mem::replace(&mut self.dialog, Dialog::None)
                    }
                    Some(false) => Dialog::None,
                    None => Dialog::ConfirmDelete {
                        plan,
                        items,
                        mode,
                        listing,
                        more,
                        dry_run,
                    },
                }
            }
        };
    }
}

impl eframe::App for FcsApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        if self.recompare && self.job.is_none() {
            self.recompare = false;
            self.start_compare();
        }
        if self.job.is_some() {
            // Elapsed time and the animated scan bar move even between events.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.keyboard(&ctx);
        self.drops(&ctx);
        egui::Panel::top("top").show(ui, |ui| {
            ui.add_space(4.0);
            self.top_ui(ui);
            ui.add_space(4.0);
        });
        egui::Panel::bottom("bottom").show(ui, |ui| {
            ui.add_space(2.0);
            self.bottom_ui(ui);
        });
        egui::CentralPanel::default().show(ui, |ui| {
            self.trees_ui(ui);
        });
        self.progress_ui(&ctx);
        self.dialog_ui(&ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.prefs);
    }
}

/// What the desktop calls its bin: the Recycle Bin on Windows, the Trash elsewhere.
fn trash_name() -> &'static str {
    if cfg!(windows) {
        "Recycle Bin"
    } else {
        "Trash"
    }
}

/// "to the Recycle Bin" / "to the Trash".
fn trash_words() -> &'static str {
    if cfg!(windows) {
        "to the Recycle Bin"
    } else {
        "to the Trash"
    }
}

/// `n` and its noun, in the plural unless `n` is 1: "1 file", "3 files".
/// The planned copies whose target is newer than its source (by the comparison the user saw):
/// copying would put an older version over a newer one, which the confirmation says.
fn newer_targets(cmp: &Comparison, plan: &Plan, from: Pane) -> Vec<String> {
    let newer = match from {
        Pane::Left => engine::tree::Category::RightNewer,
        Pane::Right => engine::tree::Category::LeftNewer,
    };
    let planned: std::collections::HashSet<&Path> = plan
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::Copy | ActionKind::Replace))
        .map(|a| a.rel.as_path())
        .collect();
    cmp.items
        .iter()
        .filter(|it| it.category == newer)
        .map(|it| cmp.rel(it))
        .filter(|rel| planned.contains(rel))
        .map(|rel| rel.display().to_string())
        .collect()
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The title of a finished job's result, as it ended: finished, finished with errors, or
/// cancelled (what was committed before a cancel stays, and the summary lists it).
fn outcome_title(kind: JobKind, s: &Summary) -> String {
    let what = match kind {
        JobKind::Delete => "Delete Orphans",
        JobKind::Sync => "Synchronize",
        _ => "Copy",
    };
    if s.cancelled {
        format!("{what} CANCELLED")
    } else if s.failed > 0 {
        format!("{what} finished with {}", plural(s.failed, "error"))
    } else {
        format!("{what} finished")
    }
}

#[cfg(test)]
mod words {

    #[test]
    fn a_zero_birth_time_is_shown_as_none() {
        assert_eq!(fmt_time(Some(std::time::UNIX_EPOCH)), "");
        assert_eq!(fmt_time(None), "");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(fmt_time(Some(t)), "2023-11-14 22:13:20");
    }

    #[test]
    fn the_overall_bar_ends_with_the_last_verify_not_before() {
        let mut p = Progress {
            bytes_total: 400,
            files_total: 4,
            ..Progress::default()
        };
        // Three files copied and verified, the last one copied and half read back.
        p.work_done = 3 * 100 * 2;
        p.in_flight.insert(
            7,
            InFlight {
                name: "last".into(),
                size: 100,
                phase: Phase::Verify,
                done: 50,
                total: 100,
            },
        );
        let (work, total) = p.work(true);
        assert_eq!((work, total), (750, 800));
        assert!(work < total, "not 100 % while the last file verifies");
        // Without verifies the copy alone is the work.
        p.in_flight.clear();
        p.work_done = 400;
        assert_eq!(p.work(false), (400, 400));
    }

    use super::*;

    #[test]
    fn plurals_titles_and_the_bin_speak_plainly() {
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(0, "file"), "0 files");
        assert_eq!(plural(4, "folder"), "4 folders");
        let mut s = Summary::default();
        assert_eq!(outcome_title(JobKind::Copy, &s), "Copy finished");
        s.failed = 3;
        assert_eq!(
            outcome_title(JobKind::Copy, &s),
            "Copy finished with 3 errors"
        );
        s.failed = 1;
        assert_eq!(
            outcome_title(JobKind::Delete, &s),
            "Delete Orphans finished with 1 error"
        );
        s.cancelled = true;
        assert_eq!(outcome_title(JobKind::Copy, &s), "Copy CANCELLED");
        assert_eq!(trash_name() == "Trash", !cfg!(windows));
    }
}

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
use egui_extras::{Column, TableBuilder};
use engine::tree::{ActionKind, Comparison, Criteria, Direction, EntryKind, Plan, Summary};
use engine::{DeleteMode, Event, Outcome, Phase, Settings, VerifyPolicy, format_bytes};

use crate::kinds::Kind;
use crate::model::{Pane, SortKey, Tree, compile_wildcard, copy_plan, delete_plan};
use crate::sync::Rule;
use crate::worker::{Job, JobKind, Msg, Selection, start_compare, start_copy, start_delete};

/// Lines kept in the status log (the original app's limit).
pub const LOG_LINES: usize = 5000;
/// Items listed by name in a confirmation before "… and N more".
const CONFIRM_LIST: usize = 10;
const STORAGE_KEY: &str = "fcs-gui";

mod folders_ui;
mod job_ui;
mod result_ui;
mod row_menu;
mod sync_ui;
use result_ui::{Failure, failures_ui};
use sync_ui::{SyncPreview, act_cell};

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
    /// The view filter bar: which kinds are shown (in [`Kind::ALL`]'s order), and the search.
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

/// Access to an orphan, checked when its row is first drawn or ticked; only `Ok` can be ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Ok,
    ReadOnly,
    NoAccess,
    /// Open in another program (Windows): deleting it would fail.
    InUse,
}

impl Access {
    fn label(self) -> &'static str {
        match self {
            Access::Ok => "OK",
            Access::ReadOnly => "read-only",
            Access::NoAccess => "no access",
            Access::InUse => "in use",
        }
    }
}

/// The Delete Orphans dialog's state.
#[derive(Debug)]
struct Orphans {
    pane: Pane,
    /// Tree row indices of the orphans, in tree order.
    rows: Vec<usize>,
    /// Checked lazily, when a row is drawn or a tick would take it: a check costs a few system
    /// calls (an open on Windows), too many to make for every orphan of a million-row tree
    /// before the dialog can open.
    access: Vec<Option<Access>>,
    ticked: Vec<bool>,
    /// How many are ticked, counted when ticks change rather than every frame.
    ticked_count: usize,
    dry_run: bool,
    permanent: bool,
    filter: String,
    /// Positions in `rows` that pass `filter` (folders always do), rebuilt when it changes.
    listed: Vec<usize>,
    listed_for: Option<String>,
}

impl Orphans {
    /// The access of orphan `k`, checked on first use.
    fn access(&mut self, k: usize, tree: &Tree, root: &Path) -> Access {
        *self.access[k]
            .get_or_insert_with(|| check_access(&root.join(&tree.rows[self.rows[k]].rel)))
    }

    fn recount(&mut self) {
        self.ticked_count = self.ticked.iter().filter(|t| **t).count();
    }
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

    /// Opens the Delete Orphans dialog for `pane`'s items that the other side lacks.
    pub fn open_orphans(&mut self, pane: Pane) {
        if self.job.is_some() || !self.comparison_is_current() {
            return;
        }
        if self.cmp.is_none() {
            self.set_status("Compare the folders first.");
            return;
        }
        let rows = self.tree.orphans(pane);
        if rows.is_empty() {
            self.set_status(format!("No {}-only items.", pane.name()));
            return;
        }
        let n = rows.len();
        self.dialog = Dialog::Orphans(Box::new(Orphans {
            pane,
            rows,
            access: vec![None; n],
            ticked: vec![false; n],
            ticked_count: 0,
            dry_run: self.prefs.dry_run,
            permanent: false,
            filter: String::new(),
            listed: Vec::new(),
            listed_for: None,
        }));
    }

    fn request_delete(&mut self, o: &Orphans) {
        let Some(cmp) = &self.cmp else { return };
        let rels: Vec<PathBuf> = o
            .rows
            .iter()
            .zip(&o.ticked)
            .filter(|(_, t)| **t)
            .map(|(&i, _)| self.tree.rows[i].rel.clone())
            .collect();
        if rels.is_empty() {
            self.set_status("Nothing ticked to delete.");
            return;
        }
        match delete_plan(cmp, o.pane, &rels) {
            Ok(plan) => {
                let names: Vec<String> = plan
                    .actions
                    .iter()
                    .filter(|a| a.kind == ActionKind::Delete)
                    .map(|a| a.rel.display().to_string())
                    .collect();
                let more = names.len().saturating_sub(CONFIRM_LIST);
                self.dialog = Dialog::ConfirmDelete {
                    plan: Box::new(plan),
                    items: rels,
                    mode: if o.permanent {
                        DeleteMode::Permanent
                    } else {
                        DeleteMode::Trash
                    },
                    listing: names.into_iter().take(CONFIRM_LIST).collect(),
                    more,
                    dry_run: o.dry_run,
                };
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn confirm_delete(&mut self, plan: Plan, items: Vec<PathBuf>, mode: DeleteMode, dry_run: bool) {
        let n = plan
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete)
            .count();
        if dry_run {
            for a in plan.actions.iter().filter(|a| a.kind == ActionKind::Delete) {
                self.log(format!(
                    "DRY RUN delete {}",
                    plan.target_root.join(&a.rel).display()
                ));
            }
            self.set_status(format!(
                "DRY RUN: {} would be deleted; nothing was.",
                plural(n as u64, "item")
            ));
            self.dialog = Dialog::Finished(Box::new(Finished {
                title: "DRY RUN Delete Orphans".into(),
                summary: Summary::default(),
                lines: vec![format!(
                    "{} would be deleted; nothing was deleted.",
                    plural(n as u64, "item")
                )],
                errors: vec![],
            }));
            return;
        }
        self.set_status(format!(
            "Deleting {} {} …",
            plural(n as u64, "item"),
            match mode {
                DeleteMode::Trash => trash_words(),
                DeleteMode::Permanent => "permanently",
            }
        ));
        self.progress = Progress::default();
        self.progress.files_total = n as u64;
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
        self.job = Some(start_delete(
            sel,
            self.settings.clone(),
            mode,
            self.wake.clone(),
        ));
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
                if let Some(rel) = self
                    .run_root
                    .as_ref()
                    .and_then(|r| src.strip_prefix(r).ok())
                {
                    self.file_notes.insert(rel.to_path_buf(), note);
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
            if let Some(rel) = roots.iter().find_map(|r| e.path.strip_prefix(r).ok()) {
                self.failed.insert(rel.to_path_buf(), f.reason.clone());
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

    /// The Delete key on row `c`: opens Delete Orphans for the active side with the row ticked.
    fn delete_key(&mut self, c: usize, permanent: bool) {
        let pane = self.active;
        let r = &self.tree.rows[c];
        if r.side(pane).is_none() || r.side(pane.other()).is_some() {
            self.set_status(format!(
                "Delete works on items that exist only on the {} side (Delete Orphans).",
                pane.name()
            ));
            return;
        }
        self.open_orphans(pane);
        let root = match pane {
            Pane::Left => self.tree.left_root.clone(),
            Pane::Right => self.tree.right_root.clone(),
        };
        if let Dialog::Orphans(o) = &mut self.dialog
            && let Some(k) = o.rows.iter().position(|&i| i == c)
        {
            o.permanent = permanent;
            if o.access(k, &self.tree, &root) == Access::Ok {
                o.ticked[k] = true;
                o.recount();
            }
        }
    }

    fn top_ui(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        self.folders_ui(ui);
        ui.horizontal_wrapped(|ui| {
            ui.label("Compare by:");
            ui.add_enabled(false, egui::Checkbox::new(&mut true, "Existence"))
                .on_disabled_hover_text("Always compared: an item on one side only differs");
            ui.checkbox(&mut self.prefs.by_size, "Size")
                .on_hover_text("Files of different sizes differ");
            ui.checkbox(&mut self.prefs.by_created, "Date Created")
                .on_hover_text("Items created at different times differ (and the column shows)");
            let tol = self.settings.timestamp_tolerance;
            ui.checkbox(
                &mut self.prefs.by_modified,
                format!("Date Modified (±{:?})", tol),
            )
            .on_hover_text(
                "Items modified at different times differ; closer than the tolerance counts as the same",
            );
            ui.checkbox(&mut self.prefs.by_content, "Content (BLAKE3)")
                .on_hover_text("Read both files and compare their BLAKE3 hashes (slow, certain)");
            ui.separator();
            let dry_color = if self.prefs.dry_run {
                Color32::from_rgb(220, 140, 0)
            } else {
                ui.visuals().text_color()
            };
            ui.checkbox(
                &mut self.prefs.dry_run,
                RichText::new("DRY RUN").color(dry_color),
            )
            .on_hover_text("Copies, syncs and deletes only say what they would do");
            ui.separator();
            if ui
                .add_enabled(!busy, egui::Button::new(RichText::new("Compare").strong()))
                .on_hover_text("Scan both folders and compare them (Ctrl+R)")
                .clicked()
            {
                self.start_compare();
            }
            if ui
                .add_enabled(!busy, egui::Button::new("⬌ Swap sides"))
                .on_hover_text("Exchange the LEFT and RIGHT folders (and compare again)")
                .clicked()
            {
                self.swap_sides();
            }
            self.recent_menu(ui);
            self.job_menu(ui);
        });
        self.mode_bar(ui);
        self.filter_bar(ui);
        ui.horizontal_wrapped(|ui| {
            ui.label("Filter:");
            let r = ui.add(
                egui::TextEdit::singleline(&mut self.prefs.filter)
                    .desired_width(160.0)
                    .hint_text("*.jpg;*.png"),
            );
            if self.focus_filter {
                r.request_focus();
                self.focus_filter = false;
            }
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .button("Apply")
                .on_hover_text("Show only files whose names match the wildcard (Enter)")
                .clicked()
                || enter
            {
                self.apply_view();
            }
            if ui
                .button("Clear")
                .on_hover_text("Show every name again")
                .clicked()
            {
                self.prefs.filter.clear();
                self.apply_view();
            }
            ui.separator();
            let label = ui.label("Exclude:");
            ui.add(
                egui::TextEdit::singleline(&mut self.prefs.exclude)
                    .desired_width(150.0)
                    .hint_text("node_modules; *.tmp"),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "Names, *.ext or folder/paths to leave out, separated by ';' (applies at the next Compare; \
                 right-click a row to add one)",
            );
            ui.separator();
            if ui
                .button("Expand All")
                .on_hover_text("Open every folder of both trees")
                .clicked()
            {
                self.tree.expand_all(true);
            }
            if ui
                .button("Collapse All")
                .on_hover_text("Close every folder of both trees")
                .clicked()
            {
                self.tree.expand_all(false);
            }
            if ui
                .checkbox(&mut self.prefs.differences_only, "Differences only")
                .on_hover_text("Hide the rows that are equal on both sides")
                .changed()
            {
                self.apply_view();
            }
            ui.menu_button("Columns", |ui| {
                ui.add_enabled(
                    !self.prefs.by_created,
                    egui::Checkbox::new(&mut self.prefs.show_created, "Date Created"),
                )
                .on_hover_text("Always shown while creation dates are compared");
                ui.label("Hash: shown when content is compared");
            });
            egui::widgets::global_theme_preference_buttons(ui);
            ui.separator();
            ui.label("Verify:");
            let before = self.prefs.verify;
            ui.radio_value(&mut self.prefs.verify, VerifyChoice::None, "no files")
                .on_hover_text("Copies are not read back (fastest; the copy is still atomic)");
            ui.radio_value(
                &mut self.prefs.verify,
                VerifyChoice::BelowThreshold,
                format!(
                    "only files below {}",
                    format_bytes(self.settings.verify_threshold)
                ),
            );
            ui.radio_value(&mut self.prefs.verify, VerifyChoice::All, "every file")
                .on_hover_text("Every copy is read back from the disk and compared before it replaces anything");
            if before != self.prefs.verify {
                self.sync_verify_setting();
            }
        });
        // Each side's buttons in its own half, above its own tree: nothing wraps under the
        // other side at any width.
        ui.columns(2, |cols| {
            for (ui, pane) in cols.iter_mut().zip([Pane::Left, Pane::Right]) {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(format!("{}:", pane.name())).strong());
                    if ui
                        .add_enabled(
                            !busy,
                            egui::Button::new(format!("Select All Differences {}", pane.name())),
                        )
                        .on_hover_text("Tick every shown row that differs and exists on this side")
                        .clicked()
                    {
                        self.tree.select_all_differences(pane);
                    }
                    if ui
                        .add_enabled(
                            !busy,
                            egui::Button::new(format!("Clear All {}", pane.name())),
                        )
                        .on_hover_text("Untick every row of this side")
                        .clicked()
                    {
                        self.tree.clear_all(pane);
                    }
                    let copy = match pane {
                        Pane::Left => "Copy LEFT -> Right",
                        Pane::Right => "Copy RIGHT -> Left",
                    };
                    if ui
                        .add_enabled(!busy, egui::Button::new(copy))
                        .on_hover_text(
                            "Copy the ticked items of this side to the other, after a confirmation",
                        )
                        .clicked()
                    {
                        self.request_copy(pane);
                    }
                    if ui
                        .add_enabled(
                            !busy,
                            egui::Button::new(
                                RichText::new(format!("Delete Orphans {}-only", pane.name()))
                                    .color(Kind::TypeConflict.color()),
                            ),
                        )
                        .on_hover_text("Choose items that exist only on this side and delete them")
                        .clicked()
                    {
                        self.open_orphans(pane);
                    }
                });
            }
        });
    }

    fn bottom_ui(&mut self, ui: &mut egui::Ui) {
        let (d, ml, mr) = self.tree.counts();
        let marked = self.tree.ticked_count(Pane::Left) + self.tree.ticked_count(Pane::Right);
        let mut bar = format!(
            "{} | {ml} missing left | {mr} missing right | {marked} marked",
            plural(d as u64, "difference")
        );
        if self.prefs.dry_run {
            bar.push_str(" | DRY RUN");
        }
        bar.push_str(&format!(" | Verify: {}", self.verify_text()));
        ui.label(RichText::new(bar).strong());
        ui.label(&self.status);
        if let Some(job) = &self.job
            && job.kind == JobKind::Compare
        {
            let p = &self.progress;
            let mut cancel = false;
            ui.horizontal(|ui| {
                let (frac, text) = if p.hash_total > 0 {
                    (
                        p.hashed as f32 / p.hash_total as f32,
                        format!(
                            "Comparing content: {} of {}",
                            format_bytes(p.hashed),
                            format_bytes(p.hash_total)
                        ),
                    )
                } else {
                    // A scan's size is unknown until it ends: an animated bar with the counts.
                    (
                        0.0,
                        format!(
                            "Scanning: {} entries left, {} entries right",
                            p.scanned[0], p.scanned[1]
                        ),
                    )
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .text(text)
                        .animate(p.hash_total == 0)
                        .desired_width(ui.available_width() - 90.0),
                );
                cancel = ui.button("Cancel").clicked();
            });
            if cancel {
                self.cancel();
            }
        }
        egui::CollapsingHeader::new(format!(
            "Status log ({})",
            plural(self.log.len() as u64, "line")
        ))
        .default_open(false)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.button("Export log…").clicked()
                    && let Some(p) = rfd::FileDialog::new()
                        .set_file_name("fcs-gui-log.txt")
                        .save_file()
                {
                    let text: String = self.log.iter().map(|l| format!("{l}\n")).collect();
                    match std::fs::write(&p, text) {
                        Ok(()) => self.set_status(format!("Log saved to {}", p.display())),
                        Err(e) => self.set_status(format!("Cannot save the log: {e}")),
                    }
                }
                if ui.button("Clear log").clicked() {
                    self.log.clear();
                }
            });
            egui::ScrollArea::vertical()
                .max_height(160.0)
                .stick_to_bottom(true)
                .show_rows(ui, 16.0, self.log.len(), |ui, range| {
                    for l in self.log.range(range) {
                        ui.monospace(l);
                    }
                });
        });
    }

    fn trees_ui(&mut self, ui: &mut egui::Ui) {
        if self.tree.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label("No comparison yet: choose LEFT and RIGHT folders and press Compare.");
            });
            return;
        }
        // Narrow windows scroll the grid sideways instead of cutting its last columns off.
        egui::ScrollArea::horizontal()
            .auto_shrink(false)
            .show(ui, |ui| self.grid_ui(ui));
    }

    fn grid_ui(&mut self, ui: &mut egui::Ui) {
        let row_h = 20.0;
        let cursor_pos = if self.scroll_to_cursor {
            self.cursor
                .and_then(|c| self.tree.visible().iter().position(|&v| v as usize == c))
        } else {
            None
        };
        // Hideable columns: creation dates when compared or asked for, hashes when compared.
        let show_created = self.prefs.by_created || self.prefs.show_created;
        let show_hash = self.tree.content_compared;
        let mut table = TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .min_scrolled_height(0.0);
        for side in 0..2 {
            if side == 1 {
                // The middle column: the row's kind and its action.
                table = table.column(Column::exact(62.0));
            }
            table = table
                .column(Column::remainder().at_least(180.0).clip(true))
                .column(Column::initial(64.0).clip(true));
            if show_created {
                table = table.column(Column::initial(122.0).clip(true));
            }
            table = table.column(Column::initial(122.0).clip(true));
            if show_hash {
                table = table.column(Column::initial(50.0).clip(true));
            }
            table = table.column(Column::initial(150.0).at_least(80.0).clip(true));
        }
        if self.scroll_to_cursor
            && let Some(p) = cursor_pos
        {
            table = table.scroll_to_row(p, None);
            self.scroll_to_cursor = false;
        }
        let mut toggles: Vec<(usize, Pane, bool)> = Vec::new();
        let mut expand: Option<(usize, bool)> = None;
        let mut clicked: Option<(usize, Pane)> = None;
        let mut sort_click = None;
        let mut set_act = None;
        let mut row_cmd = None;
        let sort = self.sort;
        let tree = &self.tree;
        let notes = &self.file_notes;
        let failed = &self.failed;
        table
            .header(22.0, |mut h| {
                for pane in [Pane::Left, Pane::Right] {
                    if pane == Pane::Right {
                        h.col(|ui| {
                            ui.strong("Action").on_hover_text(
                                "What Synchronize does with each row: click to change it",
                            );
                        });
                    }
                    for (c, key) in [
                        (format!("{} Name", pane.name()), Some(SortKey::Name)),
                        ("Size".into(), Some(SortKey::Size)),
                        ("Date Created".into(), Some(SortKey::Created)),
                        ("Date Modified".into(), Some(SortKey::Modified)),
                        ("Hash".into(), None),
                        ("Status".into(), None),
                    ]
                    .into_iter()
                    .filter(|(c, _)| {
                        (show_created || c != "Date Created") && (show_hash || c != "Hash")
                    }) {
                        h.col(|ui| {
                            let Some(key) = key else {
                                ui.strong(c);
                                return;
                            };
                            let mark = match sort {
                                Some((k, p, desc)) if k == key && p == pane => {
                                    if desc {
                                        " ⏷"
                                    } else {
                                        " ⏶"
                                    }
                                }
                                _ => "",
                            };
                            let b = egui::Button::new(RichText::new(format!("{c}{mark}")).strong())
                                .frame(false);
                            if ui
                                .add(b)
                                .on_hover_text("Sort the items of every folder by this column")
                                .clicked()
                            {
                                let desc =
                                    matches!(sort, Some((k, p, false)) if k == key && p == pane);
                                sort_click = Some((key, pane, desc));
                            }
                        });
                    }
                }
            })
            .body(|body| {
                body.rows(row_h, tree.visible().len(), |mut row| {
                    let i = tree.visible()[row.index()] as usize;
                    let r = &tree.rows[i];
                    row.set_selected(Some(i) == self.cursor);
                    for pane in [Pane::Left, Pane::Right] {
                        if pane == Pane::Right {
                            row.col(|ui| {
                                if let Some(a) = act_cell(ui, tree, i) {
                                    set_act = Some((i, a));
                                }
                            });
                        }
                        let side = r.side(pane);
                        let (_, resp) = row.col(|ui| {
                            ui.add_space(r.depth as f32 * 14.0);
                            if r.is_dir() {
                                let open = tree.is_expanded(i);
                                let b = ui
                                    .add(
                                        egui::Button::new(if open { "⏷" } else { "⏵" })
                                            .small()
                                            .frame(false),
                                    )
                                    .on_hover_text(if open { "Collapse" } else { "Expand" });
                                if b.clicked() {
                                    expand = Some((i, !open));
                                }
                            } else {
                                ui.add_space(16.0);
                            }
                            let name = tree.display_name(i, pane);
                            if let Some(s) = side {
                                let icon = match s.kind {
                                    EntryKind::Dir => "📁",
                                    EntryKind::Symlink => "🔗",
                                    EntryKind::Special => "⚙",
                                    EntryKind::File => "",
                                };
                                if !icon.is_empty() {
                                    ui.label(RichText::new(icon).weak());
                                }
                            }
                            if side.is_some() {
                                let mut on = tree.is_ticked(i, pane);
                                let mut cb = ui.checkbox(&mut on, name);
                                if let Some(n) = notes.get(&r.rel) {
                                    cb = cb.on_hover_text(n.as_str());
                                } else if r.differs() && !r.diffs.is_empty() {
                                    cb = cb.on_hover_text(format!(
                                        "differs by: {}",
                                        r.diffs.names().join(", ")
                                    ));
                                }
                                if cb.changed() {
                                    toggles.push((i, pane, on));
                                }
                                cb.context_menu(|ui| {
                                    if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                        row_cmd = Some(c);
                                    }
                                });
                            } else {
                                ui.label(
                                    RichText::new(format!("{name} [MISSING]"))
                                        .color(Color32::GRAY)
                                        .italics(),
                                )
                                .context_menu(|ui| {
                                    if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                        row_cmd = Some(c);
                                    }
                                });
                            }
                        });
                        if resp.clicked() {
                            clicked = Some((i, pane));
                        }
                        resp.context_menu(|ui| {
                            if let Some(c) = row_menu::row_menu(ui, tree, i, pane) {
                                row_cmd = Some(c);
                            }
                        });
                        let dir = side.is_some_and(|s| s.kind == EntryKind::Dir);
                        // The cells that differ from the other side's.
                        let both = r.left.is_some() && r.right.is_some();
                        let size_differs = both && r.diffs.contains(engine::tree::Diffs::SIZE);
                        let modified_differs =
                            both && r.diffs.contains(engine::tree::Diffs::MODIFIED);
                        let created_differs =
                            both && r.diffs.contains(engine::tree::Diffs::CREATED);
                        row.col(|ui| {
                            match side {
                                // A link has no size of its own worth showing: where it points
                                // is read when the pointer rests on it.
                                Some(s) if s.kind == EntryKind::Symlink => {
                                    let root = match pane {
                                        Pane::Left => &tree.left_root,
                                        Pane::Right => &tree.right_root,
                                    };
                                    ui.label("(link)").on_hover_ui_at_pointer(|ui| {
                                        ui.label(match std::fs::read_link(root.join(&r.rel)) {
                                            Ok(t) => format!("points to {}", t.display()),
                                            Err(e) => format!("cannot read the link: {e}"),
                                        });
                                    });
                                }
                                Some(s) if !dir => {
                                    // Sizes right-aligned, in the kind's colour where they
                                    // are the difference.
                                    ui.with_layout(
                                        egui::Layout::right_to_left(egui::Align::Center),
                                        |ui| {
                                            ui.label(differs_text(
                                                format_bytes(s.size),
                                                size_differs,
                                                r.kind,
                                            ))
                                        },
                                    );
                                }
                                _ => {}
                            }
                        });
                        if show_created {
                            row.col(|ui| {
                                if let Some(s) = side {
                                    ui.label(differs_text(
                                        fmt_time(s.created),
                                        created_differs,
                                        r.kind,
                                    ));
                                }
                            });
                        }
                        row.col(|ui| {
                            if let Some(s) = side {
                                ui.label(differs_text(
                                    fmt_time(s.modified),
                                    modified_differs,
                                    r.kind,
                                ));
                            }
                        });
                        if show_hash {
                            row.col(|ui| {
                                if side.is_some() && !dir && i > 0 {
                                    let other = r.side(pane.other()).is_some();
                                    ui.label(if !other {
                                        "—"
                                    } else if r.diffs.contains(engine::tree::Diffs::CONTENT)
                                        || r.diffs.contains(engine::tree::Diffs::SIZE)
                                    {
                                        "differs"
                                    } else {
                                        "equal"
                                    });
                                }
                            });
                        }
                        row.col(|ui| {
                            if let Some(why) = failed.get(&r.rel) {
                                ui.label(
                                    RichText::new("✖ Failed")
                                        .color(Kind::TypeConflict.color())
                                        .strong(),
                                )
                                .on_hover_text(format!("The last run could not do this: {why}"));
                                return;
                            }
                            let st = r.status(pane);
                            let color = if side.is_none() {
                                Color32::GRAY
                            } else if r.kind == Kind::Equal && !r.inner_differs {
                                ui.visuals().text_color()
                            } else if r.kind == Kind::Equal {
                                Kind::Differs.color()
                            } else {
                                r.kind.color()
                            };
                            ui.label(RichText::new(st).color(color))
                                .on_hover_text(r.kind.meaning());
                        });
                    }
                });
            });
        for (i, pane, on) in toggles {
            self.tree.set_ticked(i, pane, on);
            self.cursor = Some(i);
            self.active = pane;
        }
        if let Some((i, open)) = expand {
            self.tree.set_expanded(i, open);
        }
        if let Some(c) = row_cmd {
            let ctx = ui.ctx().clone();
            self.run_row_command(&ctx, c);
        }
        if let Some((i, a)) = set_act {
            self.tree.set_act(i, a);
            self.cursor = Some(i);
        }
        if let Some((i, pane)) = clicked {
            self.cursor = Some(i);
            self.active = pane;
        }
        if let Some((key, pane, desc)) = sort_click {
            self.sort = Some((key, pane, desc));
            self.tree.sort(key, pane, desc);
            // Row indices moved: the cursor is found again by path on the next click.
            self.cursor = None;
        }
    }

    fn progress_ui(&mut self, ctx: &egui::Context) {
        let Some(job) = &self.job else { return };
        if job.kind == JobKind::Compare {
            return;
        }
        let title = match job.kind {
            JobKind::Copy => "Copying",
            JobKind::Sync => "Synchronizing",
            _ => "Deleting",
        };
        let p = &self.progress;
        let elapsed = job.started.elapsed();
        let verifies = self.settings.verify_policy != engine::VerifyPolicy::None;
        let mut cancel = false;
        egui::Modal::new(egui::Id::unique("progress")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading(title);
            if matches!(job.kind, JobKind::Copy | JobKind::Sync) {
                let in_flight_copied: u64 = p
                    .in_flight
                    .values()
                    .map(|f| {
                        if f.phase == Phase::Copy {
                            f.done
                        } else {
                            f.size
                        }
                    })
                    .sum();
                let done = (p.bytes_done + in_flight_copied).min(p.bytes_total);
                let (work, work_total) = p.work(verifies);
                let overall = if work_total > 0 {
                    work as f32 / work_total as f32
                } else if p.files_total > 0 {
                    p.files_done as f32 / p.files_total as f32
                } else {
                    0.0
                };
                let secs = elapsed.as_secs_f64();
                let pace = if secs >= 1.0 && work > 0 {
                    let rate = work as f64 / secs;
                    let left = (work_total - work) as f64 / rate;
                    format!(
                        " — {}/s, about {} left",
                        format_bytes((done as f64 / secs) as u64),
                        if left < 60.0 {
                            format!("{left:.0} s")
                        } else {
                            format!("{:.0} min", (left / 60.0).ceil())
                        }
                    )
                } else {
                    String::new()
                };
                // Parallel workers: files finish out of order, so the count says how many are
                // under way too (the bar, by bytes, moves before the first one finishes).
                let finished = p.files_done
                    + if job.kind == JobKind::Sync {
                        p.deleted
                    } else {
                        0
                    };
                let flying = if p.in_flight.is_empty() {
                    String::new()
                } else {
                    format!(" ({} in progress)", p.in_flight.len())
                };
                ui.label(format!(
                    "Overall: {finished} of {} done{flying}, {} of {}{pace}",
                    plural(
                        p.files_total,
                        if job.kind == JobKind::Sync {
                            "item"
                        } else {
                            "file"
                        }
                    ),
                    format_bytes(done),
                    format_bytes(p.bytes_total)
                ));
                ui.add(egui::ProgressBar::new(overall).show_percentage());
                match p.current.and_then(|c| p.in_flight.get(&c)) {
                    Some(f) => {
                        let phase = match f.phase {
                            Phase::Copy => "copying",
                            Phase::Verify => "verifying",
                        };
                        ui.label(format!(
                            "Current file: {} — {phase} {} of {}",
                            f.name,
                            format_bytes(f.done),
                            format_bytes(f.total)
                        ));
                        let frac = if f.total > 0 {
                            f.done as f32 / f.total as f32
                        } else {
                            1.0
                        };
                        ui.add(egui::ProgressBar::new(frac).show_percentage());
                    }
                    None => {
                        ui.label("Current file: —");
                        ui.add(egui::ProgressBar::new(0.0));
                    }
                }
            } else {
                let frac = if p.files_total > 0 {
                    p.deleted as f32 / p.files_total as f32
                } else {
                    0.0
                };
                ui.label(format!("Deleted {} of {}", p.deleted, p.files_total));
                ui.add(egui::ProgressBar::new(frac).show_percentage());
            }
            ui.label(format!("Elapsed: {:.0} s", elapsed.as_secs_f64()));
            ui.separator();
            if job.cancel.is_cancelled() {
                ui.label("Cancelling …");
            } else if ui.button("Cancel").clicked() {
                cancel = true;
            }
        });
        if cancel {
            self.cancel();
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

    fn orphans_ui(&self, ctx: &egui::Context, o: &mut Orphans, action: &mut Option<bool>) {
        let tree = &self.tree;
        let root = match o.pane {
            Pane::Left => &tree.left_root,
            Pane::Right => &tree.right_root,
        };
        let wildcard = compile_wildcard(&o.filter).ok().flatten();
        let matches = |k: usize, o: &Orphans| {
            wildcard
                .as_ref()
                .is_none_or(|g| g.is_match(tree.rows[o.rows[k]].name.to_lowercase()))
        };
        if o.listed_for.as_deref() != Some(o.filter.as_str()) {
            // Once per change of the filter, not per frame: the list scrolls through the
            // matching rows only, however many orphans there are.
            o.listed = (0..o.rows.len())
                .filter(|&k| tree.rows[o.rows[k]].is_dir() || matches(k, o))
                .collect();
            o.listed_for = Some(o.filter.clone());
        }
        egui::Modal::new(egui::Id::unique("orphans")).show(ctx, |ui| {
            ui.set_width(640.0);
            ui.heading(format!("Delete Orphans — {}-only items", o.pane.name()));
            ui.label(format!("In {}", root.display()));
            ui.horizontal(|ui| {
                ui.checkbox(&mut o.dry_run, "DRY RUN (delete nothing)");
                ui.radio_value(&mut o.permanent, false, trash_name());
                ui.radio_value(&mut o.permanent, true, "Delete permanently");
            });
            ui.horizontal(|ui| {
                ui.label("Filter:");
                ui.add(
                    egui::TextEdit::singleline(&mut o.filter)
                        .desired_width(160.0)
                        .hint_text("*.tmp"),
                );
                if ui.button("Select All").clicked() {
                    // With a filter, only items whose own name matches: a listed folder is
                    // there to lead to its matching files, not to be deleted whole.
                    for k in 0..o.rows.len() {
                        if matches(k, o) && o.access(k, tree, root) == Access::Ok {
                            o.ticked[k] = true;
                        }
                    }
                    o.recount();
                }
                if ui.button("Clear All").clicked() {
                    o.ticked.iter_mut().for_each(|t| *t = false);
                    o.recount();
                }
            });
            let mut toggled = None;
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .auto_shrink([false, true])
                .show_rows(ui, 20.0, o.listed.len(), |ui, range| {
                    for pos in range {
                        let k = o.listed[pos];
                        let access = o.access(k, tree, root);
                        ui.horizontal(|ui| {
                            let mut on = o.ticked[k];
                            let label = tree.rows[o.rows[k]].rel.display().to_string();
                            let ok = access == Access::Ok;
                            if ui
                                .add_enabled(ok, egui::Checkbox::new(&mut on, label))
                                .changed()
                            {
                                toggled = Some((k, on));
                            }
                            if !ok {
                                ui.label(
                                    RichText::new(access.label())
                                        .color(Color32::from_rgb(220, 90, 60)),
                                );
                            }
                        });
                    }
                });
            if let Some((k, on)) = toggled {
                // The same rules as the trees: a folder takes its contents along; unticking
                // clears the item, its ancestors and its descendants. `rows` is in tree order,
                // so a subtree is one run of it, found by binary search.
                let start = o.rows[k];
                let end = tree.rows[start].end as usize;
                let inside = k..o.rows.partition_point(|&r| r < end);
                for j in inside {
                    if !on {
                        o.ticked[j] = false;
                    } else if o.access(j, tree, root) == Access::Ok {
                        o.ticked[j] = true;
                    }
                }
                if !on {
                    let mut p = tree.rows[start].parent;
                    while let Some(a) = p {
                        if let Ok(j) = o.rows.binary_search(&(a as usize)) {
                            o.ticked[j] = false;
                        }
                        p = tree.rows[a as usize].parent;
                    }
                }
                o.recount();
            }
            let n = o.ticked_count;
            ui.separator();
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(
                        n > 0,
                        egui::Button::new(format!("Delete {}…", plural(n as u64, "item"))),
                    )
                    .clicked()
                {
                    *action = Some(true);
                }
                if ui.button("Close").clicked() {
                    *action = Some(false);
                }
            });
        });
    }
}

/// Whether an orphan can be deleted by us: readable metadata, not open in another program
/// (Windows), and neither it nor its folder read-only.
fn check_access(p: &Path) -> Access {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return Access::NoAccess;
    };
    if md.is_dir() && std::fs::read_dir(p).is_err() {
        return Access::NoAccess;
    }
    // Files and links only: a folder is "open" whenever a file manager watches it, which does
    // not stop its delete; its contents are checked one by one. A check that fails for another
    // reason leaves the verdict to the checks below and to the delete's own error.
    if !md.is_dir() && engine::access::in_use(p).unwrap_or(false) {
        return Access::InUse;
    }
    let parent_ro = p
        .parent()
        .and_then(|d| std::fs::metadata(d).ok())
        .is_some_and(|m| m.permissions().readonly());
    if md.permissions().readonly() || parent_ro {
        return Access::ReadOnly;
    }
    Access::Ok
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

/// A cell's text, strong and in the row kind's colour when it is where the two sides differ.
fn differs_text(text: String, differs: bool, kind: Kind) -> RichText {
    let t = RichText::new(text);
    if differs {
        t.color(kind.color()).strong()
    } else {
        t
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

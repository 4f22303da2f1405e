//! A journaled run, as every front end drives it: lock the target, finish an interrupted run of
//! the same job, then (after the caller compared and planned) journal the plan, sweep stale temps,
//! create the target, execute, and close the journal.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use engine::{CancelToken, NullReporter, Settings};
//! # use engine::journal::RunKind;
//! # use engine::tree::{self, Job};
//! # fn plan() -> tree::Plan { unimplemented!() }
//! let plan = plan(); // compare_trees + Plan::build
//! let mut job = Job::open(RunKind::Sync, &plan.source_root, &plan.target_root)?;
//! if let Some(run) = job.interrupted()? {
//!     job.resume(&run, 8, Arc::new(NullReporter), CancelToken::new())?;
//!     // … compare and plan again: the resume changed the target
//! }
//! let summary = job.run(&plan, Settings::default(), 8, Arc::new(NullReporter), CancelToken::new(), None, &[])?;
//! # Ok::<(), engine::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::copy::Copier;
use crate::error::{Code, Error};
use crate::events::{CancelToken, Reporter};
use crate::journal::{Journal, RunKind, StoredRun, TargetLock};
use crate::manifest::{Manifest, algo_for};
use crate::settings::{DeleteMode, Settings};
use crate::tree::execute::{ExecOptions, FailedItem, Summary, execute_with};
use crate::tree::plan::Plan;
use crate::tree::resume::{Resumed, resume, sweep_temps};

/// One job (kind + source + target) holding its target's lock and its journal.
#[derive(Debug)]
pub struct Job {
    kind: RunKind,
    journal: Journal,
    _lock: TargetLock,
}

impl Job {
    /// Locks `target` (one run at a time per target) and opens the job's journal in the data
    /// folder. Both roots as [`crate::tree::check_roots`] returns them (canonical); `target` may
    /// not exist yet.
    pub fn open(kind: RunKind, source: &Path, target: &Path) -> Result<Job, Error> {
        let lock = TargetLock::acquire(target)?;
        let dir = Journal::default_dir().ok_or_else(|| {
            Error::new(
                Code::JournalOpen,
                target,
                "no local data folder for the journal (set FCS_DATA_DIR)",
            )
        })?;
        let journal = Journal::open(&Journal::job_path(&dir, kind, source, target))?;
        Ok(Job {
            kind,
            journal,
            _lock: lock,
        })
    }

    /// An interrupted run of this job (killed, cancelled, or stopped by a journal failure).
    pub fn interrupted(&self) -> Result<Option<StoredRun>, Error> {
        self.journal.unfinished()
    }

    /// Finishes an interrupted run of this job (see [`crate::tree::resume`]).
    pub fn resume(
        &mut self,
        run: &StoredRun,
        workers: usize,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
    ) -> Result<Resumed, Error> {
        resume(&mut self.journal, run, workers, reporter, cancel, None)
    }

    /// Runs `plan`: sweeps `target_temps` (our temps found by the target's scan) that no
    /// unfinished run will finish, journals the plan, creates the target folder, executes,
    /// writes the manifest and closes the journal. Per-file failures are in the summary; an
    /// `Err` means nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        plan: &Plan,
        settings: Settings,
        workers: usize,
        reporter: Arc<dyn Reporter>,
        cancel: CancelToken,
        manifest: Option<&Path>,
        target_temps: &[PathBuf],
    ) -> Result<Summary, Error> {
        let target = &plan.target_root;
        let manifest = match manifest {
            Some(p) => Some(Manifest::create(p, algo_for(p, settings.hash))?),
            None => None,
        };
        if !target_temps.is_empty() {
            let keep = Journal::default_dir()
                .map(|d| Journal::unfinished_tags(&d))
                .unwrap_or_default();
            let swept = sweep_temps(target_temps, &keep);
            if swept > 0 {
                reporter.report(&crate::events::Event::Notice {
                    id: 0,
                    path: target.clone(),
                    notice: crate::events::Notice {
                        kind: "temps_swept",
                        message: format!("removed {swept} temp file(s) left by an interrupted run"),
                    },
                });
            }
        }
        let delete_mode = settings.delete_mode;
        let copier = Copier::new(settings.clone(), reporter, cancel)
            .with_trash_replaced(delete_mode == DeleteMode::Trash);
        self.journal
            .begin(self.kind, &settings, copier.run_tag(), plan)?;
        // The target folder is created only once the journal knows the run (write-ahead): a run
        // killed earlier leaves nothing behind, so running it again is the same job.
        if !target.exists() {
            std::fs::create_dir_all(target).map_err(|e| {
                Error::io(
                    Code::TreeMkdir,
                    target,
                    "cannot create the target folder",
                    e,
                )
            })?;
        }
        let exec = ExecOptions {
            journal: Some(&self.journal),
            move_sources: self.kind == RunKind::Move,
            manifest: manifest.as_ref(),
            ..ExecOptions::new(workers, delete_mode)
        };
        let mut summary = execute_with(plan, &copier, &exec);
        let state = summary.journal_state();
        let mut fail = |e: Error| {
            summary.failed += 1;
            summary.errors.push(FailedItem {
                path: e.path.clone(),
                code: e.code,
                message: e.to_string(),
            });
        };
        if let Err(e) = self.journal.finish(state) {
            fail(e);
        }
        if let Some(m) = &manifest
            && let Err(e) = m.finish()
        {
            fail(e);
        }
        Ok(summary)
    }
}

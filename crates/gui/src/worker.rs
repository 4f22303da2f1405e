//! Background jobs: a compare, a copy or a delete runs on its own thread and talks to the UI
//! only through messages. The engine's events go through a [`Reporter`] that queues them and
//! wakes the UI (`request_repaint`), so the UI thread never blocks and repaints on progress.
//! Every job gets a fresh [`CancelToken`]: cancelling one never leaks into the next.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use engine::journal::RunKind;
use engine::tree::{self, Comparison, Criteria, Filter, Plan, Summary};
use engine::{CancelToken, Copier, DeleteMode, Event, Reporter, Settings};

/// What a job is doing (for the progress dialog's title and the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Compare,
    Copy,
    Delete,
}

/// A message from a job to the UI.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
    /// The compare finished (possibly cancelled).
    Compared(Box<Comparison>, Duration),
    /// A copy or delete run finished.
    Ran(Summary),
    /// The job could not start (bad roots, plan refused …).
    Failed(String),
}

/// Queues engine events for the UI and wakes it. Cheap: one channel send per event.
struct UiReporter {
    tx: Sender<Msg>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Reporter for UiReporter {
    fn report(&self, event: &Event) {
        // A closed channel means the UI is gone (or dropped the job): nothing to tell.
        let _ = self.tx.send(Msg::Event(event.clone()));
        (self.wake)();
    }
}

/// A running job: its messages and its cancel token.
pub struct Job {
    pub kind: JobKind,
    pub cancel: CancelToken,
    pub rx: Receiver<Msg>,
    pub started: Instant,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("kind", &self.kind).finish()
    }
}

fn spawn(
    kind: JobKind,
    wake: Arc<dyn Fn() + Send + Sync>,
    work: impl FnOnce(&UiReporter, &CancelToken) -> Msg + Send + 'static,
) -> Job {
    let (tx, rx) = channel();
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let name = format!("fcs-{kind:?}").to_lowercase();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let rep = UiReporter {
            tx: tx.clone(),
            wake: wake.clone(),
        };
        let out = work(&rep, &c);
        let _ = tx.send(out);
        wake();
    });
    if let Err(e) = spawned {
        // Without a thread there is no job: report it through a channel of its own.
        let (tx, rx) = channel();
        let _ = tx.send(Msg::Failed(format!("cannot start a worker thread: {e}")));
        return Job {
            kind,
            cancel,
            rx,
            started: Instant::now(),
        };
    }
    Job {
        kind,
        cancel,
        rx,
        started: Instant::now(),
    }
}

/// Walker threads for a compare, as `fcs` chooses them: the `workers` setting or a default
/// from the cores and the target's drive kind.
fn threads(settings: &Settings, target: &std::path::Path) -> usize {
    match settings.workers {
        0 => tree::default_workers(target),
        n => n as usize,
    }
}

/// Scans both roots and compares them, as `fcs compare` does.
pub fn start_compare(
    left: PathBuf,
    right: PathBuf,
    criteria: Criteria,
    settings: Settings,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Job {
    spawn(JobKind::Compare, wake, move |rep, cancel| {
        let started = Instant::now();
        if let Err(e) = tree::check_roots(&left, &right, false) {
            return Msg::Failed(e.to_string());
        }
        let filter = match Filter::new(&[], &[], None, false) {
            Ok(f) => f.with_follow_symlinks(settings.follow_symlinks),
            Err(e) => return Msg::Failed(e.to_string()),
        };
        let cmp = tree::compare_trees(
            &left,
            &right,
            &filter,
            criteria,
            settings.timestamp_tolerance,
            threads(&settings, &right),
            rep,
            cancel,
        );
        Msg::Compared(Box::new(cmp), started.elapsed())
    })
}

/// Executes a copy plan as `fcs sync` does: a journaled run (the same job, lock and journal as
/// `fcs sync LEFT RIGHT`), so a copy interrupted by a crash is finished by the next copy of the
/// same folders, from the GUI or the command line.
pub fn start_copy(plan: Plan, settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) -> Job {
    spawn(JobKind::Copy, wake.clone(), move |rep, cancel| {
        let n = threads(&settings, &plan.target_root);
        let reporter: Arc<dyn Reporter> = Arc::new(UiReporter {
            tx: rep.tx.clone(),
            wake,
        });
        // The job is keyed by the canonical roots, as the command line keys it.
        let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
        let mut job = match tree::Job::open(
            RunKind::Sync,
            &canon(&plan.source_root),
            &canon(&plan.target_root),
        ) {
            Ok(j) => j,
            Err(e) => return Msg::Failed(e.to_string()),
        };
        match job.interrupted() {
            Ok(Some(run)) => {
                if let Err(e) = job.resume(&run, n, reporter.clone(), cancel.clone()) {
                    return Msg::Failed(e.to_string());
                }
            }
            Ok(None) => {}
            Err(e) => return Msg::Failed(e.to_string()),
        }
        match job.run(&plan, settings, n, reporter, cancel.clone(), None, &[]) {
            Ok(summary) => Msg::Ran(summary),
            Err(e) => Msg::Failed(e.to_string()),
        }
    })
}

/// Executes a delete-only plan (Delete Orphans) with the chosen delete mode.
pub fn start_delete(
    plan: Plan,
    settings: Settings,
    mode: DeleteMode,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Job {
    spawn(JobKind::Delete, wake.clone(), move |rep, cancel| {
        let reporter: Arc<dyn Reporter> = Arc::new(UiReporter {
            tx: rep.tx.clone(),
            wake,
        });
        let copier = Copier::new(settings, reporter, cancel.clone());
        Msg::Ran(tree::execute(&plan, &copier, 1, mode))
    })
}

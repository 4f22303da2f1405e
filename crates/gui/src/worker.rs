//! Background jobs: a compare, a copy or a delete runs on its own thread and talks to the UI
//! only through messages. The engine's events go through a [`Reporter`] that queues them and
//! wakes the UI (`request_repaint`), so the UI thread never blocks and repaints on progress.
//! Every job gets a fresh [`CancelToken`]: cancelling one never leaks into the next.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use engine::tree::{self, Comparison, Criteria, Filter, Run, RunKind, Summary};
use engine::{CancelToken, DeleteMode, Event, Reporter, Settings};

/// What a job is doing (for the progress dialog's title and the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Compare,
    Copy,
    Delete,
    /// A sync of the middle column's actions: up to one run per direction.
    Sync,
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

/// Scans both roots and compares them, as `fcs compare` does.
pub fn start_compare(
    left: PathBuf,
    right: PathBuf,
    criteria: Criteria,
    filter: Filter,
    settings: Settings,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Job {
    spawn(JobKind::Compare, wake, move |rep, cancel| {
        let started = Instant::now();
        // The window's remote actions (no trash, nothing read from the server as a source) are
        // made for the RIGHT side; `fcs compare` takes a remote location on either.
        if engine::remote::is_remote(&left) && !engine::remote::is_remote(&right) {
            return Msg::Failed(
                engine::Error::new(
                    engine::Code::RemoteUnsupported,
                    &left,
                    "the window takes a remote location in the RIGHT field: use ⬌ Swap sides",
                )
                .to_string(),
            );
        }
        match tree::compare_roots(&left, &right, &settings, filter, criteria, rep, cancel) {
            Ok(cmp) => Msg::Compared(Box::new(cmp), started.elapsed()),
            Err(e) => Msg::Failed(e.to_string()),
        }
    })
}

/// What a copy or a delete works on: the roots, the comparison the user saw, and the items
/// ticked (paths relative to the roots).
#[derive(Debug)]
pub struct Selection {
    pub source: PathBuf,
    pub target: PathBuf,
    pub comparison: Arc<Comparison>,
    pub items: Vec<PathBuf>,
}

/// Copies the ticked items as `fcs sync` would copy them: one journaled run (the same job, lock
/// and journal as `fcs sync SOURCE TARGET`), so a copy interrupted by a crash is finished by the
/// next copy of the same folders, from the GUI or the command line. When an interrupted run is
/// finished first, the plan is made afresh after it, never from the comparison it changed.
pub fn start_copy(sel: Selection, settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) -> Job {
    spawn(JobKind::Copy, wake.clone(), move |rep, cancel| {
        let reporter: Arc<dyn Reporter> = Arc::new(UiReporter {
            tx: rep.tx.clone(),
            wake,
        });
        let criteria = sel.comparison.criteria;
        let run = Run::new(RunKind::Sync, &sel.source, &sel.target, &settings)
            .criteria(criteria)
            .comparison(sel.comparison);
        let mut prepared = match run.prepare(reporter, cancel.clone()) {
            Ok(p) => p,
            Err(e) => return Msg::Failed(e.to_string()),
        };
        prepared.select(&sel.items);
        match prepared.execute() {
            Ok(summary) => Msg::Ran(summary),
            Err(e) => Msg::Failed(e.to_string()),
        }
    })
}

/// Runs the middle column's actions: one engine run per direction (left → right first), each
/// a journaled `fcs sync` of the two folders narrowed to its rows' copies and deletes. `force`
/// is the user's confirmation of a mirror the mass-deletion guard stopped. A cancel stops the
/// run in progress and skips the next; the summaries are reported as one.
pub fn start_sync(
    legs: Vec<crate::sync::Leg>,
    roots: [PathBuf; 2],
    comparison: Arc<Comparison>,
    settings: Settings,
    force: bool,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Job {
    spawn(JobKind::Sync, wake.clone(), move |rep, cancel| {
        let reporter: Arc<dyn Reporter> = Arc::new(UiReporter {
            tx: rep.tx.clone(),
            wake,
        });
        let criteria = comparison.criteria;
        let mut total = Summary::default();
        for leg in legs {
            if cancel.is_cancelled() {
                total.cancelled = true;
                break;
            }
            let (src, dst) = match leg.from {
                crate::model::Pane::Left => (&roots[0], &roots[1]),
                crate::model::Pane::Right => (&roots[1], &roots[0]),
            };
            // A run plans from its own side of the comparison: the second leg's comparison is
            // the first one's, whose changes are on the other side (the two legs never touch
            // the same row).
            // A remote location has no trash: the preview said its deletes are for good.
            let mut settings = settings.clone();
            if engine::remote::is_remote(dst) {
                settings.delete_mode = DeleteMode::Permanent;
            }
            let run = Run::new(RunKind::Sync, src, dst, &settings)
                .criteria(criteria)
                .comparison(comparison.clone())
                .delete(!leg.deletes.is_empty())
                .force(force);
            let mut prepared = match run.prepare(reporter.clone(), cancel.clone()) {
                Ok(p) => p,
                Err(e) => {
                    if total == Summary::default() {
                        return Msg::Failed(e.to_string());
                    }
                    total.failed += 1;
                    total.errors.push(engine::tree::FailedItem {
                        path: dst.clone(),
                        code: e.code,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            prepared.narrow(&leg.copies, &leg.deletes);
            match prepared.execute() {
                Ok(s) => total.absorb(s),
                Err(e) => {
                    total.failed += 1;
                    total.errors.push(engine::tree::FailedItem {
                        path: dst.clone(),
                        code: e.code,
                        message: e.to_string(),
                    });
                }
            }
        }
        Msg::Ran(total)
    })
}

/// Deletes the ticked orphans of `sel.target` with the chosen delete mode (Delete Orphans): the
/// deletes of a mirror from the other side, narrowed to the ticked items. Not journaled: a
/// cancelled deletion is never finished later by a resume.
pub fn start_delete(
    sel: Selection,
    settings: Settings,
    mode: DeleteMode,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Job {
    spawn(JobKind::Delete, wake.clone(), move |rep, cancel| {
        let reporter: Arc<dyn Reporter> = Arc::new(UiReporter {
            tx: rep.tx.clone(),
            wake,
        });
        let mut settings = settings;
        settings.delete_mode = mode;
        let criteria = sel.comparison.criteria;
        // The user ticked each item in the dialog and confirmed: the mass-delete guard is for a
        // mistyped mirror source, not for an explicit list.
        let run = Run::new(RunKind::Sync, &sel.source, &sel.target, &settings)
            .criteria(criteria)
            .comparison(sel.comparison)
            .delete(true)
            .force(true)
            .journaled(false);
        let mut prepared = match run.prepare(reporter, cancel.clone()) {
            Ok(p) => p,
            Err(e) => return Msg::Failed(e.to_string()),
        };
        prepared.select_deletes(&sel.items);
        match prepared.execute() {
            Ok(summary) => Msg::Ran(summary),
            Err(e) => Msg::Failed(e.to_string()),
        }
    })
}

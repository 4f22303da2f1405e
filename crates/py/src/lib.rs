//! `foldercomparesync._native`: the engine for Python. A thin layer: every call takes plain
//! values (paths, a settings list, an options JSON), runs the engine with the GIL released, and
//! hands back JSON that the pure-Python package (`python/foldercomparesync`) turns into the
//! objects its callers use. Engine errors become the package's exception classes
//! (`foldercomparesync.errors`), chosen by the code's family.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use engine::tree::{Criteria, Filter, Run, RunKind};
use engine::{CancelToken, Copier, Event, Reporter, Settings};
use pyo3::prelude::*;
use serde_json::{Value, json};

/// A cancel flag shared with a running call; `cancel()` from any thread stops it within one
/// window or chunk. Cancelling is sticky: a new operation takes a new one.
#[pyclass(frozen, module = "foldercomparesync._native")]
#[derive(Debug, Default)]
struct Cancel(CancelToken);

#[pymethods]
impl Cancel {
    #[new]
    fn new() -> Cancel {
        Cancel::default()
    }

    /// Stops the call holding this flag at its next window or chunk.
    fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// Hands each engine event, as JSON text, to a Python callable. The engine calls it from its
/// own threads: the GIL is taken for the call only. A callback that raises does not stop the
/// copy (the exception is reported as unraisable); Ctrl-C in the main thread cancels the run
/// cleanly and is raised once the engine has stopped.
struct PyReporter {
    callback: Option<Py<PyAny>>,
    cancel: CancelToken,
    interrupt: Mutex<Option<PyErr>>,
}

impl PyReporter {
    fn new(callback: Option<Py<PyAny>>, cancel: &Cancel) -> Arc<PyReporter> {
        Arc::new(PyReporter {
            callback,
            cancel: cancel.0.clone(),
            interrupt: Mutex::new(None),
        })
    }

    /// Cancels the run; `e` is raised once the engine has stopped.
    fn interrupt_with(&self, e: PyErr) {
        self.cancel.cancel();
        let mut slot = self.interrupt.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(e);
    }

    /// The KeyboardInterrupt (or other signal exception) caught during the run, if any.
    fn take_interrupt(&self) -> Option<PyErr> {
        self.interrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl std::fmt::Debug for PyReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyReporter").finish_non_exhaustive()
    }
}

impl Reporter for PyReporter {
    fn report(&self, event: &Event) {
        let text = self
            .callback
            .as_ref()
            .and_then(|_| serde_json::to_string(event).ok());
        Python::attach(|py| {
            if let (Some(cb), Some(text)) = (&self.callback, text)
                && let Err(e) = cb.call1(py, (text,))
            {
                // A KeyboardInterrupt or SystemExit raised in the callback (Ctrl-C arrives
                // there when the callback runs in the main thread) stops the run; an ordinary
                // exception is a bug of the callback and does not.
                if e.is_instance_of::<pyo3::exceptions::PyException>(py) {
                    e.write_unraisable(py, Some(cb.bind(py)));
                } else {
                    self.interrupt_with(e);
                }
            }
            // Signals are only seen by the main thread, and only while it runs Python: an
            // event in the main thread is the moment to notice a Ctrl-C.
            if let Err(e) = py.check_signals() {
                self.interrupt_with(e);
            }
        });
    }
}

/// The engine error as the package's exception (`foldercomparesync.errors`): the class of its
/// code's family, carrying code, message, path, OS error number and advice.
fn to_py(py: Python<'_>, e: &engine::Error) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let errno = e.source.as_ref().and_then(std::io::Error::raw_os_error);
        let exc = py
            .import("foldercomparesync.errors")?
            .getattr("_from_engine")?
            .call1((
                e.code.as_str(),
                e.message.clone(),
                e.path.to_string_lossy().into_owned(),
                errno,
                e.code.hint(),
                e.to_string(),
                serde_json::to_value(e.temp_fate())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
                e.temp_kept
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ))?;
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|err| err)
}

/// Settings from the defaults (not the user's config file: a library must not change behaviour
/// with the machine) and the caller's `(key, value)` pairs, each explicit.
fn settings_from(pairs: &[(String, String)]) -> Result<Settings, engine::Error> {
    let mut s = Settings::default();
    for (k, v) in pairs {
        s.choose(k, v)?;
    }
    Ok(s)
}

/// Runs `f` without the GIL, then raises a Ctrl-C caught meanwhile, else maps its error.
fn detached<T: Send>(
    py: Python<'_>,
    reporter: &PyReporter,
    f: impl FnOnce() -> Result<T, engine::Error> + Send,
) -> PyResult<T> {
    let result = py.detach(f);
    if let Some(e) = reporter.take_interrupt() {
        return Err(e);
    }
    result.map_err(|e| to_py(py, &e))
}

fn json_text(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("cannot encode: {e}")))
}

/// The engine's per-file copier, kept across the files of one operation (its drive-kind cache
/// and one-per-run notices go with it), with the cancel flag and event sink it was made with.
#[pyclass(frozen, module = "foldercomparesync._native")]
struct FileCopier {
    copier: Copier,
    reporter: Arc<PyReporter>,
    moves: bool,
}

impl std::fmt::Debug for FileCopier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCopier")
            .field("moves", &self.moves)
            .finish_non_exhaustive()
    }
}

#[pymethods]
impl FileCopier {
    /// A copier with these settings (checked: `ConfigError` names a bad one), stopping when
    /// `cancel` is cancelled, sending every event to `on_event`. With `moves`, the settings
    /// are a move's (every file verified) and `copy` moves.
    #[new]
    #[pyo3(signature = (settings, cancel, on_event=None, moves=false))]
    fn new(
        py: Python<'_>,
        settings: Vec<(String, String)>,
        cancel: &Cancel,
        on_event: Option<Py<PyAny>>,
        moves: bool,
    ) -> PyResult<FileCopier> {
        let mut s = settings_from(&settings).map_err(|e| to_py(py, &e))?;
        if moves {
            s = s.for_move().map_err(|e| to_py(py, &e))?;
        }
        let reporter = PyReporter::new(on_event, cancel);
        let copier = Copier::new(s, reporter.clone(), cancel.0.clone());
        Ok(FileCopier {
            copier,
            reporter,
            moves,
        })
    }

    /// Copies (or moves) the regular file `src` to `dst` (a file path, or an existing folder to
    /// copy into): temp next to the target, verified per the settings, committed by one
    /// rename. Returns the report as JSON; raises the error's class on failure (the target is
    /// as it was). The GIL is released meanwhile.
    fn copy(&self, py: Python<'_>, src: PathBuf, dst: PathBuf) -> PyResult<String> {
        let r = detached(py, &self.reporter, || {
            if self.moves {
                self.copier.move_file(&src, &dst)
            } else {
                self.copier.copy_file(&src, &dst)
            }
        })?;
        json_text(&json!({
            "src": r.src.to_string_lossy(),
            "dst": r.dst.to_string_lossy(),
            "size": r.size,
            "strategy": r.strategy.to_string(),
            "verified": r.verified,
            "verify_mode": r.decision.verify.as_str(),
            "hash_algorithm": self.copier.settings().hash.as_str(),
            "digest": r.digest,
            "decision": r.decision.to_string(),
            "perf": r.perf,
            "perf_line": r.perf.to_string(),
            "notices": r.notices,
        }))
    }
}

/// The options of a tree call, as the Python layer sends them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct TreeOptions {
    settings: Vec<(String, String)>,
    include: Vec<String>,
    exclude: Vec<String>,
    name: Option<String>,
    exclude_vcs: bool,
    by: Option<String>,
    delete: bool,
    update: bool,
    force: bool,
    dry_run: bool,
    manifest: Option<PathBuf>,
}

impl TreeOptions {
    fn parse(text: &str) -> PyResult<TreeOptions> {
        serde_json::from_str(text)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("bad options: {e}")))
    }

    fn filter(&self) -> Result<Filter, engine::Error> {
        Filter::new(
            &self.include,
            &self.exclude,
            self.name.as_deref(),
            self.exclude_vcs,
        )
    }

    fn criteria(&self) -> Result<Criteria, engine::Error> {
        match &self.by {
            Some(by) => Criteria::parse(by),
            None => Ok(Criteria::default()),
        }
    }
}

/// A time as POSIX seconds (what `os.stat().st_mtime` gives), or null.
fn posix_time(t: Option<std::time::SystemTime>) -> Value {
    let secs = |t: std::time::SystemTime| match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    t.map(|t| Value::from(secs(t))).unwrap_or(Value::Null)
}

/// What could not be read, as the Python layer's `Issue`s: the scans' issues (warnings marked)
/// and the files whose content could not be compared.
fn issues_json<'a>(
    scan: impl Iterator<Item = &'a engine::tree::ScanIssue>,
    compare: &[engine::tree::CompareIssue],
) -> Vec<Value> {
    scan.map(|i| {
        json!({"path": i.path.to_string_lossy(), "code": i.kind.code().as_str(),
               "message": i.message, "warning": i.is_warning()})
    })
    .chain(compare.iter().map(|i| {
        json!({"path": i.rel.to_string_lossy(), "code": engine::Code::ScanRead.as_str(),
               "message": i.message, "warning": false})
    }))
    .collect()
}

/// Compares two folder trees; returns every item (path, category, differences, both sides'
/// kind, size and times), the scan issues, name twins and the counts, as JSON.
#[pyfunction]
#[pyo3(signature = (left, right, options, cancel, on_event=None))]
fn compare(
    py: Python<'_>,
    left: PathBuf,
    right: PathBuf,
    options: &str,
    cancel: &Cancel,
    on_event: Option<Py<PyAny>>,
) -> PyResult<String> {
    let opts = TreeOptions::parse(options)?;
    let reporter = PyReporter::new(on_event, cancel);
    let rep = reporter.clone();
    let token = cancel.0.clone();
    let cmp = detached(py, &reporter, move || {
        let settings = settings_from(&opts.settings)?;
        engine::tree::compare_roots(
            &left,
            &right,
            &settings,
            opts.filter()?,
            opts.criteria()?,
            &*rep,
            &token,
        )
    })?;
    let side = |e: Option<&engine::tree::Entry>| {
        e.map(|e| {
            json!({
                "kind": e.kind,
                "size": e.size,
                "modified": posix_time(e.modified),
                "created": posix_time(e.created),
            })
        })
    };
    let items: Vec<Value> = cmp
        .items
        .iter()
        .map(|it| {
            json!({
                "path": cmp.rel(it).to_string_lossy(),
                "category": it.category,
                "diffs": it.diffs,
                "left": side(cmp.left_entry(it)),
                "right": side(cmp.right_entry(it)),
            })
        })
        .collect();
    let issues = issues_json(cmp.left.issues.iter().chain(&cmp.right.issues), &cmp.issues);
    let c = cmp.counts();
    json_text(&json!({
        "items": items,
        "issues": issues,
        "twins": cmp.twins,
        "identical": cmp.identical(),
        "cancelled": cmp.cancelled,
        "counts": {"left_only": c[0], "right_only": c[1], "left_newer": c[2],
                   "right_newer": c[3], "different": c[4], "metadata_only": c[5], "same": c[6]},
    }))
}

/// Runs a tree run (`kind`: sync, copy or move) from `source` to `target`: journaled,
/// resumable, verified per the settings. A dry run returns the plan and writes nothing.
#[pyfunction]
#[pyo3(signature = (kind, source, target, options, cancel, on_event=None))]
fn run_tree(
    py: Python<'_>,
    kind: &str,
    source: PathBuf,
    target: PathBuf,
    options: &str,
    cancel: &Cancel,
    on_event: Option<Py<PyAny>>,
) -> PyResult<String> {
    let kind = match kind {
        "sync" => RunKind::Sync,
        "copy" => RunKind::Copy,
        "move" => RunKind::Move,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown run kind {other:?} (sync, copy or move)"
            )));
        }
    };
    let opts = TreeOptions::parse(options)?;
    let reporter = PyReporter::new(on_event, cancel);
    let rep = reporter.clone();
    let token = cancel.0.clone();
    let out = detached(py, &reporter, move || {
        let settings = settings_from(&opts.settings)?;
        let target = if kind == RunKind::Sync {
            target
        } else {
            engine::tree::copy_target(kind, &source, &target)
        };
        let run = Run::new(kind, &source, &target, &settings)
            .criteria(opts.criteria()?)
            .filter(opts.filter()?)
            .delete(opts.delete)
            .update(opts.update)
            .force(opts.force)
            .dry_run(opts.dry_run)
            .manifest(opts.manifest.clone());
        finish_run(run, rep, token, opts.dry_run)
    })?;
    json_text(&out)
}

/// Finishes the interrupted run recorded in `journal` (or the only one there is).
#[pyfunction]
#[pyo3(signature = (journal, cancel, on_event=None))]
fn resume(
    py: Python<'_>,
    journal: Option<PathBuf>,
    cancel: &Cancel,
    on_event: Option<Py<PyAny>>,
) -> PyResult<String> {
    let reporter = PyReporter::new(on_event, cancel);
    let rep = reporter.clone();
    let token = cancel.0.clone();
    let out = detached(py, &reporter, move || {
        finish_run(Run::resume(journal), rep, token, false)
    })?;
    json_text(&out)
}

/// Prepares and executes `run`; what it did as one JSON value.
fn finish_run(
    run: Run,
    reporter: Arc<PyReporter>,
    cancel: CancelToken,
    dry_run: bool,
) -> Result<Value, engine::Error> {
    let prepared = run.prepare(reporter, cancel)?;
    let resumed = prepared.resumed().map(|r| {
        json!({"source": r.source.to_string_lossy(), "target": r.target.to_string_lossy(),
               "summary": r.summary})
    });
    let issues = issues_json(prepared.scan_issues().iter(), prepared.compare_issues());
    if prepared.is_cancelled() || prepared.is_finished() {
        return Ok(json!({"resumed": resumed, "issues": issues, "plan": null,
                         "summary": null, "cancelled": prepared.is_cancelled()}));
    }
    let plan = serde_json::to_value(prepared.plan()).unwrap_or(Value::Null);
    if dry_run {
        return Ok(json!({"resumed": resumed, "issues": issues, "plan": plan,
                         "summary": null, "cancelled": false}));
    }
    let summary = prepared.execute()?;
    Ok(json!({"resumed": resumed, "issues": issues, "plan": plan,
              "cancelled": summary.cancelled, "summary": summary}))
}

/// Verifies that `right` holds `left`'s files, byte for byte, by hash (read from the medium
/// by default: `verify_read` setting).
#[pyfunction]
#[pyo3(signature = (left, right, options, cancel, on_event=None))]
fn verify(
    py: Python<'_>,
    left: PathBuf,
    right: PathBuf,
    options: &str,
    cancel: &Cancel,
    on_event: Option<Py<PyAny>>,
) -> PyResult<String> {
    let opts = TreeOptions::parse(options)?;
    let reporter = PyReporter::new(on_event, cancel);
    let rep = reporter.clone();
    let token = cancel.0.clone();
    let report = detached(py, &reporter, move || {
        let settings = settings_from(&opts.settings)?;
        engine::tree::check_roots(&left, &right, false)?;
        let filter = opts
            .filter()?
            .with_follow_symlinks(settings.follow_symlinks);
        let threads = engine::tree::threads(&settings, &right);
        Ok(engine::verify::verify_trees(
            &left, &right, &filter, &settings, threads, &*rep, &token,
        ))
    })?;
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            json!({"path": p.rel.to_string_lossy(), "problem": p.problem,
                   "code": engine::verify::VerifyReport::code_of(p.problem).as_str(),
                   "detail": p.detail})
        })
        .collect();
    json_text(&json!({
        "identical": report.identical,
        "bytes": report.bytes,
        "problems": problems,
        "cancelled": report.cancelled,
        "elapsed_ms": report.elapsed_ms,
    }))
}

/// Checks `(key, value)` settings; raises `ConfigError` naming the first bad one.
#[pyfunction]
fn check_settings(py: Python<'_>, settings: Vec<(String, String)>) -> PyResult<()> {
    settings_from(&settings)
        .map(|_| ())
        .map_err(|e| to_py(py, &e))
}

/// Every setting: `(key, default, range, doc, seed constant)`.
#[pyfunction]
fn settings_table() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    engine::SPECS
        .iter()
        .map(|s| (s.key, s.default, s.range, s.doc, s.seed))
        .collect()
}

/// Every stable error code with its advice.
#[pyfunction]
fn error_codes() -> Vec<(&'static str, &'static str)> {
    engine::Code::ALL
        .iter()
        .map(|c| (c.as_str(), c.hint()))
        .collect()
}

/// A new run log's path for `command` (the oldest logs beyond `log_keep_runs` /
/// `log_keep_bytes` deleted first), or None without a data folder.
#[pyfunction]
fn new_log_path(command: &str, settings: Vec<(String, String)>) -> Option<PathBuf> {
    let s = settings_from(&settings).unwrap_or_default();
    engine::runlog::new_path(command, &s)
}

/// Where journals, locks and logs go (`FCS_DATA_DIR` overrides it), or None.
#[pyfunction]
fn data_dir() -> Option<PathBuf> {
    engine::journal::data_dir()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Cancel>()?;
    m.add_class::<FileCopier>()?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(run_tree, m)?)?;
    m.add_function(wrap_pyfunction!(resume, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(check_settings, m)?)?;
    m.add_function(wrap_pyfunction!(settings_table, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(new_log_path, m)?)?;
    m.add_function(wrap_pyfunction!(data_dir, m)?)?;
    m.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

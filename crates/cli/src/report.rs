//! The CLI's [`Reporter`]: progress bars like the seed's dialog — overall (files, bytes,
//! throughput, ETA) and current file (copy phase, then verify phase) — NDJSON on stdout with
//! `--json`, Decision/Perf lines on stderr with `-v`, and everything worth keeping in the log file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use engine::{Event, Outcome, Phase, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct CliReporter {
    verbose: bool,
    quiet: bool,
    json: bool,
    state: Mutex<State>,
}

struct State {
    multi: MultiProgress,
    scan: Option<ProgressBar>,
    overall: Option<ProgressBar>,
    current: Option<(u64, ProgressBar)>,
    phase: Option<Phase>,
    sizes: HashMap<u64, u64>,
    files_total: u64,
    files_done: u64,
    log: Option<io::BufWriter<File>>,
}

impl CliReporter {
    pub fn new(
        verbose: bool,
        quiet: bool,
        json: bool,
        log: Option<&Path>,
    ) -> io::Result<CliReporter> {
        let log = match log {
            Some(p) => Some(io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        let show = !quiet && !json && io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Ok(CliReporter {
            verbose,
            quiet,
            json,
            state: Mutex::new(State {
                multi,
                scan: None,
                overall: None,
                current: None,
                phase: None,
                sizes: HashMap::new(),
                files_total: 0,
                files_done: 0,
                log,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Clears the bars and flushes the log.
    pub fn finish(&self) {
        let mut st = self.lock();
        for bar in [
            st.scan.take(),
            st.overall.take(),
            st.current.take().map(|c| c.1),
        ]
        .into_iter()
        .flatten()
        {
            bar.finish_and_clear();
        }
        if let Some(log) = st.log.as_mut() {
            let _ = log.flush();
        }
    }

    /// A line for `-v` (stderr) that the log always keeps.
    pub fn info(&self, text: &str) {
        let mut st = self.lock();
        log_line(&mut st, "INFO", text);
        if self.verbose {
            eprint_line(&st, text);
        }
    }

    /// A warning worth showing (stderr unless quiet) and keeping (log).
    pub fn note(&self, text: &str) {
        let mut st = self.lock();
        log_line(&mut st, "WARN", text);
        if !self.quiet && !self.json {
            eprint_line(&st, &format!("warning: {text}"));
        }
    }

    /// An error to show (always) and keep.
    pub fn error_line(&self, text: &str) {
        let mut st = self.lock();
        log_line(&mut st, "ERROR", text);
        if !self.json {
            eprint_line(&st, &format!("error: {text}"));
        }
    }
}

fn log_line(st: &mut State, level: &str, text: &str) {
    if let Some(log) = st.log.as_mut() {
        let now = humantime::format_rfc3339_millis(SystemTime::now());
        // One write per line (a formatted writeln! on a File is several syscalls). A failing log
        // write must not fail the copy; the copy's own outcome is what matters.
        let _ = log.write_all(format!("{now} {level} {text}\n").as_bytes());
    }
}

/// Prints to stderr without tearing the progress bars.
fn eprint_line(st: &State, text: &str) {
    st.multi.suspend(|| err!("{text}"));
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:.bold} {msg:7} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .expect("static template")
    .progress_chars("=> ")
}

impl Reporter for CliReporter {
    fn report(&self, event: &Event) {
        if self.json {
            let mut out = io::stdout().lock();
            if serde_json::to_writer(&mut out, event).is_ok() {
                let _ = out.write_all(b"\n");
            }
        }
        let mut st = self.lock();
        match event {
            Event::FileStarted { id, src, size, .. } => {
                st.sizes.insert(*id, *size);
                if st.current.is_none() {
                    let bar = st.multi.add(ProgressBar::new(*size));
                    bar.set_style(bytes_style());
                    st.current = Some((*id, bar));
                }
                if let Some((cur, bar)) = st.current.as_mut() {
                    *cur = *id;
                    bar.set_length(*size);
                    bar.set_position(0);
                    bar.reset_eta();
                    bar.set_prefix(
                        src.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    );
                    bar.set_message("copy");
                }
                st.phase = Some(Phase::Copy);
            }
            Event::Decision { line, .. } => {
                log_line(&mut st, "INFO", line);
                if self.verbose {
                    eprint_line(&st, line);
                }
            }
            Event::Progress {
                id, phase, done, ..
            } => {
                let phase_changed = st.phase != Some(*phase);
                st.phase = Some(*phase);
                if let Some((cur, bar)) = &st.current
                    && cur == id
                {
                    if phase_changed {
                        bar.set_message(match phase {
                            Phase::Copy => "copy",
                            Phase::Verify => "verify",
                        });
                        bar.reset_eta();
                    }
                    bar.set_position(*done);
                }
            }
            Event::Notice { id, path, notice } => {
                let text = format!(
                    "notice [{}]: {} — '{}'",
                    notice.kind,
                    notice.message,
                    path.display()
                );
                log_line(&mut st, "WARN", &text);
                // Run-level notices (id 0, e.g. temps swept) are news for everyone; per-file ones
                // only with -v.
                if self.verbose || (*id == 0 && !self.quiet) {
                    eprint_line(&st, &text);
                }
            }
            Event::FileFinished {
                id,
                outcome,
                perf_line,
                ..
            } => {
                let size = st.sizes.remove(id).unwrap_or(0);
                st.files_done += 1;
                if let Some(o) = &st.overall {
                    o.inc(size);
                    o.set_message(format!("files {}/{}", st.files_done, st.files_total));
                }
                if let Some(line) = perf_line {
                    log_line(&mut st, "INFO", line);
                    if self.verbose {
                        eprint_line(&st, line);
                    }
                }
                match outcome {
                    Outcome::Committed { .. } => {}
                    Outcome::Failed { message, .. } => log_line(&mut st, "ERROR", message),
                    Outcome::Cancelled { code } => {
                        log_line(&mut st, "WARN", &format!("{code}: cancelled"))
                    }
                }
            }
            Event::ScanProgress { side, entries } => {
                if st.scan.is_none() {
                    let bar = st.multi.add(ProgressBar::new_spinner());
                    st.scan = Some(bar);
                }
                if let Some(b) = &st.scan {
                    b.set_message(format!("scanning: {entries} entries ({side:?})"));
                    b.tick();
                }
            }
            Event::CompareProgress {
                hashed_bytes,
                total_bytes,
            } => {
                // Content hashing (a compare by content, `fcs verify`): a bar with its ETA.
                if let Some(b) = st.scan.take() {
                    b.finish_and_clear();
                }
                if st.overall.is_none() {
                    let bar = st.multi.insert(0, ProgressBar::new(*total_bytes));
                    bar.set_style(
                        ProgressStyle::with_template("{msg:>16} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
                            .expect("static template")
                            .progress_chars("#>-"),
                    );
                    bar.set_message("hashing");
                    st.overall = Some(bar);
                }
                if let Some(b) = &st.overall {
                    b.set_length(*total_bytes);
                    b.set_position(*hashed_bytes);
                }
            }
            Event::RunStarted { files, bytes, .. } => {
                if let Some(b) = st.scan.take() {
                    b.finish_and_clear();
                }
                if let Some(b) = st.overall.take() {
                    b.finish_and_clear();
                }
                st.files_total = *files;
                let bar = st.multi.insert(0, ProgressBar::new(*bytes));
                bar.set_style(
                    ProgressStyle::with_template("{msg:>16} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
                        .expect("static template")
                        .progress_chars("#>-"),
                );
                bar.set_message(format!("files 0/{files}"));
                st.overall = Some(bar);
                log_line(
                    &mut st,
                    "INFO",
                    &format!("run started: {files} files, {bytes} bytes to copy"),
                );
            }
            Event::TargetProbed { path, capabilities } => {
                let text = format!("target '{}': {}", path.display(), capabilities.describe());
                log_line(&mut st, "INFO", &text);
                if self.verbose {
                    eprint_line(&st, &text);
                }
            }
            Event::Deleted { path, mode } => {
                log_line(
                    &mut st,
                    "INFO",
                    &format!("deleted ({mode:?}): {}", path.display()),
                );
            }
            Event::RunFinished { summary } => {
                let text = format!(
                    "run finished: copied {} (verified {}), deleted {}, failed {}, {} bytes, {} ms",
                    summary.copied,
                    summary.verified,
                    summary.deleted,
                    summary.failed,
                    summary.bytes,
                    summary.elapsed_ms
                );
                log_line(&mut st, "INFO", &text);
            }
        }
    }
}

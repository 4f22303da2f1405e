//! The CLI's [`Reporter`]: an indicatif bar per file (copy phase, then verify phase), NDJSON on
//! stdout with `--json`, Decision/Perf lines on stderr with `-v`, and everything worth keeping in
//! the `--log` file.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use engine::{Event, Outcome, Phase, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct CliReporter {
    verbose: bool,
    quiet: bool,
    json: bool,
    state: Mutex<State>,
}

struct State {
    bar: Option<ProgressBar>,
    phase: Option<Phase>,
    log: Option<File>,
}

impl CliReporter {
    pub fn new(
        verbose: bool,
        quiet: bool,
        json: bool,
        log: Option<&Path>,
    ) -> io::Result<CliReporter> {
        let log = match log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        Ok(CliReporter {
            verbose,
            quiet,
            json,
            state: Mutex::new(State {
                bar: None,
                phase: None,
                log,
            }),
        })
    }

    /// Clears the bar and flushes the log.
    pub fn finish(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = st.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(log) = st.log.as_mut() {
            let _ = log.flush();
        }
    }

    fn show_bar(&self) -> bool {
        !self.quiet && !self.json && io::stderr().is_terminal()
    }
}

fn log_line(st: &mut State, level: &str, text: &str) {
    if let Some(log) = st.log.as_mut() {
        let now = humantime::format_rfc3339_millis(SystemTime::now());
        // A failing log write must not fail the copy; the copy's own outcome is what matters.
        let _ = writeln!(log, "{now} {level} {text}");
    }
}

/// Prints to stderr without tearing the progress bar.
fn eprint_line(st: &State, text: &str) {
    match &st.bar {
        Some(bar) => bar.suspend(|| eprintln!("{text}")),
        None => eprintln!("{text}"),
    }
}

impl Reporter for CliReporter {
    fn report(&self, event: &Event) {
        if self.json {
            let mut out = io::stdout().lock();
            if serde_json::to_writer(&mut out, event).is_ok() {
                let _ = out.write_all(b"\n");
            }
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::FileStarted { src, size, .. } => {
                if self.show_bar() {
                    let bar =
                        ProgressBar::with_draw_target(Some(*size), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:.bold} {msg:7} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
                            .expect("static template")
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(
                        src.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    );
                    bar.set_message("copy");
                    st.bar = Some(bar);
                }
                st.phase = Some(Phase::Copy);
            }
            Event::Decision { line, .. } => {
                log_line(&mut st, "INFO", line);
                if self.verbose {
                    eprint_line(&st, line);
                }
            }
            Event::Progress { phase, done, .. } => {
                if st.phase != Some(*phase) {
                    st.phase = Some(*phase);
                    if let Some(bar) = &st.bar {
                        bar.set_message(match phase {
                            Phase::Copy => "copy",
                            Phase::Verify => "verify",
                        });
                        bar.reset_eta();
                    }
                }
                if let Some(bar) = &st.bar {
                    bar.set_position(*done);
                }
            }
            Event::Notice { path, notice, .. } => {
                let text = format!(
                    "notice [{}]: {} — '{}'",
                    notice.kind,
                    notice.message,
                    path.display()
                );
                log_line(&mut st, "WARN", &text);
                if self.verbose {
                    eprint_line(&st, &text);
                }
            }
            Event::FileFinished {
                outcome, perf_line, ..
            } => {
                if let Some(bar) = st.bar.take() {
                    bar.finish_and_clear();
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
        }
    }
}

//! `fcs bench FOLDER`: our strategies and settings measured on the user's own folder (seed 003),
//! printed as a table with a recommended setting for each, ready for a settings file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use engine::bench::{self, Options, Report, Row};
use engine::{CancelToken, Error, NullReporter, format_bytes, parse_bytes};

use crate::{Common, EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, build_settings, install_ctrl_c};

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The folder to measure with (only read; copies go to a scratch folder next to it, deleted
    /// at the end).
    folder: PathBuf,
    /// A run of seconds: a small sample, one repetition, fewer variants.
    #[arg(long)]
    quick: bool,
    /// Runs of each variant (the median counts).
    #[arg(long, value_name = "N")]
    reps: Option<u32>,
    /// Copy at most this many of the folder's files per variant.
    #[arg(long, value_name = "N")]
    max_files: Option<usize>,
    /// Copy at most this many bytes per variant (e.g. 256MiB).
    #[arg(long, value_name = "SIZE")]
    max_bytes: Option<String>,
    /// Put the scratch folder here instead of next to FOLDER (it must be on the disk you want
    /// to measure).
    #[arg(long, value_name = "DIR")]
    scratch: Option<PathBuf>,
}

pub(crate) fn bench(common: &Common, args: &BenchArgs) -> Result<u8, Error> {
    let settings = build_settings(common, &[])?;
    let mut opts = if args.quick {
        Options::quick()
    } else {
        Options::full()
    };
    if let Some(n) = args.reps {
        opts.repetitions = n.max(1);
    }
    if let Some(n) = args.max_files {
        opts.max_files = n.max(1);
    }
    if let Some(s) = &args.max_bytes {
        opts.max_bytes = parse_bytes(s).ok_or_else(|| {
            Error::new(
                engine::Code::ConfigInvalidValue,
                PathBuf::new(),
                format!("--max-bytes: '{s}' is not a size (e.g. 256MiB)"),
            )
        })?;
    }
    opts.scratch_parent = args.scratch.clone();
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);

    let table = !common.json && !common.quiet;
    let stdout = std::io::stdout();
    if table {
        let mut out = stdout.lock();
        let _ = writeln!(
            out,
            "fcs bench: {} ({} repetition(s) per variant; copies go to a scratch folder next to it)",
            args.folder.display(),
            opts.repetitions
        );
        let _ = writeln!(
            out,
            "{:<34} {:<24} {:>10} {:>9} {:>9}  note",
            "GROUP", "VARIANT", "MEDIAN", "MB/s", "files/s"
        );
    }
    let mut print_row = |r: &Row| {
        if table {
            let mut out = stdout.lock();
            let _ = writeln!(
                out,
                "{:<34} {:<24} {:>8.3} s {:>9.1} {:>9.0}  {}",
                r.group.as_str(),
                r.label,
                r.median(),
                r.mbps(),
                r.files_per_sec(),
                r.error.as_deref().unwrap_or("")
            );
        }
    };
    let result = bench::run(
        &args.folder,
        &settings,
        &opts,
        Arc::new(NullReporter),
        &cancel,
        &mut print_row,
    );
    match result {
        Ok(report) => {
            if common.json {
                let _ = serde_json::to_writer(stdout.lock(), &report);
                out!();
            } else if !common.quiet {
                print_summary(&report);
            }
            Ok(if report.rows.iter().any(|r| r.error.is_some()) {
                EXIT_ERROR
            } else {
                EXIT_OK
            })
        }
        Err(e) if e.is_cancelled() => {
            err!("cancelled: the scratch folder was removed");
            Ok(EXIT_CANCELLED)
        }
        Err(e) => Err(e),
    }
}

fn print_summary(r: &Report) {
    out!();
    out!(
        "Folder: {} files, {}; measured with {} files, {}{}. Scratch folder {} removed.",
        r.folder_files,
        format_bytes(r.folder_bytes),
        r.sample_files,
        format_bytes(r.sample_bytes),
        if r.sample_files < r.folder_files {
            " (a spread of the folder's files)"
        } else {
            ""
        },
        r.scratch.display()
    );
    out!();
    out!("Recommended settings for this machine and folders like this one:");
    for rec in &r.recommendations {
        let change = if rec.changes() {
            format!("(now {})", rec.current)
        } else {
            "(unchanged)".to_string()
        };
        out!(
            "  {:<18} = {:<14} {:<18} {}",
            rec.key,
            rec.value,
            change,
            rec.why
        );
    }
    let changes: Vec<_> = r.recommendations.iter().filter(|x| x.changes()).collect();
    if changes.is_empty() {
        out!("\nThe current settings are already the best measured here.");
    } else {
        out!("\nTo use them, pass them with --set or put them in a settings file (--config FILE):");
        for rec in changes {
            out!("  {} = \"{}\"", rec.key, rec.value);
        }
    }
}

//! `fcs` — the FolderCompareSync command line: flags → engine settings, engine events → a
//! progress bar, NDJSON, a log file; outcomes → exit codes (DESIGN.md §7).

mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::{CancelToken, Copier, Settings};

use crate::report::CliReporter;

/// Exit codes (DESIGN.md §7).
const EXIT_OK: u8 = 0;
const EXIT_ERROR: u8 = 2;
const EXIT_CANCELLED: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "fcs",
    version,
    about = "FolderCompareSync: compare folder trees and copy between them safely, verifiably and fast."
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Common {
    /// Settings file (TOML, flat `key = value`); see `fcs settings`.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override any setting: `--set window=128MiB` (repeatable; applied after --config).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Append Decision/Perf lines, notices and errors to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Print the Decision and Perf lines (and notices) to stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print events as NDJSON on stdout (one JSON object per line) instead of a progress bar.
    #[arg(long, global = true)]
    json: bool,
    /// Parallel workers for tree operations (0 = auto).
    #[arg(long, global = true, value_name = "N")]
    workers: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copy one file safely: temp in the target directory, verify, atomic replace.
    Copy(CopyArgs),
    /// List every setting with its default, allowed range and meaning.
    Settings,
}

#[derive(Debug, Args)]
struct CopyArgs {
    /// The source file.
    src: PathBuf,
    /// The target file, or an existing directory to copy into.
    dst: PathBuf,
    /// Which files to verify (verify_policy).
    #[arg(long, value_enum)]
    verify: Option<VerifyArg>,
    /// Hash algorithm for hash verification.
    #[arg(long, value_enum)]
    hash: Option<HashArg>,
    /// Force a copy strategy instead of the decision matrix.
    #[arg(long, value_enum)]
    strategy: Option<StrategyArg>,
    /// Read the copy back from the medium (device) or the page cache when verifying.
    #[arg(long, value_enum)]
    verify_read: Option<VerifyReadArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerifyArg {
    None,
    #[value(name = "lt_threshold", alias = "lt-threshold")]
    LtThreshold,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum HashArg {
    Blake3,
    Sha256,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    Auto,
    DirectSmall,
    DirectLarge,
    Staged,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerifyReadArg {
    Device,
    Cache,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Defaults ← config file ← `--set` ← friendly flags, each through `Settings::set`.
fn build_settings(
    common: &Common,
    flags: &[(&str, Option<String>)],
) -> Result<Settings, engine::Error> {
    let mut s = Settings::default();
    if let Some(path) = &common.config {
        s.apply_file(path)?;
    }
    for pair in &common.set {
        s.set_pair(pair)?;
    }
    if let Some(w) = common.workers {
        s.set("workers", &w.to_string())?;
    }
    for (key, value) in flags {
        if let Some(v) = value {
            s.set(key, v)?;
        }
    }
    Ok(s)
}

fn value_name<T: ValueEnum>(v: Option<T>) -> Option<String> {
    v.and_then(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
}

fn run(cli: Cli) -> Result<u8, engine::Error> {
    match cli.command {
        Command::Settings => {
            print_settings();
            Ok(EXIT_OK)
        }
        Command::Copy(args) => {
            let settings = build_settings(
                &cli.common,
                &[
                    ("verify_policy", value_name(args.verify)),
                    ("hash", value_name(args.hash)),
                    ("strategy", value_name(args.strategy)),
                    ("verify_read", value_name(args.verify_read)),
                ],
            )?;
            let cancel = CancelToken::new();
            install_ctrl_c(&cancel);
            let reporter = Arc::new(
                CliReporter::new(
                    cli.common.verbose,
                    cli.common.quiet,
                    cli.common.json,
                    cli.common.log.as_deref(),
                )
                .map_err(|e| {
                    engine::Error::io(
                        engine::Code::ConfigFile,
                        cli.common.log.as_deref().unwrap_or("".as_ref()),
                        "cannot open the log file",
                        e,
                    )
                })?,
            );
            let copier = Copier::new(settings, reporter.clone(), cancel);
            let result = copier.copy_file(&args.src, &args.dst);
            reporter.finish();
            match result {
                Ok(r) => {
                    if !cli.common.quiet && !cli.common.json {
                        eprintln!(
                            "copied '{}' → '{}': {} bytes, {}, {}, {:.1} MB/s",
                            r.src.display(),
                            r.dst.display(),
                            r.size,
                            r.strategy,
                            if r.verified {
                                format!("verified ({})", r.decision.verify.as_str())
                            } else {
                                "not verified".into()
                            },
                            r.perf.throughput_mbps()
                        );
                    }
                    Ok(EXIT_OK)
                }
                Err(e) if e.is_cancelled() => {
                    if !cli.common.json {
                        eprintln!("cancelled: {e}");
                    }
                    Ok(EXIT_CANCELLED)
                }
                Err(e) => {
                    if !cli.common.json {
                        eprintln!("error: {e}");
                    }
                    Ok(EXIT_ERROR)
                }
            }
        }
    }
}

/// Ctrl-C cancels cleanly: the engine stops at the next window/chunk, deletes the temp, and we
/// exit 3. A second Ctrl-C does not kill us mid-cleanup; the first one is already being honoured.
fn install_ctrl_c(cancel: &CancelToken) {
    let token = cancel.clone();
    // Failing to install the handler only means Ctrl-C kills the process the default way, which
    // still leaves the target intact (the temp is then removed by the next run's sweep).
    let _ = ctrlc::set_handler(move || token.cancel());
}

fn print_settings() {
    println!("{:<28} {:<14} {:<40} MEANING", "KEY", "DEFAULT", "ALLOWED");
    for s in engine::SPECS {
        println!("{:<28} {:<14} {:<40} {}", s.key, s.default, s.range, s.doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn friendly_flags_override_set_which_overrides_defaults() {
        let cli = Cli::try_parse_from([
            "fcs",
            "copy",
            "a",
            "b",
            "--set",
            "window=1MiB",
            "--set",
            "verify_policy=none",
            "--verify",
            "all",
        ])
        .unwrap();
        let Command::Copy(args) = &cli.command else {
            panic!()
        };
        let s = build_settings(&cli.common, &[("verify_policy", value_name(args.verify))]).unwrap();
        assert_eq!(s.window, 1 << 20);
        assert_eq!(s.verify_policy, engine::VerifyPolicy::All);
    }

    #[test]
    fn invalid_set_names_the_key() {
        let cli = Cli::try_parse_from(["fcs", "copy", "a", "b", "--set", "flush_every_windows=0"])
            .unwrap();
        let e = build_settings(&cli.common, &[]).unwrap_err();
        assert_eq!(e.code, engine::Code::ConfigInvalidValue);
        assert!(e.to_string().contains("flush_every_windows"));
    }

    #[test]
    fn verify_flag_accepts_the_seed_spelling() {
        let cli =
            Cli::try_parse_from(["fcs", "copy", "a", "b", "--verify", "lt_threshold"]).unwrap();
        let Command::Copy(args) = &cli.command else {
            panic!()
        };
        assert_eq!(value_name(args.verify).as_deref(), Some("lt_threshold"));
    }
}

//! `fcs` — the FolderCompareSync command line: flags → engine settings, engine events → progress
//! bars, NDJSON, a log file; outcomes → exit codes (DESIGN.md §7).

#![forbid(unsafe_code)]

/// `println!` that never panics: a run must not abort because the reader of its standard
/// output went away (`fcs sync --json … | head -1`). Rust ignores SIGPIPE, so the write fails
/// with EPIPE, and that failure is ignored here.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics (see `out!`), for people: paths as they know them (no
/// Windows `\\?\`, see `engine::plain_paths`).
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($arg)*);
        let _ = writeln!(std::io::stderr(), "{}", engine::plain_paths(&line));
    }};
}

mod bench;
mod logs;
mod report;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::{CancelToken, Copier, Settings};

use crate::report::CliReporter;

/// Exit codes (DESIGN.md §7).
pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_DIFFERENT: u8 = 1;
pub(crate) const EXIT_ERROR: u8 = 2;
pub(crate) const EXIT_CANCELLED: u8 = 3;

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
pub(crate) struct Common {
    /// Settings file (TOML, flat `key = value`); see `fcs settings`.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any setting: `--set window=128MiB` (repeatable; applied after --config).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Write Decision/Perf lines, notices and errors to FILE (tree runs default to a file in the
    /// user's data directory, printed at the end).
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Print the Decision and Perf lines (and notices) to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print events as NDJSON on stdout (one JSON object per line) instead of progress bars.
    #[arg(long, global = true)]
    pub json: bool,
    /// Parallel file workers for tree operations (0 = auto).
    #[arg(long, global = true, value_name = "N")]
    pub workers: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compare two folder trees; exit 0 identical, 1 different, 2 errors.
    Compare(tree::CompareArgs),
    /// Make RIGHT hold LEFT's version of every differing item (`--delete` to mirror).
    Sync(tree::SyncArgs),
    /// Copy a file (temp, verify, atomic replace) or a folder tree (into DST).
    Copy(CopyArgs),
    /// Move a file or folder tree: each source is deleted only once its copy is verified by
    /// hash, durable and journaled, and only if it did not change meanwhile.
    Move(CopyArgs),
    /// Compare the content of two trees by hash (or a folder against a --manifest); exit 0
    /// identical, 1 different, 2 errors.
    Verify(tree::VerifyArgs),
    /// Finish an interrupted sync, copy or move from its journal.
    Resume(tree::ResumeArgs),
    /// List every setting with its default, allowed range and meaning.
    Settings(SettingsArgs),
    /// List the recent runs (when, what, how each ended, its log), or show one run's log.
    Logs(logs::LogsArgs),
    /// Print a shell completion script: `fcs completions bash > /etc/bash_completion.d/fcs`.
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `fcs man > fcs.1`, `fcs man | man -l -`; `fcs man sync`
    /// prints the page of one command (`fcs-sync.1`).
    Man {
        /// A command whose own page to print (compare, sync, copy, …).
        command: Option<String>,
    },
    /// Measure our copy strategies and settings on FOLDER and recommend settings for this machine.
    Bench(bench::BenchArgs),
}

/// Flags that map onto settings, shared by copy and sync.
#[derive(Debug, Args, Default)]
pub(crate) struct CopyFlags {
    /// Which files to verify (verify_policy).
    #[arg(long, value_enum)]
    pub verify: Option<VerifyArg>,
    /// Hash algorithm for hash verification.
    #[arg(long, value_enum)]
    pub hash: Option<HashArg>,
    /// Force a copy strategy instead of the decision matrix.
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// Read the copy back from the medium (device) or the page cache when verifying.
    #[arg(long, value_enum)]
    pub verify_read: Option<VerifyReadArg>,
    /// full: fsync every file and folder; batch: one sync per group of files; none: no fsync
    /// (benchmarks only).
    #[arg(long, value_enum)]
    pub durability: Option<DurabilityArg>,
    /// Write the hashes of the files copied to FILE in b3sum / sha256sum format (paths relative
    /// to the target; check with `cd TARGET && b3sum -c FILE` or `fcs verify --manifest`).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Keep everything this platform can: owner and group, extended attributes, ACLs, file flags
    /// (and times and permissions, kept by default), and compare them all: a change of any of them alone is
    /// updated in place. What a target cannot hold then fails the run.
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Keep owner and group (numeric ids; the default as root).
    #[arg(long)]
    pub owner: bool,
    /// Keep extended attributes (the default), and compare them: a change of attributes alone is
    /// updated in place (without -X, a re-sync does not read every file's attributes).
    #[arg(short = 'X', long)]
    pub xattrs: bool,
    /// Keep POSIX ACLs (the default), and compare them, as -X does attributes.
    #[arg(short = 'A', long)]
    pub acls: bool,
    /// Keep hard links: names of one file inside the source become names of one file on the
    /// target (copied once, the other names linked). Not part of -a, as in rsync.
    #[arg(short = 'H', long)]
    pub hard_links: bool,
}

impl CopyFlags {
    pub fn pairs(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("verify_policy", value_name(self.verify)),
            ("hash", value_name(self.hash)),
            ("strategy", value_name(self.strategy)),
            ("verify_read", value_name(self.verify_read)),
            ("durability", value_name(self.durability)),
            ("preserve_owner", on(self.owner || self.archive)),
            ("preserve_flags", on(self.archive)),
            ("preserve_xattrs", on(self.xattrs || self.archive)),
            ("preserve_acls", on(self.acls || self.archive)),
            ("preserve_hardlinks", on(self.hard_links)),
        ]
    }
}

#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    /// Print where the user's settings file is read from (`$FCS_CONFIG`, else the platform's
    /// config folder), and whether it exists.
    #[arg(long)]
    path: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The source file or folder.
    pub src: PathBuf,
    /// The target file, or an existing folder to copy into.
    pub dst: PathBuf,
    #[command(flatten)]
    pub flags: CopyFlags,
    #[command(flatten)]
    pub filters: tree::FilterArgs,
    /// Print what a tree copy would do, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VerifyArg {
    None,
    #[value(name = "lt_threshold", alias = "lt-threshold")]
    LtThreshold,
    All,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum HashArg {
    Blake3,
    Sha256,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StrategyArg {
    Auto,
    DirectSmall,
    DirectLarge,
    Staged,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DurabilityArg {
    Full,
    Batch,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VerifyReadArg {
    Device,
    Cache,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            err!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Defaults ← the user's settings file ← `--config` ← `--set` ← friendly flags, each through
/// `Settings::set`.
pub(crate) fn build_settings(
    common: &Common,
    flags: &[(&str, Option<String>)],
) -> Result<Settings, engine::Error> {
    let mut s = Settings::with_user_file()?;
    if let Some(path) = &common.config {
        s.apply_file(path)?;
    }
    for pair in &common.set {
        s.set_pair(pair)?;
    }
    if let Some(w) = common.workers {
        s.choose("workers", &w.to_string())?;
    }
    for (key, value) in flags {
        if let Some(v) = value {
            s.choose(key, v)?;
        }
    }
    Ok(s)
}

/// A flag that turns a setting on: `Some("true")` when given (an explicit choice), else `None`.
fn on(flag: bool) -> Option<String> {
    flag.then(|| "true".to_string())
}

pub(crate) fn value_name<T: ValueEnum>(v: Option<T>) -> Option<String> {
    v.and_then(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
}

fn run(cli: Cli) -> Result<u8, engine::Error> {
    match cli.command {
        Command::Bench(args) => bench::bench(&cli.common, &args),
        Command::Settings(args) if args.path => {
            match Settings::user_file() {
                Some(p) if p.is_file() => out!("{}", p.display()),
                Some(p) => out!("{} (does not exist: defaults apply)", p.display()),
                None => out!("(no config folder on this system: defaults apply)"),
            }
            Ok(EXIT_OK)
        }
        Command::Settings(_) => {
            print_settings();
            Ok(EXIT_OK)
        }
        Command::Logs(args) => logs::logs(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "fcs", &mut std::io::stdout());
            Ok(EXIT_OK)
        }
        Command::Man { command } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            if let Some(name) = command {
                let Some(sub) = cmd.find_subcommand(&name).cloned() else {
                    err!("error: no command '{name}' (see `fcs --help`)");
                    return Ok(EXIT_ERROR);
                };
                cmd = sub.name(format!("fcs-{name}"));
            }
            let man = clap_mangen::Man::new(cmd);
            let mut page = Vec::new();
            // Into memory: it cannot fail for want of space or a closed pipe.
            let _ = man.render(&mut page);
            out!("{}", String::from_utf8_lossy(&page).trim_end());
            Ok(EXIT_OK)
        }
        Command::Compare(args) => tree::compare(&cli.common, &args),
        Command::Sync(args) => tree::sync(&cli.common, &args),
        // A remote source is a location (a prefix, a folder on a server): a tree run.
        Command::Copy(args) if args.src.is_dir() || engine::remote::is_remote(&args.src) => {
            tree::copy_tree(&cli.common, &args, engine::journal::RunKind::Copy)
        }
        Command::Copy(args) => copy_one(&cli.common, &args, false),
        Command::Move(args) if args.src.is_dir() || engine::remote::is_remote(&args.src) => {
            tree::copy_tree(&cli.common, &args, engine::journal::RunKind::Move)
        }
        Command::Move(args) => match engine::tree::interrupted_move_of(&args.src) {
            // The source folder is gone because an interrupted move had moved all of it:
            // running the command again finishes that run.
            Some(journal) => tree::resume(
                &cli.common,
                &tree::ResumeArgs {
                    journal: Some(journal),
                },
            ),
            None => copy_one(&cli.common, &args, true),
        },
        Command::Verify(args) => tree::verify(&cli.common, &args),
        Command::Resume(args) => tree::resume(&cli.common, &args),
    }
}

fn copy_one(common: &Common, args: &CopyArgs, is_move: bool) -> Result<u8, engine::Error> {
    if engine::remote::is_remote(&args.dst) {
        return Err(engine::Error::new(
            engine::Code::RemoteUnsupported,
            &args.dst,
            "a single file goes to remote storage with its folder: fcs sync FOLDER s3://…/FOLDER --include NAME",
        ));
    }
    let mut settings = build_settings(common, &args.flags.pairs())?;
    if is_move {
        settings = settings.for_move()?;
    }
    let cancel = CancelToken::new();
    install_ctrl_c(&cancel);
    let reporter = Arc::new(
        CliReporter::new(
            common.verbose,
            common.quiet,
            common.json,
            common.log.as_deref(),
        )
        .map_err(|e| {
            engine::Error::io(
                engine::Code::ConfigFile,
                common.log.as_deref().unwrap_or("".as_ref()),
                "cannot open the log file",
                e,
            )
        })?,
    );
    let copier = Copier::new(settings, reporter.clone(), cancel);
    let result = if is_move {
        copier.move_file(&args.src, &args.dst)
    } else {
        copier.copy_file(&args.src, &args.dst)
    };
    reporter.finish();
    match result {
        Ok(r) => {
            if let Some(m) = &args.flags.manifest {
                write_one_manifest(m, &r, copier.settings().hash)?;
            }
            if !common.quiet && !common.json {
                err!(
                    "{} '{}' → '{}': {} bytes, {}, {}, {:.1} MB/s",
                    if is_move { "moved" } else { "copied" },
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
            if !common.json {
                err!("cancelled: {e}");
            }
            Ok(EXIT_CANCELLED)
        }
        Err(e) => {
            if !common.json {
                err!("error: {e}");
            }
            Ok(EXIT_ERROR)
        }
    }
}

/// A one-file manifest: the digest computed during the copy, or the copy's hash.
fn write_one_manifest(
    path: &std::path::Path,
    r: &engine::FileReport,
    algo: engine::HashAlgo,
) -> Result<(), engine::Error> {
    let m = engine::manifest::Manifest::create(path, algo)?;
    let hex = match &r.digest {
        Some(h) => h.clone(),
        None => engine::hash_path(&r.dst, algo, false, &CancelToken::new(), &|_| {})
            .map_err(|e| engine::Error::io(engine::Code::VerifyRead, &r.dst, "cannot hash", e))?,
    };
    let name = r.dst.file_name().map(PathBuf::from).unwrap_or_default();
    m.add(&name, &hex).map_err(|e| {
        engine::Error::io(
            engine::Code::VerifyManifest,
            path,
            "cannot write the manifest",
            e,
        )
    })?;
    m.finish()
}

/// Ctrl-C, SIGTERM and SIGHUP (logout, `systemctl stop`, `timeout`) cancel cleanly: the engine
/// stops at the next window/chunk/entry, deletes its temps, and we exit 3. A second signal exits
/// at once (exit 3): the user insists, and whatever temp remains is swept by the next run.
pub(crate) fn install_ctrl_c(cancel: &CancelToken) {
    let token = cancel.clone();
    let signalled = std::sync::atomic::AtomicBool::new(false);
    // Failing to install the handler only means a signal kills the process the default way,
    // which still leaves every target intact (a temp may remain, swept by the next run).
    let _ = ctrlc::set_handler(move || {
        if signalled.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CANCELLED));
        }
        token.cancel();
    });
}

fn print_settings() {
    out!("{:<28} {:<14} {:<40} MEANING", "KEY", "DEFAULT", "ALLOWED");
    for s in engine::SPECS {
        out!("{:<28} {:<14} {:<40} {}", s.key, s.default, s.range, s.doc);
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
        let s = build_settings(&cli.common, &args.flags.pairs()).unwrap();
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
        assert_eq!(
            value_name(args.flags.verify).as_deref(),
            Some("lt_threshold")
        );
    }

    #[test]
    fn sync_flags_parse() {
        let cli = Cli::try_parse_from([
            "fcs",
            "sync",
            "l",
            "r",
            "--delete",
            "--dry-run",
            "--reverse",
            "--force",
            "--exclude",
            "*.tmp",
            "--by",
            "size,content",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Sync(_)));
    }
}

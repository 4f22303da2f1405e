//! Running `fcs` as the tests do: with its journals, locks, default logs and trash away from the
//! user's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs fcs under strace, which kills it with SIGKILL at the `when`-th call of `syscalls`.
#[cfg(unix)]
pub fn killed_at(data: &Path, syscalls: &str, when: u32, args: &[&str]) -> Output {
    let strace = testkit::strace_injecting(&format!("{syscalls}:signal=SIGKILL:when={when}"));
    fcs_through(strace, data).args(args).output().unwrap()
}

/// Whether the run was killed by SIGKILL (strace re-raises the tracee's signal on itself, or
/// exits 128+9).
#[cfg(unix)]
pub fn was_killed(o: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    o.status.signal() == Some(9) || o.status.code() == Some(137)
}

/// `wrapper` (strace, setpriv …) running `fcs`, with its data in `data` as [`fcs_in`].
#[cfg(unix)]
pub fn fcs_through(mut wrapper: Command, data: &Path) -> Command {
    wrapper.arg(env!("CARGO_BIN_EXE_fcs"));
    with_data(wrapper, data)
}

/// `fcs` with the journals, locks and default logs of its runs, and the trash of the files it
/// replaces, in `data`.
pub fn fcs_in(data: &Path) -> Command {
    with_data(Command::new(env!("CARGO_BIN_EXE_fcs")), data)
}

fn with_data(mut c: Command, data: &Path) -> Command {
    // The user's settings file too: none unless a test writes `data/config.toml`.
    c.env("FCS_DATA_DIR", data)
        .env("XDG_DATA_HOME", data)
        .env("FCS_CONFIG", data.join("config.toml"));
    c
}

/// Runs `fcs args` with its data in `data`.
#[cfg(unix)]
pub fn run_in(data: &Path, args: &[&str]) -> Output {
    fcs_in(data).args(args).output().expect("fcs runs")
}

/// The data folder of the runs of this test process that need none of their own.
pub fn data_dir() -> PathBuf {
    testkit::process_data_dir("cli")
}

/// `fcs` with its data in [`data_dir`].
pub fn fcs() -> Command {
    fcs_in(&data_dir())
}

/// Runs `fcs args` with its data in [`data_dir`].
pub fn run(args: &[&str]) -> Output {
    fcs().args(args).output().expect("fcs runs")
}

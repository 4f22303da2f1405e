//! Test helpers for FolderCompareSync: deterministic incompressible data, file builders, the
//! invariant checks every fault test ends with (no temp left, target byte-identical), the external
//! oracles (`diff -r`, `rsync -ani`), strace fault injection, and what a test needs from the
//! machine (a tool, root, an unprivileged user).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[cfg(windows)]
pub mod acl;
pub mod mounts;
pub mod servers;

pub use tempfile::{TempDir, tempdir};

/// The data folder (journals, logs, locks) of one test process's runs: `fcs-<name>-tests-<pid>`
/// in the temp folder. A test binary has no teardown, so each such folder outlives its process;
/// the first call removes those of processes that have ended (Linux, where `/proc` says which
/// are alive), so repeated test runs do not pile them up.
pub fn process_data_dir(name: &str) -> PathBuf {
    let prefix = format!("fcs-{name}-tests-");
    let tmp = std::env::temp_dir();
    #[cfg(target_os = "linux")]
    static PRUNED: std::sync::Once = std::sync::Once::new();
    #[cfg(target_os = "linux")]
    PRUNED.call_once(|| {
        let Ok(rd) = std::fs::read_dir(&tmp) else {
            return;
        };
        for e in rd.flatten() {
            let file_name = e.file_name();
            let Some(pid) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    });
    tmp.join(format!("{prefix}{}", std::process::id()))
}

/// Deterministic pseudo-random bytes (xorshift64*), different for each `seed`.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `len` deterministic bytes to `path` (creating parent directories) and returns them.
pub fn write_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    let d = data(len, seed);
    std::fs::write(path, &d).unwrap();
    d
}

/// Files in `dir` (not recursive) whose names mark them as our temp files.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.') && n.ends_with(".fcs.tmp"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every file below `root` (recursive), with its content, sorted by path relative to `root`.
pub fn tree_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Panics, naming the tool and its package, unless `program version_arg` runs here: a test that
/// needs a tool fails without it, never passes unchecked.
#[track_caller]
pub fn require_tool(program: &str, version_arg: &str, package: &str) {
    let runs = Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "this test needs `{program}` (package {package}), which is missing or does not run here"
    );
}

/// Panics unless this process runs as root, saying what needs it.
#[track_caller]
pub fn require_root(why: &str) {
    assert!(is_root(), "this test must run as root: {why}");
}

/// `path` as a command-line argument: the tests' paths are UTF-8.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// What a finished command wrote to stderr, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What a finished command wrote to stdout, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether `program --version` runs here (for the oracles a test uses only when present).
pub fn has_tool(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether two trees hold the same names and contents (`diff -r -q`; its findings are printed
/// when they differ, so a failing test says why).
pub fn identical(a: &Path, b: &Path) -> bool {
    match Command::new("diff").args(["-r", "-q", p(a), p(b)]).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!("trees differ:\n{}", String::from_utf8_lossy(&o.stdout));
            false
        }
        Err(e) => {
            eprintln!("cannot run diff: {e}");
            false
        }
    }
}

/// The `diff -r` oracle: `diff -r --no-dereference a b` (symlinks compared as links) finds no
/// difference.
#[track_caller]
pub fn assert_diff_r_agrees(a: &Path, b: &Path) {
    let o = Command::new("diff")
        .args(["-r", "--no-dereference"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(o.status.success(), "diff -r: {}", stdout(&o));
}

/// The rsync oracle: `rsync -ani --delete a/ b/` would change nothing.
#[track_caller]
pub fn assert_rsync_lists_nothing(a: &Path, b: &Path) {
    let o = Command::new("rsync")
        .args(["-ani", "--delete"])
        .arg(format!("{}/", p(a)))
        .arg(format!("{}/", p(b)))
        .output()
        .unwrap();
    assert!(o.stdout.is_empty(), "rsync -ani lists: {}", stdout(&o));
}

/// strace, quiet and following children, set to inject `spec` into the program given next (as
/// in strace(1) `-e inject=`: `SYSCALLS:error=EIO`, `SYSCALLS:retval=N`,
/// `SYSCALLS:signal=SIGKILL:when=N`): the kernel itself fails or kills at that call
/// (RELIABILITY.md). Panics when strace is missing.
#[track_caller]
pub fn strace_injecting(spec: &str) -> Command {
    require_tool("strace", "-V", "strace");
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={spec}"));
    c
}

/// Sends SIGINT (what Ctrl-C sends) to the process `pid`.
#[cfg(unix)]
#[track_caller]
pub fn interrupt(pid: u32) {
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT {pid}");
}

/// Makes a FIFO at `path` (mode 0600).
#[cfg(unix)]
#[track_caller]
pub fn mkfifo(path: &Path) {
    unsafe extern "C" {
        fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
    }
    let c = std::ffi::CString::new(p(path)).unwrap();
    // SAFETY: a NUL-terminated path that lives across the call.
    let r = unsafe { mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(r, 0, "mkfifo {}", path.display());
}

/// I5: no temp file survives in `dir`.
#[track_caller]
pub fn assert_no_temps(dir: &Path) {
    let left = temp_files(dir);
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

/// I2: `path` holds exactly `expected`.
#[track_caller]
pub fn assert_content(path: &Path, expected: &[u8]) {
    let actual =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        actual.len() == expected.len() && actual == expected,
        "{} differs from what was expected ({} vs {} bytes)",
        path.display(),
        actual.len(),
        expected.len()
    );
}

/// Whether this process runs as root (root ignores permission bits, so permission tests need
/// another mechanism there).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        std::fs::metadata("/proc/self")
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.uid() == 0
            })
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Root reads and writes every file whatever its mode, so a test of permission bits cannot check
/// anything as root. Such a test starts with
/// `if testkit::reran_as_nobody(module_path!(), "its_name") { return; }`: as root this runs that
/// one test again in a child process of this test binary as `nobody` (through `setpriv`, from
/// util-linux) and returns true once the child passed, so the caller's checks ran there; a child
/// that fails fails the caller, with its output. Not root: returns false and the caller runs its
/// checks itself.
#[cfg(unix)]
#[track_caller]
pub fn reran_as_nobody(module_path: &str, test: &str) -> bool {
    if !is_root() {
        return false;
    }
    require_tool("setpriv", "--version", "util-linux");
    // libtest names a test by its module path without the crate's name.
    let name = match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    };
    let o = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(std::env::current_exe().expect("the test binary's path"))
        .args(["--exact", &name, "--include-ignored", "--test-threads=1"])
        .output()
        .expect("setpriv runs");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // A name that matches no test would pass too: the child must have run exactly this one.
    assert!(
        o.status.success() && out.contains("test result: ok. 1 passed"),
        "{name}, run again as nobody (setpriv) because root ignores permission bits, failed:\n{out}"
    );
    true
}

/// Whether this (Windows) process runs under Wine rather than Windows: Wine's ntdll exports
/// `wine_get_version`. Tests use it to expect Wine's documented stand-in where Wine lacks what
/// Windows has (e.g. no Recycle Bin); a test of something Wine cannot do at all is left out by
/// name in `scripts/test-windows.sh` instead. Always false off Windows.
pub fn running_on_wine() -> bool {
    #[cfg(windows)]
    {
        use std::ffi::{c_char, c_void};
        #[link(name = "kernel32")]
        unsafe extern "system" {
            fn GetModuleHandleW(name: *const u16) -> *mut c_void;
            fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *const c_void;
        }
        let ntdll: Vec<u16> = "ntdll.dll\0".encode_utf16().collect();
        // SAFETY: NUL-terminated name; ntdll is mapped into every process and the handle is not
        // reference-counted, so nothing has to be released.
        let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
        // SAFETY: a valid module handle and a NUL-terminated ANSI name.
        !module.is_null()
            && !unsafe { GetProcAddress(module, c"wine_get_version".as_ptr()) }.is_null()
    }
    #[cfg(not(windows))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_deterministic_and_seed_dependent() {
        assert_eq!(data(1000, 1), data(1000, 1));
        assert_ne!(data(1000, 1), data(1000, 2));
        assert_eq!(data(13, 5).len(), 13);
    }

    #[test]
    fn finds_temp_files() {
        let d = tempdir().unwrap();
        std::fs::write(d.path().join(".a.1-0.fcs.tmp"), b"").unwrap();
        std::fs::write(d.path().join("a"), b"").unwrap();
        assert_eq!(temp_files(d.path()).len(), 1);
    }
}

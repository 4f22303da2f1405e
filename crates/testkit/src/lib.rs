//! Test helpers for FolderCompareSync: deterministic incompressible data, file builders, and the
//! invariant checks every fault test ends with (no temp left, target byte-identical).

use std::path::{Path, PathBuf};

pub mod mounts;

pub use tempfile::{TempDir, tempdir};

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

/// Whether `strace` runs here (the errno- and signal-injection tests need it).
pub fn strace_available() -> bool {
    std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
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

/// Whether the opt-in fault tests (strace injection, loop devices) should run: set
/// `FCS_FAULT_TESTS=1` (CI does).
pub fn fault_tests_enabled() -> bool {
    std::env::var_os("FCS_FAULT_TESTS").is_some_and(|v| v == "1")
}

/// Whether this (Windows) process runs under Wine rather than Windows: Wine's ntdll exports
/// `wine_get_version`. Tests use it to skip, with a stated reason, checks of behaviour Wine does
/// not implement (e.g. the `CopyFileExW` progress routine); always false off Windows.
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

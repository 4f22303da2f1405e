//! The table of settings: each one's key, default, allowed range, meaning and seed constant, as
//! `fcs settings` lists them and as `CONFIG_E_…` messages quote the range.

/// One setting's documentation: key, default (as text), allowed range, meaning, seed constant.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// The key of [`Settings::set`](crate::Settings::set) and of the TOML file.
    pub key: &'static str,
    /// The default, as the key's value would be written.
    pub default: &'static str,
    /// The values allowed, for `fcs settings` and the `CONFIG_E_INVALID_VALUE` message.
    pub range: &'static str,
    /// What it does, in one sentence.
    pub doc: &'static str,
    /// The seed constant it stands for.
    pub seed: &'static str,
}

/// Every setting, in the order `fcs settings` lists them.
pub const SPECS: &[SettingSpec] = &[
    SettingSpec {
        key: "strategy",
        default: "auto",
        range: "auto | direct-small | direct-large | staged",
        doc: "Force a copy strategy, or let the decision matrix choose per file.",
        seed: "—",
    },
    SettingSpec {
        key: "direct_large_enabled",
        default: "true",
        range: "true | false",
        doc: "Master switch for DIRECT-LARGE (windowed copy with on-the-fly hash).",
        seed: "FILECOPY_DIRECT_MMAP_COPY_ENABLED",
    },
    SettingSpec {
        key: "direct_large_threshold",
        default: "1GiB",
        range: "≥ 1 MiB",
        doc: "Local files at or above this size use DIRECT-LARGE.",
        seed: "FILECOPY_DIRECT_MMAP_COPY_THRESHOLD_BYTES",
    },
    SettingSpec {
        key: "window",
        default: "64MiB",
        range: "64 KiB – 1 GiB, a multiple of 64 KiB",
        doc: "DIRECT-LARGE copy window and DIRECT-SMALL compare window.",
        seed: "FILECOPY_MMAP_WINDOW_BYTES",
    },
    SettingSpec {
        key: "flush_every_windows",
        default: "16",
        range: "1 – 1000",
        doc: "DIRECT-LARGE starts write-back of the data written every N windows; a final fsync always follows.",
        seed: "FILECOPY_MMAP_FLUSH_EVERY_N_WINDOWS",
    },
    SettingSpec {
        key: "abort_on_window_failure",
        default: "true",
        range: "true",
        doc: "A failed DIRECT-LARGE window fails the copy (no per-window fallback). Fixed by the spec.",
        seed: "FILECOPY_MMAP_WRITE_ABORT_ON_FAILURE",
    },
    SettingSpec {
        key: "kernel_copy_chunk",
        default: "16MiB",
        range: "64 KiB – 64 MiB",
        doc: "DIRECT-SMALL hands the kernel at most this much per call, so progress and cancel stay prompt.",
        seed: "—",
    },
    SettingSpec {
        key: "staged_chunk",
        default: "4MiB",
        range: "64 KiB – 1 GiB",
        doc: "STAGED buffered chunk, for the copy and the read-back.",
        seed: "FILECOPY_NETWORK_CHUNK_BYTES",
    },
    SettingSpec {
        key: "mmap_fallback_max_failures",
        default: "5",
        range: "1 – 100",
        doc: "DIRECT-SMALL verify: consecutive windows that may fall back from mmap to a buffered compare before the verify fails.",
        seed: "FILECOPY_MMAP_FALLBACK_MAX_CONSECUTIVE_FAILURES",
    },
    SettingSpec {
        key: "verify_policy",
        default: "lt_threshold",
        range: "none | lt_threshold | all",
        doc: "Which files are verified after the copy.",
        seed: "FILECOPY_VERIFY_POLICY",
    },
    SettingSpec {
        key: "verify_threshold",
        default: "2GiB",
        range: "≥ 0",
        doc: "With verify_policy=lt_threshold, files smaller than this are verified.",
        seed: "FILECOPY_VERIFY_THRESHOLD_BYTES",
    },
    SettingSpec {
        key: "verify_read",
        default: "device",
        range: "device | cache",
        doc: "Verify reads the destination from the medium (page cache dropped after fsync) or from the cache.",
        seed: "—",
    },
    SettingSpec {
        key: "hash",
        default: "blake3",
        range: "blake3 | sha256",
        doc: "Hash algorithm for every hash-based verify.",
        seed: "A.4 hash selection",
    },
    SettingSpec {
        key: "hash_threads",
        default: "0",
        range: "0 (auto: the available cores) – 64",
        doc: "Threads hashing one window (BLAKE3 only); 0 = as many as the machine has cores.",
        seed: "—",
    },
    SettingSpec {
        key: "free_space_margin",
        default: "64MiB",
        range: "≥ 0",
        doc: "Free space required beyond the file's size before a copy starts.",
        seed: "FILECOPY_FREE_DISK_SPACE_MARGIN",
    },
    SettingSpec {
        key: "max_file_size",
        default: "0",
        range: "0 (no cap) or ≥ 1",
        doc: "Refuse files larger than this.",
        seed: "FILECOPY_MAXIMUM_COPY_FILE_SIZE_BYTES",
    },
    SettingSpec {
        key: "unc_policy",
        default: "reject",
        range: "reject | staged",
        doc: "UNC paths: rejected (map a drive letter), or copied STAGED as network.",
        seed: "FILECOPY_UNC_PATH_REJECTION_STRICT",
    },
    SettingSpec {
        key: "timestamp_tolerance",
        default: "0.01s",
        range: "0 – 86400 s, or fat (2 s), exact (0), default (0.01 s)",
        doc: "Two times closer than this compare equal.",
        seed: "timestamp tolerance (seed 001)",
    },
    SettingSpec {
        key: "workers",
        default: "0",
        range: "0 (auto) – 256",
        doc: "Parallel file workers for tree operations.",
        seed: "—",
    },
    SettingSpec {
        key: "sparse_file_warning",
        default: "true",
        range: "true | false",
        doc: "Warn when a source is sparse (its holes are copied as data).",
        seed: "FILECOPY_ATTRIBUTE_SPARSE_FILE_WARNING",
    },
    SettingSpec {
        key: "preserve_times",
        default: "true",
        range: "true | false",
        doc: "Copy modified, access and (where the OS can) creation times.",
        seed: "M07",
    },
    SettingSpec {
        key: "preserve_permissions",
        default: "true",
        range: "true | false",
        doc: "Copy permission bits / the read-only attribute.",
        seed: "M07",
    },
    SettingSpec {
        key: "perf_log",
        default: "true",
        range: "true | false",
        doc: "Emit a Perf: line after each file.",
        seed: "PERF_LOG_ENABLED",
    },
    SettingSpec {
        key: "delete_mode",
        default: "trash",
        range: "trash | permanent",
        doc: "Deleted target items go to the trash / Recycle Bin, or are unlinked for good.",
        seed: "original app: Recycle Bin by default",
    },
    SettingSpec {
        key: "max_delete",
        default: "0.5",
        range: "0 – 1 (a share of the target's entries)",
        doc: "A mirror refuses to delete more than this share of the target (when more than 10 entries) without --force.",
        seed: "—",
    },
    SettingSpec {
        key: "follow_symlinks",
        default: "false",
        range: "true | false",
        doc: "Tree runs follow symbolic links (copying what they point to) instead of copying them as links; loops are reported.",
        seed: "—",
    },
    SettingSpec {
        key: "durability",
        default: "full",
        range: "full | batch | none",
        doc: "full: fsync every file and its folder; batch: one sync per group of files, same atomicity; none: no fsync (benchmarks only — a power cut can lose committed files).",
        seed: "002: fsync of file and directory",
    },
    SettingSpec {
        key: "preserve_owner",
        default: "auto",
        range: "auto | true | false",
        doc: "Keep each file's owner and group (numeric ids); auto: on when running as root. Kept owners also keep setuid and setgid.",
        seed: "—",
    },
    SettingSpec {
        key: "preserve_xattrs",
        default: "true",
        range: "true | false",
        doc: "Keep extended attributes (user.*; as root also trusted.* and security.*). What a target cannot hold is named in the summary.",
        seed: "—",
    },
    SettingSpec {
        key: "preserve_acls",
        default: "true",
        range: "true | false",
        doc: "Keep POSIX ACLs (access ACLs, and default ACLs of folders).",
        seed: "—",
    },
    SettingSpec {
        key: "sparse",
        default: "auto",
        range: "auto | always | never",
        doc: "auto: a sparse source's holes stay holes (only its data is copied and read back); always: runs of zeros in any source become holes too; never: holes are copied as zeros.",
        seed: "—",
    },
];

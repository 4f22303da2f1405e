//! Settings: every constant of the seed (000 A.15, DESIGN.md §5) as one typed struct, with its
//! default, allowed range and validation, layered defaults ← TOML file ← `key=value` overrides.
//!
//! All layers go through one function, [`Settings::set`], so a value from a file, from
//! `--set key=value` or from a friendly CLI flag is parsed and range-checked the same way, and an
//! invalid one is rejected with `CONFIG_E_…` naming the key and the allowed range.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Code, Error, IoResultExt};

mod specs;

pub use specs::{SPECS, SettingSpec};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Which copy strategy to use: chosen per file by the decision matrix, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyChoice {
    /// The decision matrix chooses per file ([`Strategy`](crate::Strategy)).
    Auto,
    /// Every file by DIRECT-SMALL.
    DirectSmall,
    /// Every file by DIRECT-LARGE.
    DirectLarge,
    /// Every file by STAGED.
    Staged,
}

/// When to verify a copied file (seed 001 M04 and the three radio buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyPolicy {
    /// Verify nothing: no hasher is created, no compare runs (seed A.3, A.4).
    None,
    /// Verify files smaller than `verify_threshold`.
    LtThreshold,
    /// Verify every file.
    All,
}

impl VerifyPolicy {
    /// The value as `--set verify_policy=…` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyPolicy::None => "none",
            VerifyPolicy::LtThreshold => "lt_threshold",
            VerifyPolicy::All => "all",
        }
    }
}

/// Where the verify pass reads the destination from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyRead {
    /// From the medium: the file's cached pages are dropped after fsync (or read unbuffered).
    Device,
    /// From whatever the OS has cached (faster, proves less).
    Cache,
}

/// The hash used wherever verification is by hash (seed A.4: one selection for everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgo {
    /// BLAKE3 (the default: fast, and parallel within a file).
    Blake3,
    /// SHA-256 (for manifests other tools must read).
    Sha256,
}

impl HashAlgo {
    /// The value as `--set hash=…` spells it (and manifests are named).
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Blake3 => "blake3",
            HashAlgo::Sha256 => "sha256",
        }
    }
}

/// What to do with UNC paths (`\\server\share`) — seed 001: rejected, users map a drive letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UncPolicy {
    /// Refused: the user maps a drive letter.
    Reject,
    /// Copied by STAGED, as a network path.
    Staged,
}

/// What deleting a target item means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// Move to the platform's trash / Recycle Bin (the original app's default).
    Trash,
    /// Unlink for good.
    Permanent,
}

/// How hard a run works to make each committed file survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Every file's temp is fsynced before its rename and its directory right after.
    Full,
    /// Groups of files: one filesystem sync per batch of temps, one fsync per directory before
    /// the journal records the batch — the same atomicity with far fewer syncs.
    Batch,
    /// No fsync at all (benchmarks): a power cut can lose files the journal calls committed,
    /// and the verify can only read the page cache.
    None,
}

impl Durability {
    /// The value as `--set durability=…` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Batch => "batch",
            Durability::None => "none",
        }
    }
}

/// What a copy does with the holes of a sparse file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sparse {
    /// A sparse source's holes stay holes (only its data extents are copied).
    #[default]
    Auto,
    /// Also runs of zeros in any source become holes (like `cp --sparse=always`).
    Always,
    /// Holes are copied as zeros (the copy takes the file's whole length).
    Never,
}

/// Every tunable of the engine. Field names are the setting keys.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// A forced copy strategy, or `Auto` for the decision matrix per file.
    pub strategy: StrategyChoice,
    /// Master switch for DIRECT-LARGE (windowed copy with on-the-fly hash).
    pub direct_large_enabled: bool,
    /// Local files at or above this size (bytes) use DIRECT-LARGE.
    pub direct_large_threshold: u64,
    /// DIRECT-LARGE copy window and DIRECT-SMALL compare window, in bytes.
    pub window: u64,
    /// DIRECT-LARGE starts write-back every this many windows (a final fsync always follows).
    pub flush_every_windows: u32,
    /// A failed DIRECT-LARGE window fails the copy (fixed by the spec: no per-window fallback).
    pub abort_on_window_failure: bool,
    /// The most DIRECT-SMALL hands the kernel per call, in bytes, so progress and cancel stay
    /// prompt.
    pub kernel_copy_chunk: u64,
    /// STAGED buffered chunk for the copy and the read-back, in bytes.
    pub staged_chunk: u64,
    /// Consecutive DIRECT-SMALL verify windows that may fall back from mmap to a buffered
    /// compare before the verify fails.
    pub mmap_fallback_max_failures: u32,
    /// Which files are verified after their copy.
    pub verify_policy: VerifyPolicy,
    /// With [`VerifyPolicy::LtThreshold`], files smaller than this (bytes) are verified.
    pub verify_threshold: u64,
    /// Whether the verify reads the destination from the medium or from the page cache.
    pub verify_read: VerifyRead,
    /// The hash of every hash-based verify, manifest and tree verify.
    pub hash: HashAlgo,
    /// Threads hashing one window (BLAKE3 only); 0 means one per core.
    pub hash_threads: u32,
    /// Free space (bytes) required beyond a file's size before its copy starts.
    pub free_space_margin: u64,
    /// Run logs kept in the data folder's `logs/` (the newest; 0 keeps all).
    #[serde(default = "log_keep_runs")]
    pub log_keep_runs: u32,
    /// Bytes of run logs kept there at most (the oldest go first; 0: no limit).
    #[serde(default = "log_keep_bytes")]
    pub log_keep_bytes: u64,
    /// Files larger than this (bytes) are refused; 0 means no cap.
    pub max_file_size: u64,
    /// What happens to UNC paths (`\\server\share`).
    pub unc_policy: UncPolicy,
    /// Two times closer than this compare equal (2 s for FAT and exFAT).
    pub timestamp_tolerance: Duration,
    /// Parallel file workers (and walker threads) of a tree run; 0 chooses by the target's
    /// drive kind.
    pub workers: u32,
    /// Warn when a source is sparse (its holes are copied as data).
    pub sparse_file_warning: bool,
    /// Copy modified, access and (where the OS can) creation times.
    pub preserve_times: bool,
    /// Copy permission bits, or on Windows the read-only attribute.
    pub preserve_permissions: bool,
    /// Each `FileFinished` event carries the file's `Perf:` record.
    pub perf_log: bool,
    /// Whether deleted target items go to the trash or are unlinked for good.
    pub delete_mode: DeleteMode,
    /// The largest share of the target (over 10 entries) a mirror deletes without `--force`.
    pub max_delete: f64,
    /// Tree runs copy what symbolic links point to instead of the links (loops are reported).
    pub follow_symlinks: bool,
    /// How each committed file is made to survive a power cut.
    pub durability: Durability,
    /// Keep each file's owner and group (numeric ids): `None` is the default, on when running
    /// as root (like rsync `-a` as root), off otherwise. Kept owners also keep setuid and setgid.
    #[serde(default)]
    pub preserve_owner: Option<bool>,
    /// Keep extended attributes (every namespace this process may write: `user.*`, and as root
    /// `trusted.*` and `security.*`).
    #[serde(default = "yes")]
    pub preserve_xattrs: bool,
    /// Keep POSIX access ACLs, and default ACLs of folders.
    #[serde(default = "yes")]
    pub preserve_acls: bool,
    /// Names of one file inside the source (hard links) become names of one file on the target
    /// (`-H`; off by default, as in rsync).
    #[serde(default)]
    pub preserve_hardlinks: bool,
    /// Keep file flags (`chattr`: immutable, append-only, no-dump, no-atime, synchronous): `None`
    /// is the default, on when running as root (only root may set immutable and append-only).
    /// Set after a copy's rename; a locked target is unlocked before it is replaced.
    #[serde(default)]
    pub preserve_flags: Option<bool>,
    /// What happens to the holes of sparse files.
    #[serde(default)]
    pub sparse: Sparse,
    /// The S3 endpoint (`http://127.0.0.1:8333`, `https://s3.example.com`) for S3-compatible
    /// servers; empty: `AWS_ENDPOINT_URL`, else Amazon's.
    #[serde(default)]
    pub s3_endpoint: String,
    /// The S3 region; empty: `AWS_REGION` / `AWS_DEFAULT_REGION` / the profile's, else
    /// `us-east-1`.
    #[serde(default)]
    pub s3_region: String,
    /// The private key for `sftp://` locations; empty: the ssh agent, then the ssh
    /// configuration's `IdentityFile`s, then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    #[serde(default)]
    pub ssh_key: String,
    /// The known-hosts file that `sftp://` servers' keys are checked against; empty: the ssh
    /// configuration's `UserKnownHostsFile`, else `~/.ssh/known_hosts`.
    #[serde(default)]
    pub ssh_known_hosts: String,
    /// Parts of one large file uploaded at once (multipart uploads).
    #[serde(default = "remote_streams")]
    pub remote_streams: u32,
    /// Retries of a failed remote request (with exponential backoff) before it fails.
    #[serde(default = "remote_retries")]
    pub remote_retries: u32,
    /// The keys the user set (a file, `--set`, a flag), as opposed to defaults: metadata the
    /// user asked for explicitly and that could not be kept makes the run fail (exit 2).
    #[serde(default)]
    pub explicit: Vec<String>,
}

fn yes() -> bool {
    true
}

fn remote_streams() -> u32 {
    4
}

fn remote_retries() -> u32 {
    5
}

fn log_keep_runs() -> u32 {
    100
}

fn log_keep_bytes() -> u64 {
    256 * MIB
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            strategy: StrategyChoice::Auto,
            direct_large_enabled: true,
            direct_large_threshold: GIB,
            window: 64 * MIB,
            flush_every_windows: 16,
            abort_on_window_failure: true,
            kernel_copy_chunk: 16 * MIB,
            staged_chunk: 4 * MIB,
            mmap_fallback_max_failures: 5,
            verify_policy: VerifyPolicy::LtThreshold,
            verify_threshold: 2 * GIB,
            verify_read: VerifyRead::Device,
            hash: HashAlgo::Blake3,
            hash_threads: 0,
            free_space_margin: 64 * MIB,
            log_keep_runs: log_keep_runs(),
            log_keep_bytes: log_keep_bytes(),
            max_file_size: 0,
            unc_policy: UncPolicy::Reject,
            timestamp_tolerance: Duration::from_millis(10),
            workers: 0,
            sparse_file_warning: true,
            preserve_times: true,
            preserve_permissions: true,
            perf_log: true,
            delete_mode: DeleteMode::Trash,
            max_delete: 0.5,
            follow_symlinks: false,
            durability: Durability::Batch,
            preserve_owner: None,
            preserve_xattrs: true,
            preserve_acls: true,
            preserve_hardlinks: false,
            preserve_flags: None,
            sparse: Sparse::Auto,
            s3_endpoint: String::new(),
            s3_region: String::new(),
            ssh_key: String::new(),
            ssh_known_hosts: String::new(),
            remote_streams: remote_streams(),
            remote_retries: remote_retries(),
            explicit: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether owners are kept: the setting, or — `auto` — whether this process runs as root.
    pub fn keeps_owner(&self) -> bool {
        self.preserve_owner.unwrap_or_else(fsops::is_root)
    }

    /// Whether file flags are kept: the setting, or — `auto` — whether this process runs as root,
    /// where this platform carries them.
    pub fn keeps_flags(&self) -> bool {
        fsops::KEEPS.flags && self.preserve_flags.unwrap_or_else(fsops::is_root)
    }

    /// [`Settings::set`] for a value the user chose (a settings file, `--set`, a flag): the key
    /// is remembered as explicit (see [`Settings::is_explicit`]).
    pub fn choose(&mut self, key: &str, value: &str) -> Result<(), Error> {
        self.set(key, value)?;
        if !self.is_explicit(key) {
            self.explicit.push(key.to_string());
        }
        Ok(())
    }

    /// Whether the user set `key` (as opposed to its default).
    pub fn is_explicit(&self, key: &str) -> bool {
        self.explicit.iter().any(|k| k == key)
    }

    /// The settings of a move: every file is verified (a source goes only once its copy is
    /// proven), and durability cannot be switched off (`CONFIG_E_INVALID_VALUE`).
    pub fn for_move(mut self) -> Result<Settings, Error> {
        if self.durability == Durability::None {
            return Err(Error::new(
                Code::ConfigInvalidValue,
                "durability",
                "a move deletes sources, so it needs durability=full or batch, never none",
            ));
        }
        self.verify_policy = VerifyPolicy::All;
        Ok(self)
    }

    /// Sets one key from its text form, validating it. The single path for every layer.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let v = value.trim();
        let bad = |range: &str| invalid(key, value, range);
        match key {
            "strategy" => {
                self.strategy = match v.to_ascii_lowercase().replace('_', "-").as_str() {
                    "auto" => StrategyChoice::Auto,
                    "direct-small" => StrategyChoice::DirectSmall,
                    "direct-large" => StrategyChoice::DirectLarge,
                    "staged" => StrategyChoice::Staged,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "direct_large_enabled" => {
                self.direct_large_enabled = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "direct_large_threshold" => {
                let n = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?;
                if n < MIB {
                    return Err(bad(range_of(key)));
                }
                self.direct_large_threshold = n;
            }
            "window" => {
                let n = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?;
                if !(64 * KIB..=GIB).contains(&n) || !n.is_multiple_of(64 * KIB) {
                    return Err(bad(range_of(key)));
                }
                self.window = n;
            }
            "flush_every_windows" => {
                self.flush_every_windows =
                    parse_int(v, 1, 1000).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "abort_on_window_failure" => {
                if parse_bool(v) != Some(true) {
                    return Err(bad(range_of(key)));
                }
            }
            "kernel_copy_chunk" => {
                self.kernel_copy_chunk =
                    parse_bytes_in(v, 64 * KIB, 64 * MIB).ok_or_else(|| bad(range_of(key)))?
            }
            "staged_chunk" => {
                self.staged_chunk =
                    parse_bytes_in(v, 64 * KIB, GIB).ok_or_else(|| bad(range_of(key)))?
            }
            "mmap_fallback_max_failures" => {
                self.mmap_fallback_max_failures =
                    parse_int(v, 1, 100).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "verify_policy" | "verify" => {
                self.verify_policy = match v.to_ascii_lowercase().replace('-', "_").as_str() {
                    "none" => VerifyPolicy::None,
                    "lt_threshold" => VerifyPolicy::LtThreshold,
                    "all" => VerifyPolicy::All,
                    _ => return Err(invalid("verify_policy", value, range_of("verify_policy"))),
                }
            }
            "verify_threshold" => {
                self.verify_threshold = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?
            }
            "verify_read" => {
                self.verify_read = match v.to_ascii_lowercase().as_str() {
                    "device" => VerifyRead::Device,
                    "cache" => VerifyRead::Cache,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "hash" => {
                self.hash = match v.to_ascii_lowercase().replace('-', "").as_str() {
                    "blake3" => HashAlgo::Blake3,
                    "sha256" => HashAlgo::Sha256,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "hash_threads" => {
                self.hash_threads = parse_int(v, 0, 64).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "log_keep_runs" => {
                self.log_keep_runs =
                    parse_int(v, 0, u64::from(u32::MAX)).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "log_keep_bytes" => {
                self.log_keep_bytes = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?
            }
            "free_space_margin" => {
                self.free_space_margin = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?
            }
            "max_file_size" => {
                self.max_file_size = parse_bytes(v).ok_or_else(|| bad(range_of(key)))?
            }
            "unc_policy" => {
                self.unc_policy = match v.to_ascii_lowercase().as_str() {
                    "reject" => UncPolicy::Reject,
                    "staged" => UncPolicy::Staged,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "timestamp_tolerance" => {
                let d = parse_duration(v).ok_or_else(|| bad(range_of(key)))?;
                if d > Duration::from_secs(86400) {
                    return Err(bad(range_of(key)));
                }
                self.timestamp_tolerance = d;
            }
            "workers" => {
                self.workers = parse_int(v, 0, 256).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "sparse_file_warning" => {
                self.sparse_file_warning = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "preserve_times" => {
                self.preserve_times = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "preserve_permissions" => {
                self.preserve_permissions = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "perf_log" => self.perf_log = parse_bool(v).ok_or_else(|| bad("true | false"))?,
            "delete_mode" => {
                self.delete_mode = match v.to_ascii_lowercase().as_str() {
                    "trash" => DeleteMode::Trash,
                    "permanent" => DeleteMode::Permanent,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "follow_symlinks" => {
                self.follow_symlinks = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "preserve_owner" => {
                self.preserve_owner = match v.to_ascii_lowercase().as_str() {
                    "auto" => None,
                    _ => Some(parse_bool(v).ok_or_else(|| bad("auto | true | false"))?),
                }
            }
            "preserve_flags" => {
                self.preserve_flags = match v.to_ascii_lowercase().as_str() {
                    "auto" => None,
                    _ => Some(parse_bool(v).ok_or_else(|| bad("auto | true | false"))?),
                }
            }
            "preserve_xattrs" => {
                self.preserve_xattrs = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "preserve_acls" => {
                self.preserve_acls = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "preserve_hardlinks" => {
                self.preserve_hardlinks = parse_bool(v).ok_or_else(|| bad("true | false"))?
            }
            "sparse" => {
                self.sparse = match v.to_ascii_lowercase().as_str() {
                    "auto" => Sparse::Auto,
                    "always" => Sparse::Always,
                    "never" => Sparse::Never,
                    _ => return Err(bad("auto | always | never")),
                }
            }
            "s3_endpoint" => {
                let v = v.trim();
                if !(v.is_empty() || v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(bad(range_of(key)));
                }
                self.s3_endpoint = v.trim_end_matches('/').to_string();
            }
            "s3_region" => self.s3_region = v.trim().to_string(),
            "ssh_key" => self.ssh_key = v.trim().to_string(),
            "ssh_known_hosts" => self.ssh_known_hosts = v.trim().to_string(),
            "remote_streams" => {
                self.remote_streams = parse_int(v, 1, 64).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "remote_retries" => {
                self.remote_retries = parse_int(v, 0, 20).ok_or_else(|| bad(range_of(key)))? as u32
            }
            "durability" => {
                self.durability = match v.to_ascii_lowercase().as_str() {
                    "full" => Durability::Full,
                    "batch" => Durability::Batch,
                    "none" => Durability::None,
                    _ => return Err(bad(range_of(key))),
                }
            }
            "max_delete" => {
                let x: f64 = v
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| bad(range_of(key)))?;
                let x = if v.ends_with('%') { x / 100.0 } else { x };
                if !(0.0..=1.0).contains(&x) {
                    return Err(bad(range_of(key)));
                }
                self.max_delete = x;
            }
            _ => {
                return Err(Error::new(
                    Code::ConfigUnknownKey,
                    "",
                    format!("unknown setting '{key}'"),
                ));
            }
        }
        Ok(())
    }

    /// Applies a `key=value` override (the `--set` form).
    pub fn set_pair(&mut self, pair: &str) -> Result<(), Error> {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::new(
                Code::ConfigInvalidValue,
                "",
                format!("'{pair}' is not of the form key=value"),
            )
        })?;
        self.choose(k.trim(), v)
    }

    /// Applies every key of a TOML document (flat `key = value` pairs).
    pub(crate) fn apply_toml(&mut self, text: &str, origin: &Path) -> Result<(), Error> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::new(
                Code::ConfigFile,
                origin,
                format!("invalid TOML: {}", e.message()),
            )
        })?;
        for (k, v) in &table {
            if k == "job" && v.is_table() {
                // A saved job's folders, mode and filters: read by `tree::SavedJob`.
                continue;
            }
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(Error::new(
                        Code::ConfigInvalidValue,
                        origin,
                        format!("setting '{k}' must be a string, number or boolean"),
                    ));
                }
            };
            self.choose(k, &s).map_err(|mut e| {
                e.path = origin.to_path_buf();
                e
            })?;
        }
        Ok(())
    }

    /// Reads and applies a TOML settings file.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).or_code(
            Code::ConfigFile,
            path,
            "cannot read the settings file",
        )?;
        self.apply_toml(&text, path)
    }

    /// The user's settings file, read before any `--config`: `$FCS_CONFIG` if set, else
    /// `config.toml` in the platform's config folder (`~/.config/fcs/`, `%APPDATA%\fcs\`,
    /// `~/Library/Application Support/fcs/`). It need not exist.
    pub fn user_file() -> Option<PathBuf> {
        match std::env::var_os("FCS_CONFIG") {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => dirs::config_dir().map(|d| d.join("fcs").join("config.toml")),
        }
    }

    /// Defaults with the user's settings file ([`Settings::user_file`]) applied, if it exists.
    pub fn with_user_file() -> Result<Settings, Error> {
        let mut s = Settings::default();
        if let Some(path) = Settings::user_file().filter(|p| p.is_file()) {
            s.apply_file(&path)?;
        }
        Ok(s)
    }

    /// Whether a file of `size` bytes is verified under the current policy.
    pub(crate) fn verifies(&self, size: u64) -> bool {
        match self.verify_policy {
            VerifyPolicy::None => false,
            VerifyPolicy::All => true,
            VerifyPolicy::LtThreshold => size < self.verify_threshold,
        }
    }
}

fn range_of(key: &str) -> &'static str {
    SPECS
        .iter()
        .find(|s| s.key == key)
        .map(|s| s.range)
        .unwrap_or("see `fcs settings`")
}

fn invalid(key: &str, value: &str, range: &str) -> Error {
    Error::new(
        Code::ConfigInvalidValue,
        "",
        format!("invalid value '{value}' for setting '{key}': allowed {range}"),
    )
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_int(v: &str, min: u64, max: u64) -> Option<u64> {
    v.parse::<u64>().ok().filter(|n| (min..=max).contains(n))
}

/// Sizes: plain bytes, or with a binary or decimal unit: `64MiB`, `1 GiB`, `4M` (binary), `1GB`.
pub fn parse_bytes(v: &str) -> Option<u64> {
    let cfg = parse_size::Config::new().with_binary();
    cfg.parse_size(v.trim()).ok()
}

fn parse_bytes_in(v: &str, min: u64, max: u64) -> Option<u64> {
    parse_bytes(v).filter(|n| (min..=max).contains(n))
}

/// Durations: seconds (`0.01`, `2`), or with a unit `s` / `ms`.
fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    // Presets: FAT/exFAT store modified times in 2 s steps; `exact` for nanosecond filesystems.
    match v.to_ascii_lowercase().as_str() {
        "fat" | "exfat" => return Some(Duration::from_secs(2)),
        "exact" => return Some(Duration::ZERO),
        "default" => return Some(Duration::from_millis(10)),
        _ => {}
    }
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        (v, 1.0)
    };
    let x: f64 = num.trim().parse().ok()?;
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(x * scale))
}

/// Formats a byte count for humans and `Decision:` lines: `64 MiB`, `1.5 GiB`, `512 B`.
pub fn format_bytes(n: u64) -> String {
    let units = [("GiB", GIB), ("MiB", MIB), ("KiB", KIB)];
    for (name, size) in units {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {name}", n / size)
            } else {
                format!("{:.1} {name}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Result<Settings, Error> {
        let mut s = Settings::default();
        s.set(k, v)?;
        Ok(s)
    }

    #[test]
    fn defaults_match_the_seed() {
        let s = Settings::default();
        assert!(s.direct_large_enabled);
        assert_eq!(s.direct_large_threshold, 1 << 30);
        assert_eq!(s.window, 64 << 20);
        assert_eq!(s.flush_every_windows, 16);
        assert_eq!(s.staged_chunk, 4 << 20);
        assert_eq!(s.verify_policy, VerifyPolicy::LtThreshold);
        assert_eq!(s.verify_threshold, 2 << 30);
        assert_eq!(s.hash, HashAlgo::Blake3);
        assert_eq!(s.free_space_margin, 64 << 20);
        assert_eq!(s.mmap_fallback_max_failures, 5);
        assert_eq!(s.unc_policy, UncPolicy::Reject);
        assert_eq!(s.timestamp_tolerance, Duration::from_millis(10));
    }

    #[test]
    fn every_spec_default_parses_to_the_struct_default() {
        let d = Settings::default();
        for spec in SPECS {
            let mut s = Settings::default();
            s.set(spec.key, spec.default)
                .unwrap_or_else(|e| panic!("{}: {e}", spec.key));
            assert_eq!(
                s, d,
                "spec default of {} disagrees with Settings::default",
                spec.key
            );
        }
    }

    #[test]
    fn sizes_accept_units_and_plain_bytes() {
        assert_eq!(parse_bytes("64MiB"), Some(64 << 20));
        assert_eq!(parse_bytes("1 GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("65536"), Some(65536));
        assert_eq!(parse_bytes("4M"), Some(4 << 20));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(set("window", "128 MiB").unwrap().window, 128 << 20);
    }

    #[test]
    fn window_must_be_a_multiple_of_64_kib() {
        let e = set("window", "100000").unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalidValue);
        assert!(
            e.message.contains("'window'") && e.message.contains("multiple of 64 KiB"),
            "{}",
            e.message
        );
        assert!(set("window", "32KiB").is_err());
        assert!(set("window", "2GiB").is_err());
        assert!(set("window", "192KiB").is_ok());
    }

    #[test]
    fn flush_every_windows_range_is_1_to_1000() {
        let e = set("flush_every_windows", "0").unwrap_err();
        assert!(e.message.contains("1 – 1000"), "{}", e.message);
        assert!(set("flush_every_windows", "1001").is_err());
        assert_eq!(
            set("flush_every_windows", "1000")
                .unwrap()
                .flush_every_windows,
            1000
        );
    }

    #[test]
    fn other_ranges_are_enforced() {
        assert!(set("direct_large_threshold", "512KiB").is_err());
        assert!(set("staged_chunk", "1KiB").is_err());
        assert!(set("kernel_copy_chunk", "128MiB").is_err());
        assert!(set("mmap_fallback_max_failures", "0").is_err());
        assert!(set("abort_on_window_failure", "false").is_err());
        assert!(set("verify_policy", "sometimes").is_err());
        assert!(set("hash", "md5").is_err());
        assert!(set("timestamp_tolerance", "-1").is_err());
        assert_eq!(
            set("timestamp_tolerance", "2s")
                .unwrap()
                .timestamp_tolerance,
            Duration::from_secs(2)
        );
        assert_eq!(
            set("strategy", "direct_large").unwrap().strategy,
            StrategyChoice::DirectLarge
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_own_code() {
        let e = set("windw", "64MiB").unwrap_err();
        assert_eq!(e.code, Code::ConfigUnknownKey);
        assert!(e.message.contains("windw"));
    }

    #[test]
    fn toml_layer_then_overrides() {
        let mut s = Settings::default();
        s.apply_toml("window = \"1MiB\"\nflush_every_windows = 4\nhash = \"sha256\"\ndirect_large_enabled = false\n", Path::new("c.toml")).unwrap();
        assert_eq!(
            (
                s.window,
                s.flush_every_windows,
                s.hash,
                s.direct_large_enabled
            ),
            (1 << 20, 4, HashAlgo::Sha256, false)
        );
        s.set_pair("window=2MiB").unwrap();
        assert_eq!(s.window, 2 << 20);
        let e = Settings::default()
            .apply_toml("flush_every_windows = 0", Path::new("c.toml"))
            .unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalidValue);
        assert_eq!(e.path, Path::new("c.toml"));
        let e = Settings::default()
            .apply_toml("window = [", Path::new("c.toml"))
            .unwrap_err();
        assert_eq!(e.code, Code::ConfigFile);
    }

    #[test]
    fn verify_policy_decides_per_size() {
        let mut s = Settings::default();
        assert!(s.verifies(10));
        assert!(!s.verifies(2 << 30));
        s.verify_policy = VerifyPolicy::All;
        assert!(s.verifies(u64::MAX));
        s.verify_policy = VerifyPolicy::None;
        assert!(!s.verifies(0));
    }

    #[test]
    fn formats_bytes() {
        assert_eq!(format_bytes(64 << 20), "64 MiB");
        assert_eq!(format_bytes(4 << 20), "4 MiB");
        assert_eq!(format_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(format_bytes(100), "100 B");
    }
}

//! Strategy selection (seed 000 §1 and A.2) and the `Decision:` explainer line (DESIGN.md §6).

use std::fmt;

use fsops::DriveKind;
use serde::Serialize;

use crate::settings::{HashAlgo, Settings, StrategyChoice, VerifyPolicy, format_bytes};

/// How one file is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// Local → local below the threshold: the OS's kernel copy, verified by window compare.
    #[serde(rename = "DIRECT-SMALL")]
    DirectSmall,
    /// Local → local at or above the threshold: preallocated temp, windowed copy with the source
    /// hashed on the fly, verified by one hash pass over the destination.
    #[serde(rename = "DIRECT-LARGE")]
    DirectLarge,
    /// Network, removable or unknown: buffered chunks with a progressive hash, verified by a
    /// buffered hash pass over the destination.
    #[serde(rename = "STAGED")]
    Staged,
}

impl Strategy {
    /// The name as the `Decision:` and `Perf:` lines print it (`DIRECT-SMALL`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::DirectSmall => "DIRECT-SMALL",
            Strategy::DirectLarge => "DIRECT-LARGE",
            Strategy::Staged => "STAGED",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decision matrix, first match wins (seed A.2):
/// 1. either end network/UNC, unknown or removable (anything not local) → STAGED;
/// 2. both local and `size ≥ direct_large_threshold` and DIRECT-LARGE enabled → DIRECT-LARGE;
/// 3. both local → DIRECT-SMALL.
///
/// A forced `strategy` setting wins over the matrix.
pub fn select(settings: &Settings, src: DriveKind, dst: DriveKind, size: u64) -> Strategy {
    match settings.strategy {
        StrategyChoice::DirectSmall => return Strategy::DirectSmall,
        StrategyChoice::DirectLarge => return Strategy::DirectLarge,
        StrategyChoice::Staged => return Strategy::Staged,
        StrategyChoice::Auto => {}
    }
    if !src.is_local() || !dst.is_local() {
        Strategy::Staged
    } else if settings.direct_large_enabled && size >= settings.direct_large_threshold {
        Strategy::DirectLarge
    } else {
        Strategy::DirectSmall
    }
}

/// How the copy of one file is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Byte-for-byte window compare of source and destination (DIRECT-SMALL).
    Mmap,
    /// Source hashed during the copy, destination hashed once afterwards.
    Hash,
    /// Not verified (by policy).
    None,
}

impl VerifyMode {
    /// The name as the `Decision:` line prints it (`verify=`).
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyMode::Mmap => "mmap",
            VerifyMode::Hash => "hash",
            VerifyMode::None => "none",
        }
    }
    fn detail(self) -> &'static str {
        match self {
            VerifyMode::Mmap => "mmap_compare",
            VerifyMode::Hash => "hash(src_on_copy + dest_post)",
            VerifyMode::None => "none",
        }
    }
}

/// Whether pre-allocation applies and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prealloc {
    /// The whole length was reserved before the copy (DIRECT-LARGE).
    Ok,
    /// The length could not be reserved: the copy fails with `COPY_E_PREALLOC`.
    Failed,
    /// The strategy does not pre-allocate.
    NotApplicable,
}

/// Where the verify pass read the destination from (`read_back=` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadBackMode {
    /// From the medium.
    Device,
    /// From the page cache (by setting, or because the target cannot do otherwise).
    Cache,
    /// The file is not verified.
    NotApplicable,
}

/// Everything the `Decision:` line reports for one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The strategy chosen.
    pub strategy: Strategy,
    /// The source's drive kind (`LOCAL_FIXED`, `NETWORK_UNC`, …).
    pub src_kind: &'static str,
    /// The target's drive kind.
    pub dst_kind: &'static str,
    /// The file's size in bytes.
    pub size: u64,
    /// The verify policy in effect.
    pub verify_policy: VerifyPolicy,
    /// The copy (DIRECT-LARGE) or compare (DIRECT-SMALL) window; none for STAGED.
    pub window: Option<u64>,
    /// The STAGED chunk; none for the other strategies.
    pub chunk: Option<u64>,
    /// How the copy is verified.
    pub verify: VerifyMode,
    /// Whether the temp is pre-allocated, and how that went.
    pub prealloc: Prealloc,
    /// DIRECT-LARGE's `flush_every_windows`; none for the other strategies.
    pub flush_every: Option<u32>,
    /// The hash of the verify, when the file is verified.
    pub algo: Option<HashAlgo>,
    /// Where the verify reads the copy from.
    pub read_back: ReadBackMode,
}

impl Decision {
    /// The decision for one file before any I/O: strategy-specific fields filled in per the seed.
    pub(crate) fn new(
        settings: &Settings,
        strategy: Strategy,
        src: DriveKind,
        dst: DriveKind,
        size: u64,
    ) -> Decision {
        let verified = settings.verifies(size);
        let verify = match (verified, strategy) {
            (false, _) => VerifyMode::None,
            (true, Strategy::DirectSmall) => VerifyMode::Mmap,
            (true, _) => VerifyMode::Hash,
        };
        Decision {
            strategy,
            src_kind: src.as_str(),
            dst_kind: dst.as_str(),
            size,
            verify_policy: settings.verify_policy,
            // DIRECT-SMALL uses the window for its compare (the seed's example shows it).
            window: (strategy != Strategy::Staged).then_some(settings.window),
            chunk: (strategy == Strategy::Staged).then_some(settings.staged_chunk),
            verify,
            prealloc: if strategy == Strategy::DirectLarge {
                Prealloc::Ok
            } else {
                Prealloc::NotApplicable
            },
            flush_every: (strategy == Strategy::DirectLarge)
                .then_some(settings.flush_every_windows),
            algo: verified.then_some(settings.hash),
            read_back: if verified {
                match settings.verify_read {
                    crate::settings::VerifyRead::Device => ReadBackMode::Device,
                    crate::settings::VerifyRead::Cache => ReadBackMode::Cache,
                }
            } else {
                ReadBackMode::NotApplicable
            },
        }
    }
}

fn mib_or_na(v: Option<u64>) -> String {
    v.map(format_bytes).unwrap_or_else(|| "n/a".into())
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Decision: {} reason=src:{},dst:{},size:{},policy:{} window={} chunk={} verify={} verify_detail={} prealloc={} flush_every={} algo={} verify_policy={} read_back={}",
            self.strategy,
            self.src_kind,
            self.dst_kind,
            self.size,
            self.verify_policy.as_str(),
            mib_or_na(self.window),
            mib_or_na(self.chunk),
            self.verify.as_str(),
            self.verify.detail(),
            match self.prealloc {
                Prealloc::Ok => "ok",
                Prealloc::Failed => "failed",
                Prealloc::NotApplicable => "n/a",
            },
            self.flush_every
                .map(|n| n.to_string())
                .unwrap_or_else(|| "n/a".into()),
            self.algo.map(|a| a.as_str()).unwrap_or("none"),
            self.verify_policy.as_str(),
            match self.read_back {
                ReadBackMode::Device => "device",
                ReadBackMode::Cache => "cache",
                ReadBackMode::NotApplicable => "n/a",
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DriveKind::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn matrix_first_match_wins() {
        let s = Settings::default();
        assert_eq!(
            select(&s, LocalFixed, LocalFixed, GIB - 1),
            Strategy::DirectSmall
        );
        assert_eq!(
            select(&s, LocalFixed, LocalFixed, GIB),
            Strategy::DirectLarge
        );
        assert_eq!(
            select(&s, LocalFixed, LocalFixed, GIB + 1),
            Strategy::DirectLarge
        );
        assert_eq!(select(&s, Ramdisk, LocalFixed, 5), Strategy::DirectSmall);
        for other in [NetworkUnc, Removable, Unknown, Cdrom] {
            assert_eq!(
                select(&s, LocalFixed, other, 5 * GIB),
                Strategy::Staged,
                "{other}"
            );
            assert_eq!(
                select(&s, other, LocalFixed, 5),
                Strategy::Staged,
                "{other}"
            );
        }
    }

    #[test]
    fn disabled_direct_large_falls_to_direct_small_and_forcing_wins() {
        let mut s = Settings {
            direct_large_enabled: false,
            ..Default::default()
        };
        assert_eq!(
            select(&s, LocalFixed, LocalFixed, 10 * GIB),
            Strategy::DirectSmall
        );
        s.strategy = StrategyChoice::Staged;
        assert_eq!(select(&s, LocalFixed, LocalFixed, 1), Strategy::Staged);
        s.strategy = StrategyChoice::DirectLarge;
        assert_eq!(select(&s, NetworkUnc, LocalFixed, 1), Strategy::DirectLarge);
    }

    #[test]
    fn decision_lines_match_the_seed_examples() {
        let s = Settings::default();
        let d = Decision::new(
            &s,
            Strategy::DirectLarge,
            LocalFixed,
            LocalFixed,
            16106127360,
        );
        assert_eq!(
            d.to_string(),
            "Decision: DIRECT-LARGE reason=src:LOCAL_FIXED,dst:LOCAL_FIXED,size:16106127360,policy:lt_threshold window=64 MiB chunk=n/a verify=none verify_detail=none prealloc=ok flush_every=16 algo=none verify_policy=lt_threshold read_back=n/a"
        );
        let all = Settings {
            verify_policy: VerifyPolicy::All,
            ..Default::default()
        };
        let d = Decision::new(
            &all,
            Strategy::DirectLarge,
            LocalFixed,
            LocalFixed,
            16106127360,
        );
        assert!(d.to_string().contains("verify=hash verify_detail=hash(src_on_copy + dest_post) prealloc=ok flush_every=16 algo=blake3 verify_policy=all read_back=device"), "{d}");
        let d = Decision::new(&s, Strategy::DirectSmall, LocalFixed, LocalFixed, 125829120);
        assert_eq!(
            d.to_string(),
            "Decision: DIRECT-SMALL reason=src:LOCAL_FIXED,dst:LOCAL_FIXED,size:125829120,policy:lt_threshold window=64 MiB chunk=n/a verify=mmap verify_detail=mmap_compare prealloc=n/a flush_every=n/a algo=blake3 verify_policy=lt_threshold read_back=device"
        );
        let d = Decision::new(&s, Strategy::Staged, LocalFixed, NetworkUnc, 1 << 20);
        assert_eq!(
            d.to_string(),
            "Decision: STAGED reason=src:LOCAL_FIXED,dst:NETWORK_UNC,size:1048576,policy:lt_threshold window=n/a chunk=4 MiB verify=hash verify_detail=hash(src_on_copy + dest_post) prealloc=n/a flush_every=n/a algo=blake3 verify_policy=lt_threshold read_back=device"
        );
    }
}

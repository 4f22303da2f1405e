//! The target's own rules, probed once per run (DESIGN.md §9): does its filesystem fold case or
//! Unicode normalisation, how fine are its modified times, can it hold symbolic links and
//! permission bits. Compare and plan work by these answers: names match in the target's
//! namespace, the timestamp tolerance is never finer than the target can store, and what it
//! cannot hold is said once instead of failing every file.
//!
//! A real run probes with a file of ours in the target folder (a temp name, so a crash leaves
//! nothing a later run would not sweep): its mode and an odd-nanosecond time are set and read
//! back, its name looked up in another case. The folder's own times are put back afterwards, so
//! the probe changes nothing a user can see. A dry run writes nothing: it judges by what is
//! already there (an existing name looked up in another case, the finest modified time found).

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::{Duration, SystemTime};

use fsops::{Dir, EntryType};

use crate::meta::XattrSet;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// What a target's filesystem can hold, as probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Names that differ only by case are one name (NTFS, APFS, exFAT, FAT).
    pub case_insensitive: bool,
    /// Names that differ only by Unicode normalisation (NFC, NFD) are one name (APFS, HFS+).
    pub normalization_insensitive: bool,
    /// The finest modified time it stores, in nanoseconds (1 on ext4, 100 on NTFS, 10 ms on
    /// exFAT, 1 s on sshfs, 2 s on FAT).
    pub time_granularity_ns: u64,
    /// It can hold symbolic links.
    pub symlinks: bool,
    /// It holds permission bits as set (FAT and exFAT do not).
    pub permissions: bool,
    /// It holds owners and groups as set, and this process may set them (root).
    pub owners: bool,
    /// It holds extended attributes (`user.*` set and read back).
    pub xattrs: bool,
    /// It holds hard links (a second name for one file).
    pub hard_links: bool,
    /// A folder renamed keeps what it holds (fusefat loses it: such folders are renamed by
    /// moving their contents).
    pub folder_renames: bool,
    /// Whether these answers come from a probe file (a real run) or from what was already
    /// there (a dry run, or a target the probe could not write into).
    pub probed: bool,
}

impl Default for Capabilities {
    /// What a POSIX filesystem holds: case-sensitive, nanosecond times, links, permissions.
    fn default() -> Capabilities {
        Capabilities {
            case_insensitive: false,
            normalization_insensitive: false,
            time_granularity_ns: 1,
            symlinks: true,
            permissions: true,
            owners: fsops::KEEPS.owner && fsops::is_root(),
            xattrs: fsops::KEEPS.xattrs,
            hard_links: true,
            folder_renames: true,
            probed: false,
        }
    }
}

impl Capabilities {
    /// The time granularity as a duration.
    pub(crate) fn time_granularity(&self) -> Duration {
        Duration::from_nanos(self.time_granularity_ns)
    }

    /// The effective capabilities as plain words, for `-v` and the log.
    pub fn describe(&self) -> String {
        let g = self.time_granularity();
        format!(
            "{}{}, modified times to {}, {}, {}{}",
            if self.case_insensitive {
                "case-insensitive"
            } else {
                "case-sensitive"
            },
            if self.normalization_insensitive {
                ", normalisation-insensitive"
            } else {
                ""
            },
            humantime::format_duration(g),
            if self.symlinks {
                "symbolic links"
            } else {
                "no symbolic links"
            },
            if self.permissions {
                "permissions"
            } else {
                "no permissions"
            },
            if self.probed {
                ""
            } else {
                " (judged from what is there)"
            },
        )
    }
}

/// Makes a run's settings and criteria fit `caps` (for the target `target`), and returns what
/// changed, to be said once: the timestamp tolerance is never finer than the target stores; a
/// target that cannot hold permission bits neither gets nor compares them; names match the way
/// the target folds them.
pub(crate) fn fit(
    caps: &Capabilities,
    settings: &mut crate::settings::Settings,
    criteria: &mut crate::tree::Criteria,
) -> Vec<crate::events::Notice> {
    let mut said = Vec::new();
    let g = caps.time_granularity();
    if g > settings.timestamp_tolerance {
        settings.timestamp_tolerance = g;
        said.push(crate::events::Notice {
            kind: crate::events::NoticeKind::ToleranceRaised,
            message: format!(
                "the target stores modified times to {}: they are compared with that tolerance",
                humantime::format_duration(g)
            ),
        });
    }
    if !caps.permissions && settings.preserve_permissions {
        settings.preserve_permissions = false;
        said.push(crate::events::Notice {
            kind: crate::events::NoticeKind::PermissionsNotKept,
            message: "the target's filesystem does not hold permission bits: they are neither kept nor compared".into(),
        });
    }
    criteria.permissions &= settings.preserve_permissions;
    // Owners where they are kept; attributes where they were asked for (a no-change re-sync
    // would otherwise list the attributes of every file on both sides).
    criteria.owner &= settings.keeps_owner() && caps.owners;
    let (kept, asked) = (XattrSet::kept_by(settings), criteria.xattrs);
    criteria.xattrs = XattrSet {
        acls: kept.acls && caps.xattrs && (asked.acls || settings.is_explicit("preserve_acls")),
        others: kept.others
            && caps.xattrs
            && (asked.others || settings.is_explicit("preserve_xattrs")),
        privileged: fsops::is_root(),
    };
    criteria.fold_case = caps.case_insensitive;
    criteria.fold_unicode = caps.normalization_insensitive;
    said
}

/// The granularities a filesystem may store, finest first.
const LADDER: [u64; 7] = [
    1,
    100,
    1_000,
    10_000_000,
    1_000_000_000,
    2_000_000_000,
    86_400_000_000_000,
];

/// The finest granularity on the ladder that is at least `d` ns.
fn granularity_for(d: u64) -> u64 {
    LADDER.into_iter().find(|g| *g >= d).unwrap_or(LADDER[6])
}

/// Probes the filesystem of `dir` (the target root, or its nearest existing folder) with a file
/// named after `tag`; with `write` false (a dry run), judges by what is there.
pub(crate) fn probe(dir: &Path, tag: &str, write: bool) -> Capabilities {
    let Ok(d) = Dir::open(dir) else {
        return Capabilities::default();
    };
    if write && let Some(c) = probe_with_file(&d, tag) {
        return c;
    }
    judge(&d)
}

fn probe_with_file(d: &Dir, tag: &str) -> Option<Capabilities> {
    let before = d.metadata().ok()?;
    let name = OsString::from(format!(".fcs-probe.{tag}-0.fcs.tmp"));
    let file = d.create_temp(&name).ok()?;
    let mut caps = Capabilities {
        probed: true,
        ..Capabilities::default()
    };
    // An odd second and an odd nanosecond: what comes back tells the granularity (2 s FAT
    // keeps an even second, 1 s drops the fraction, exFAT keeps 10 ms, NTFS 100 ns).
    let set = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_001, 123_456_789);
    let times = fsops::Times {
        accessed: Some(set),
        modified: Some(set),
        created: None,
    };
    if fsops::set_times(&file, &times).is_ok()
        && let Ok(got) = file.metadata().and_then(|m| m.modified())
    {
        let d = set
            .duration_since(got)
            .or_else(|_| got.duration_since(set).map_err(|_| ()))
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        caps.time_granularity_ns = granularity_for(d);
    }
    caps.permissions = fsops::set_file_mode(&file, 0o640).is_ok()
        && file
            .metadata()
            .is_ok_and(|m| fsops::mode_bits(&m) == expected_mode());
    // Given away to uid/gid 1 and read back: FUSE filesystems without owners (exFAT, FAT) and
    // sshfs (whose server runs as the user) accept or refuse, but never hold it.
    caps.owners = caps.owners
        && fsops::set_owner(&file, 1, 1).is_ok()
        && file
            .metadata()
            .is_ok_and(|m| fsops::owner_of(&m) == Some((1, 1)));
    let probe_attr = OsStr::new("user.fcs-probe");
    caps.xattrs = caps.xattrs
        && fsops::set_xattr(&file, probe_attr, b"1").is_ok()
        && fsops::xattrs(&file).is_ok_and(|l| l.iter().any(|(n, v)| n == probe_attr && v == b"1"));
    drop(file);
    let second = OsString::from(format!(".fcs-probe.{tag}-5.fcs.tmp"));
    caps.hard_links = d.hard_link(&name, d, &second).is_ok();
    if caps.hard_links {
        let _ = d.remove_temp(&second);
    }
    // The probe's name is unique (it carries the run's tag), so a lookup of it in upper case
    // that finds anything found the probe: names fold. (Identities are no help here: some FUSE
    // filesystems number inodes per name looked up.)
    let upper = OsString::from(name.to_string_lossy().to_uppercase());
    caps.case_insensitive = d.stat(&name).is_ok() && d.stat(&upper).is_ok();
    let link = OsString::from(format!(".fcs-probe.{tag}-1.fcs.tmp"));
    caps.symlinks = d.symlink(Path::new("."), &link, true).is_ok();
    if caps.symlinks {
        let _ = d.remove_file(&link);
    }
    caps.normalization_insensitive = probe_normalization(d, tag);
    caps.folder_renames = probe_folder_rename(d, tag);
    let _ = d.remove_temp(&name);
    // The folder's own times as they were: the probe is not a change the user made. Only if
    // they moved: a FAT volume's root folder has no times at all (and fusefat dies when asked
    // to set them).
    let after = d.metadata().ok();
    if after.and_then(|m| m.modified().ok()) != before.modified().ok() {
        let _ = d.set_own_times(&fsops::Times {
            accessed: before.accessed().ok(),
            modified: before.modified().ok(),
            created: None,
        });
    }
    Some(caps)
}

/// The mode bits a filesystem that holds permissions reports after `set_file_mode(0o640)`
/// (Windows holds only the read-only attribute, which 0o640 leaves off).
fn expected_mode() -> u32 {
    0o640 & fsops::MODE_BITS
}

/// A name with `é` in NFC, looked up in NFD: the same file on a normalising filesystem. A
/// filesystem that refuses the name (FAT without Unicode names) does not normalise.
fn probe_normalization(d: &Dir, tag: &str) -> bool {
    let nfc: String = format!(".fcs-probe.\u{e9}.{tag}-2.fcs.tmp").nfc().collect();
    let nfd: String = nfc.nfd().collect();
    if d.create_temp(OsStr::new(&nfc)).is_err() {
        return false;
    }
    // Unique name, as for case: finding it in NFD means the filesystem normalises.
    let same = d.stat(OsStr::new(&nfd)).is_ok();
    let _ = d.remove_temp(OsStr::new(&nfc));
    same
}

/// A folder holding an empty file, renamed: does it still hold it? (fusefat's renamed folders
/// come out empty.)
fn probe_folder_rename(d: &Dir, tag: &str) -> bool {
    let (a, b) = (
        OsString::from(format!(".fcs-probe.{tag}-3.fcs.tmp")),
        OsString::from(format!(".fcs-probe.{tag}-4.fcs.tmp")),
    );
    if d.create_dir(&a).is_err() {
        return true;
    }
    let made = d
        .child(&a)
        .and_then(|c| c.create_temp(OsStr::new("f")).map(drop));
    let kept = made.is_ok()
        && d.rename(&a, d, &b).is_ok()
        && d.child(&b)
            .and_then(|c| c.entries())
            .is_ok_and(|names| !names.is_empty());
    for n in [&a, &b] {
        if let Ok(c) = d.child(n) {
            let _ = c.remove_temp(OsStr::new("f"));
        }
        let _ = d.remove_dir(n);
    }
    kept || made.is_err()
}

/// A dry run's judgement from what is there: an existing name with letters looked up in another
/// case, and the finest modified time among the first entries (a filesystem never shows a finer
/// one than it stores).
fn judge(d: &Dir) -> Capabilities {
    let mut caps = Capabilities::default();
    let Ok(names) = d.entries() else {
        return caps;
    };
    let mut finest = u64::MAX;
    let mut seen = 0;
    // Filesystems without permissions (FAT, exFAT) show one mount-wide mode for every file and
    // folder; a POSIX tree almost never does (folders 755, files 644).
    let (mut file_mode, mut dir_mode, mut one_mode) = (None, None, true);
    for name in names.iter().take(64) {
        let Ok(st) = d.stat(name) else { continue };
        if st.kind == EntryType::Symlink {
            continue;
        }
        let slot = match st.kind {
            EntryType::Dir => &mut dir_mode,
            _ => &mut file_mode,
        };
        one_mode &= *slot.get_or_insert(st.mode) == st.mode;
        seen += 1;
        let ns = st.mtime_ns.rem_euclid(2_000_000_000) as u64;
        finest = finest.min(finest_unit(ns));
        if let Some(s) = name.to_str() {
            let other: String = s
                .chars()
                .map(|c| {
                    if c.is_lowercase() {
                        c.to_uppercase().next().unwrap_or(c)
                    } else {
                        c.to_lowercase().next().unwrap_or(c)
                    }
                })
                .collect();
            // The other spelling answers but is not an entry of its own: the folder folds
            // case. (Identities cannot tell: FUSE numbers inodes per lookup.)
            if other != s
                && !names.iter().any(|n| n.to_str() == Some(&other))
                && d.stat(OsStr::new(&other)).is_ok()
            {
                caps.case_insensitive = true;
            }
        }
    }
    if seen > 0 {
        caps.time_granularity_ns = granularity_for(finest);
    }
    if let (Some(f), Some(d)) = (file_mode, dir_mode)
        && one_mode
        && f == d
    {
        caps.permissions = false;
    }
    // Without permissions (FAT, exFAT) there are no owners either; attributes where the folder
    // answers for them.
    caps.owners &= caps.permissions;
    caps.hard_links &= caps.permissions;
    caps.xattrs &= d.file().is_ok_and(|f| fsops::xattrs_supported(&f));
    caps
}

/// What both sides of a comparison can hold (a comparison is read-only: judged from what is
/// there): names fold where either side folds them, times are compared to the coarser side's
/// granularity, permissions only where both hold them.
pub(crate) fn judge_both(left: &Path, right: &Path) -> Capabilities {
    let (l, r) = (probe(left, "", false), probe(right, "", false));
    Capabilities {
        case_insensitive: l.case_insensitive || r.case_insensitive,
        normalization_insensitive: l.normalization_insensitive || r.normalization_insensitive,
        time_granularity_ns: l.time_granularity_ns.max(r.time_granularity_ns),
        symlinks: l.symlinks && r.symlinks,
        permissions: l.permissions && r.permissions,
        owners: l.owners && r.owners,
        xattrs: l.xattrs && r.xattrs,
        hard_links: l.hard_links && r.hard_links,
        folder_renames: l.folder_renames && r.folder_renames,
        probed: false,
    }
}

/// The coarsest unit on the ladder that a time with `ns` (its remainder within two seconds)
/// is a whole multiple of.
fn finest_unit(ns: u64) -> u64 {
    LADDER
        .into_iter()
        .take(6)
        .rev()
        .find(|g| ns.is_multiple_of(*g))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularity_comes_from_the_difference_read_back() {
        assert_eq!(granularity_for(0), 1);
        assert_eq!(granularity_for(89), 100);
        assert_eq!(granularity_for(789), 1_000);
        assert_eq!(granularity_for(3_456_789), 10_000_000);
        assert_eq!(granularity_for(123_456_789), 1_000_000_000);
        assert_eq!(granularity_for(1_123_456_789), 2_000_000_000);
        assert_eq!(finest_unit(1_000_000_000), 1_000_000_000);
        assert_eq!(finest_unit(0), 2_000_000_000);
        assert_eq!(finest_unit(120_000_000), 10_000_000);
        assert_eq!(finest_unit(123_456_789), 1);
    }

    #[test]
    fn a_real_probe_of_a_posix_folder_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("keep"), b"x").unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000, 0);
        let set = fsops::Times {
            accessed: Some(t),
            modified: Some(t),
            created: None,
        };
        Dir::open(d.path()).unwrap().set_own_times(&set).unwrap();
        let caps = probe(d.path(), "t1", true);
        assert!(caps.probed);
        assert_eq!(
            std::fs::metadata(d.path()).unwrap().modified().unwrap(),
            t,
            "the folder's time is put back"
        );
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep"]);
        #[cfg(target_os = "linux")]
        {
            assert!(!caps.case_insensitive && caps.symlinks && caps.permissions);
            assert!(caps.time_granularity_ns <= 1_000, "{caps:?}");
        }
    }
}

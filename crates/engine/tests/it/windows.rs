//! Windows-only behaviour of the safe per-file copy, run on Windows and under Wine
//! (`scripts/test-windows.sh`): the `CopyFileExW` progress routine and cancel, creation times,
//! UNC policy, long paths, a read-only or locked target, attributes. A test of what Wine does not
//! implement keeps its assertion for Windows and says why beside it; `scripts/test-windows.sh`
//! leaves it out by name under Wine, and a test that depends on Wine's gap only in part is split
//! so that the rest runs there.
#![cfg(windows)]

use std::os::windows::fs::{FileTimesExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use engine::{CancelToken, Code, Copier, Event, Outcome, Phase, Settings, Strategy};
use testkit::{assert_content, assert_no_temps, tempdir, write_file};

use crate::util::{Recorder, copier};

const MIB: usize = 1 << 20;
const STRATEGIES: [&str; 3] = ["direct-small", "direct-large", "staged"];

const FILE_ATTRIBUTE_HIDDEN: u32 = 0x2;
const FILE_ATTRIBUTE_SYSTEM: u32 = 0x4;
const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED: u32 = 0x2000;
const FILE_SHARE_READ: u32 = 0x1;

/// Small windows and a 1 MiB threshold so every strategy runs on small files.
fn settings(strategy: &str) -> Settings {
    let mut s = Settings::default();
    s.set("direct_large_threshold", "1MiB").unwrap();
    s.set("window", "256KiB").unwrap();
    s.set("staged_chunk", "64KiB").unwrap();
    s.set("flush_every_windows", "2").unwrap();
    s.set("verify_policy", "all").unwrap();
    s.set("free_space_margin", "0").unwrap();
    s.set("strategy", strategy).unwrap();
    s
}

fn set_readonly(path: &Path, readonly: bool) {
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    perm.set_readonly(readonly);
    std::fs::set_permissions(path, perm).unwrap();
}

/// An 8 MiB DIRECT-SMALL copy (`CopyFileExW`) cancelled at its first copy progress event: it ends
/// cancelled, with the old target and no temp. Returns the copy progress events (done, total).
fn copy_file_ex_cancelled_at_its_first_progress() -> Vec<(u64, u64)> {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let dst = dir.path().join("dst.bin");
    let size = 8 * MIB;
    write_file(&src, size, 1);
    let old = write_file(&dst, 1000, 2);

    let token = CancelToken::new();
    let rec = Arc::new(Recorder::cancelling_at(Phase::Copy, token.clone()));
    let cp = Copier::new(settings("direct-small"), rec.clone(), token);
    let e = cp.copy_file(&src, &dst).unwrap_err();
    assert_eq!(e.code, Code::CopyCancelled, "{e}");
    assert!(e.to_string().contains("COPY_E_CANCELLED"), "{e}");
    assert_content(&dst, &old);
    assert_no_temps(dir.path());
    assert!(rec.events.lock().unwrap().iter().any(|e| matches!(
        e,
        Event::FileFinished {
            outcome: Outcome::Cancelled {
                code: Code::CopyCancelled
            },
            ..
        }
    )));

    let progress = rec.copy_progress();
    let (_, total) = *progress.first().expect("a copy progress event");
    assert_eq!(total, size as u64);
    progress
}

#[test]
fn a_cancelled_copy_file_ex_copy_leaves_the_old_target_and_no_temp() {
    copy_file_ex_cancelled_at_its_first_progress();
}

/// Wine's CopyFileExW copies without ever calling LPPROGRESS_ROUTINE: its one progress event is
/// the count kernel_copy reports after the call, so a cancel is honoured after the bytes were
/// copied, not during the copy. `scripts/test-windows.sh` leaves this test out under Wine.
#[test]
fn the_copy_file_ex_progress_routine_reports_and_cancel_stops_the_copy() {
    let progress = copy_file_ex_cancelled_at_its_first_progress();
    let (first, total) = progress[0];
    // Windows calls the routine at the stream switch (0 bytes) and after each chunk: the cancel
    // answered PROGRESS_CANCEL before the whole file was copied.
    assert!(first < total, "first progress {first} of {total}");
    assert_eq!(progress.len(), 1, "{progress:?}");
}

/// NTFS, ReFS, FAT and exFAT store a settable creation time; Wine on a Linux host keeps none (it
/// reports the inode's birth or change time and ignores the one set), so
/// `scripts/test-windows.sh` leaves this test out under Wine.
#[test]
fn creation_time_round_trips_through_every_strategy() {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let data = write_file(&src, 2 * MIB + 7, 3);
    // A multiple of 100 ns, the resolution of FILETIME.
    let created = SystemTime::UNIX_EPOCH + Duration::new(1_400_000_000, 123_456_700);
    let f = std::fs::OpenOptions::new().write(true).open(&src).unwrap();
    f.set_times(std::fs::FileTimes::new().set_created(created))
        .unwrap();
    drop(f);
    let stored = std::fs::metadata(&src).unwrap().created().ok();
    assert_eq!(
        stored,
        Some(created),
        "this filesystem did not keep the creation time set on the source"
    );
    for strategy in STRATEGIES {
        let dst = dir.path().join(format!("dst-{strategy}.bin"));
        let (cp, _) = copier(settings(strategy));
        let r = cp.copy_file(&src, &dst).unwrap();
        assert!(
            !r.notices
                .iter()
                .any(|n| n.kind == engine::NoticeKind::CreatedTimeNotPreserved),
            "{strategy}: {:?}",
            r.notices
        );
        assert_content(&dst, &data);
        let m = std::fs::metadata(&dst).unwrap();
        assert_eq!(m.created().unwrap(), created, "{strategy}");
    }
}

/// A writable directory reached through a UNC path: `FCS_TEST_UNC_DIR` when set (the Wine
/// script maps `\\fcs-test\share` to a local folder), else the temp directory through the
/// administrative share `\\localhost\C$\…` when this machine serves it.
fn unc_test_dir(local: &Path) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FCS_TEST_UNC_DIR") {
        return Some(PathBuf::from(dir));
    }
    let s = local.to_str()?;
    let s = s.strip_prefix(r"\\?\").unwrap_or(s);
    let (drive, rest) = s.split_once(":\\")?;
    let unc = PathBuf::from(format!(r"\\localhost\{drive}$\{rest}"));
    std::fs::metadata(&unc).ok().filter(|m| m.is_dir())?;
    Some(unc)
}

#[test]
fn a_unc_target_is_rejected_or_copied_staged_per_unc_policy() {
    let local = tempdir().unwrap();
    let share = unc_test_dir(local.path()).expect(
        "no UNC path to a writable folder: set FCS_TEST_UNC_DIR (scripts/test-windows.sh does), \
         or serve the administrative share \\\\localhost\\C$",
    );
    let src = local.path().join("src.bin");
    let data = write_file(&src, 3 * MIB, 4);
    let dir = tempfile::Builder::new()
        .prefix("fcs-unc-")
        .tempdir_in(&share)
        .unwrap();
    let dst = dir.path().join("file.bin");
    assert!(
        dst.to_string_lossy().starts_with(r"\\"),
        "{}",
        dst.display()
    );

    let mut s = Settings::default();
    s.set("unc_policy", "reject").unwrap();
    let (cp, _) = copier(s.clone());
    let e = cp.copy_file(&src, &dst).unwrap_err();
    assert_eq!(e.code, Code::PreflightUnc, "{e}");
    assert!(!dst.exists());
    assert_no_temps(dir.path());

    s.set("unc_policy", "staged").unwrap();
    let (cp, rec) = copier(s);
    // The share is reachable (the folder above was created through it): the copy goes through,
    // STAGED because a share is a network volume.
    let r = cp.copy_file(&src, &dst).unwrap();
    assert_eq!(r.strategy, Strategy::Staged);
    assert!(
        rec.decision_line().contains("dst:NETWORK_UNC"),
        "{}",
        rec.decision_line()
    );
    assert_content(&dst, &data);
    assert_no_temps(dir.path());
}

#[test]
fn a_copy_under_a_directory_path_longer_than_300_characters_works() {
    let dir = tempdir().unwrap();
    let mut deep = dir.path().to_path_buf();
    for i in 0..4 {
        deep.push(format!("{i}{}", "d".repeat(80)));
    }
    assert!(deep.as_os_str().len() > 300, "{}", deep.display());
    std::fs::create_dir_all(&deep).unwrap();
    let src = deep.join("source file.bin");
    let data = write_file(&src, 2 * MIB + 3, 5);
    for strategy in STRATEGIES {
        let dst = deep.join(format!("target {strategy}.bin"));
        let old = write_file(&dst, 100, 6);
        assert_content(&dst, &old);
        let (cp, _) = copier(settings(strategy));
        let r = cp.copy_file(&src, &dst).unwrap();
        assert_eq!(r.strategy.as_str().to_lowercase(), strategy);
        assert!(r.verified);
        assert_content(&dst, &data);
        assert_no_temps(&deep);
    }
}

/// Windows refuses to replace a read-only file (MoveFileExW and the POSIX-semantics rename std
/// retries with both answer ERROR_ACCESS_DENIED); Wine's rename replaces it, as rename(2) does on
/// the host, so `scripts/test-windows.sh` leaves this test out under Wine.
#[test]
fn a_read_only_target_fails_the_rename_and_stays_intact() {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let dst = dir.path().join("dst.bin");
    write_file(&src, 2 * MIB, 7);
    let old = write_file(&dst, 1000, 8);
    set_readonly(&dst, true);
    for strategy in STRATEGIES {
        let (cp, _) = copier(settings(strategy));
        let e = cp.copy_file(&src, &dst).unwrap_err();
        assert_eq!(e.code, Code::FinalizeRename, "{strategy}: {e}");
        let text = e.to_string();
        assert!(
            text.contains("read-only") && text.contains("access denied"),
            "{strategy}: {text}"
        );
        assert_content(&dst, &old);
        assert!(std::fs::metadata(&dst).unwrap().permissions().readonly());
        assert_no_temps(dir.path());
    }
    set_readonly(&dst, false);
}

#[test]
fn a_target_open_without_share_delete_fails_the_rename_naming_the_cause() {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let dst = dir.path().join("dst.bin");
    write_file(&src, MIB / 2, 9);
    let old = write_file(&dst, 1000, 10);
    // Another program holding the target open, sharing reads only: it can be neither replaced
    // nor deleted until closed.
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .share_mode(FILE_SHARE_READ)
        .open(&dst)
        .unwrap();
    let (cp, _) = copier(settings("direct-small"));
    let e = cp.copy_file(&src, &dst).unwrap_err();
    drop(holder);
    assert_eq!(e.code, Code::FinalizeRename, "{e}");
    let text = e.to_string();
    // Replacing a file that is open answers ERROR_ACCESS_DENIED (Windows and Wine alike);
    // ERROR_SHARING_VIOLATION is what a temp held open by someone else would give. Either way
    // the message names the possible cause, not just the code.
    assert!(text.contains("another program"), "{text}");
    assert_content(&dst, &old);
    assert_no_temps(dir.path());
}

/// Hidden, system and not-content-indexed: the attributes a user sets (archive is set by
/// every write, on the copy as on the source).
const KEPT_ATTRIBUTES: u32 =
    FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;

#[test]
fn the_hidden_system_and_not_indexed_attributes_are_copied_and_not_invented() {
    let dir = tempdir().unwrap();
    let hidden = dir.path().join("hidden.bin");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .attributes(KEPT_ATTRIBUTES)
        .open(&hidden)
        .unwrap();
    let data = testkit::data(2 * MIB + 1, 11);
    std::io::Write::write_all(&mut &f, &data).unwrap();
    drop(f);
    let attrs = std::fs::metadata(&hidden).unwrap().file_attributes();
    // What the source holds is what its copy must hold: all three on Windows; Wine 8 stores
    // hidden and system (in user.DOSATTRIB) but not not-content-indexed.
    let held = attrs & KEPT_ATTRIBUTES;
    assert_eq!(
        held & (FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM),
        FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM,
        "source attributes {attrs:#x}"
    );
    let plain = dir.path().join("plain.bin");
    std::fs::write(&plain, &data).unwrap();

    for strategy in STRATEGIES {
        for (src, want_hidden) in [(&hidden, true), (&plain, false)] {
            let dst = dir
                .path()
                .join(format!("copy-{strategy}-{want_hidden}.bin"));
            let (cp, _) = copier(settings(strategy));
            cp.copy_file(src, &dst).unwrap();
            assert_content(&dst, &data);
            let attrs = std::fs::metadata(&dst).unwrap().file_attributes();
            let want = if want_hidden { held } else { 0 };
            assert_eq!(attrs & KEPT_ATTRIBUTES, want, "{strategy}: {attrs:#x}");
        }
    }
}

/// A file's explicit, protected DACL arrives as it was with every strategy (CopyFileExW, the
/// chunked copy, the staged one); a file whose DACL is all inherited inherits on its copy too.
#[test]
fn an_explicit_acl_is_copied_and_an_inherited_one_is_inherited() {
    let dir = tempdir().unwrap();
    let data = testkit::data(2 * MIB + 1, 14);
    let (src, plain) = (dir.path().join("own.bin"), dir.path().join("plain.bin"));
    std::fs::write(&src, &data).unwrap();
    std::fs::write(&plain, &data).unwrap();
    // Everyone: full access, inheritance off.
    testkit::acl::set_dacl(&src, "D:P(A;;FA;;;WD)");
    let want = testkit::acl::dacl(&src);
    // Wine keeps no DACL: it maps one onto the file's Unix mode and shows a DACL made from that
    // mode (`D:(A;;FA;;;SY)(A;;FA;;;<user>)(A;;0x1301ff;;;WD)` here), which the copy must then
    // show too. Windows keeps the DACL as set.
    if !testkit::running_on_wine() {
        assert_eq!(want, "D:P(A;;FA;;;WD)");
    }
    for strategy in STRATEGIES {
        let (cp, _) = copier(settings(strategy));
        let dst = dir.path().join(format!("own-{strategy}.bin"));
        cp.copy_file(&src, &dst).unwrap();
        assert_content(&dst, &data);
        assert_eq!(testkit::acl::dacl(&dst), want, "{strategy}");
        let dst = dir.path().join(format!("plain-{strategy}.bin"));
        cp.copy_file(&plain, &dst).unwrap();
        assert_eq!(
            testkit::acl::dacl(&dst),
            testkit::acl::dacl(&plain),
            "{strategy}: inherited"
        );
    }
}

/// An alternate data stream (`file:name`) arrives with its file in every strategy (CopyFileExW
/// copies it itself; the chunked ones copy each stream). Wine has no streams — a name with `:`
/// is a file of its own there — so under Wine the copies must simply succeed without one.
#[test]
fn alternate_data_streams_are_copied() {
    let dir = tempdir().unwrap();
    let data = testkit::data(2 * MIB + 1, 15);
    let src = dir.path().join("with-stream.bin");
    std::fs::write(&src, &data).unwrap();
    let stream = |p: &Path| PathBuf::from(format!("{}:note", p.display()));
    std::fs::write(stream(&src), b"kept beside the data").unwrap();
    for strategy in STRATEGIES {
        let (cp, _) = copier(settings(strategy));
        let dst = dir.path().join(format!("copy-{strategy}.bin"));
        cp.copy_file(&src, &dst).unwrap();
        assert_content(&dst, &data);
        if !testkit::running_on_wine() {
            assert_eq!(
                std::fs::read(stream(&dst)).unwrap(),
                b"kept beside the data",
                "{strategy}"
            );
        }
    }
}

#[test]
fn a_read_only_source_whose_copy_fails_verify_leaves_no_temp() {
    // The temp gets the source's read-only attribute before the verify; when the verify fails,
    // deleting a read-only file needs more than DeleteFileW.
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let dst = dir.path().join("dst.bin");
    write_file(&src, 3 * MIB, 12);
    let old = write_file(&dst, 1000, 13);
    set_readonly(&src, true);
    for (strategy, code) in [
        ("direct-small", Code::VerifyCompareMismatch),
        ("direct-large", Code::VerifyHashMismatch),
        ("staged", Code::VerifyHashMismatch),
    ] {
        let (mut cp, _) = copier(settings(strategy));
        cp.hooks.flip_byte_before_verify = Some(1_000_000);
        let e = cp.copy_file(&src, &dst).unwrap_err();
        assert_eq!(e.code, code, "{strategy}: {e}");
        assert_content(&dst, &old);
        assert_no_temps(dir.path());
    }
    set_readonly(&src, false);
}

#[test]
fn the_verify_reads_back_from_the_device_on_windows() {
    // An unbuffered (FILE_FLAG_NO_BUFFERING) handle makes read_back=device possible here.
    let dir = tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let dst = dir.path().join("dst.bin");
    let data = write_file(&src, 2 * MIB + 5, 14);
    for strategy in ["direct-large", "staged"] {
        let (cp, rec) = copier(settings(strategy));
        let r = cp.copy_file(&src, &dst).unwrap();
        assert!(r.verified);
        assert_content(&dst, &data);
        assert!(
            rec.decision_line().ends_with("read_back=device"),
            "{strategy}: {}",
            rec.decision_line()
        );
    }
}

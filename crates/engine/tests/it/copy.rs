//! Behaviour of the safe per-file copy (seed 000 §9 and A.14): strategy selection and Decision
//! lines, fault injection, cancel, verify failures, atomic replace, metadata. No timing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::{
    CancelToken, Code, Copier, DriveKind, Event, Outcome, Phase, Settings, Strategy,
    hashers_created,
};
use testkit::{assert_content, assert_no_temps, tempdir, write_file};

use crate::util::{Recorder, copier};

const MIB: usize = 1 << 20;

/// Small windows and a 1 MiB threshold so every strategy runs on small files.
fn small_settings() -> Settings {
    let mut s = Settings::default();
    s.set("direct_large_threshold", "1MiB").unwrap();
    s.set("window", "256KiB").unwrap();
    s.set("staged_chunk", "64KiB").unwrap();
    s.set("kernel_copy_chunk", "64KiB").unwrap();
    s.set("flush_every_windows", "2").unwrap();
    s.set("verify_policy", "all").unwrap();
    s.set("free_space_margin", "0").unwrap();
    s
}

struct Case {
    _dir: testkit::TempDir,
    src: PathBuf,
    dst: PathBuf,
    data: Vec<u8>,
    old: Vec<u8>,
}

/// A source of `len` bytes and an existing target with different (old) content.
fn case(len: usize) -> Case {
    let dir = tempdir().unwrap();
    let src = dir.path().join("src/file.bin");
    let dst = dir.path().join("dst/file.bin");
    let data = write_file(&src, len, 1);
    let old = write_file(&dst, 1000, 2);
    Case {
        _dir: dir,
        src,
        dst,
        data,
        old,
    }
}

fn dst_dir(c: &Case) -> &Path {
    c.dst.parent().unwrap()
}

#[test]
fn matrix_below_at_and_above_the_threshold() {
    for (len, want) in [
        (MIB - 1, Strategy::DirectSmall),
        (MIB, Strategy::DirectLarge),
        (MIB + 1, Strategy::DirectLarge),
    ] {
        let c = case(len);
        let (cp, rec) = copier(small_settings());
        let r = cp.copy_file(&c.src, &c.dst).unwrap();
        assert_eq!(r.strategy, want, "size {len}");
        assert!(r.verified);
        assert_content(&c.dst, &c.data);
        assert_no_temps(dst_dir(&c));
        assert_eq!(rec.decision_lines().len(), 1, "one Decision line per file");
        assert_eq!(rec.phases(), vec![Phase::Copy, Phase::Verify]);
    }
}

#[test]
fn decision_lines_have_the_exact_fields_for_each_strategy() {
    let c = case(MIB - 1);
    let (cp, rec) = copier(small_settings());
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_eq!(
        rec.decision_lines()[0],
        format!(
            "Decision: DIRECT-SMALL reason=src:LOCAL_FIXED,dst:LOCAL_FIXED,size:{},policy:all window=256 KiB chunk=n/a verify=mmap verify_detail=mmap_compare prealloc=n/a flush_every=n/a algo=blake3 verify_policy=all read_back=device",
            MIB - 1
        )
    );

    let c = case(2 * MIB);
    let (cp, rec) = copier(small_settings());
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_eq!(
        rec.decision_lines()[0],
        format!(
            "Decision: DIRECT-LARGE reason=src:LOCAL_FIXED,dst:LOCAL_FIXED,size:{},policy:all window=256 KiB chunk=n/a verify=hash verify_detail=hash(src_on_copy + dest_post) prealloc=ok flush_every=2 algo=blake3 verify_policy=all read_back=device",
            2 * MIB
        )
    );

    // A network target (forced drive kind): STAGED whatever the size.
    let c = case(3 * MIB);
    let (mut cp, rec) = copier(small_settings());
    cp.hooks.force_dst_kind = Some(DriveKind::NetworkUnc);
    let r = cp.copy_file(&c.src, &c.dst).unwrap();
    assert_eq!(r.strategy, Strategy::Staged);
    assert_eq!(r.perf.method.as_str(), "read_write");
    assert_eq!(
        rec.decision_lines()[0],
        format!(
            "Decision: STAGED reason=src:LOCAL_FIXED,dst:NETWORK_UNC,size:{},policy:all window=n/a chunk=64 KiB verify=hash verify_detail=hash(src_on_copy + dest_post) prealloc=n/a flush_every=n/a algo=blake3 verify_policy=all read_back=device",
            3 * MIB
        )
    );
    assert_content(&c.dst, &c.data);
}

#[test]
fn every_strategy_can_be_forced_and_copies_correctly_with_both_hashes() {
    for strategy in ["direct-small", "direct-large", "staged"] {
        for hash in ["blake3", "sha256"] {
            let c = case(3 * MIB + 12345);
            let mut s = small_settings();
            s.set("strategy", strategy).unwrap();
            s.set("hash", hash).unwrap();
            let (cp, _) = copier(s);
            let r = cp.copy_file(&c.src, &c.dst).unwrap();
            assert_eq!(r.strategy.as_str().to_lowercase(), strategy);
            assert_content(&c.dst, &c.data);
            assert_no_temps(dst_dir(&c));
        }
    }
}

#[test]
fn zero_byte_files_copy_with_every_strategy() {
    for strategy in ["direct-small", "direct-large", "staged"] {
        let c = case(0);
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        let (cp, _) = copier(s);
        let r = cp.copy_file(&c.src, &c.dst).unwrap();
        assert_eq!(r.size, 0);
        assert_content(&c.dst, &[]);
        assert_no_temps(dst_dir(&c));
    }
}

#[test]
fn preallocation_failure_aborts_before_any_write() {
    let c = case(2 * MIB);
    let (mut cp, rec) = copier(small_settings());
    cp.hooks.fail_prealloc = true;
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::CopyPrealloc);
    assert!(rec.decision_lines()[0].contains("prealloc=failed"));
    assert!(rec.phases().is_empty(), "no byte copied");
    assert_content(&c.dst, &c.old);
    assert_no_temps(dst_dir(&c));
}

#[test]
fn a_failed_window_aborts_the_copy_without_fallback() {
    let c = case(2 * MIB);
    let (mut cp, _) = copier(small_settings());
    cp.hooks.fail_window = Some(3);
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::CopyMmapMapWrite);
    assert!(
        e.message.contains("window 3") && e.message.contains("offset 786432"),
        "{}",
        e.message
    );
    assert_content(&c.dst, &c.old);
    assert_no_temps(dst_dir(&c));
}

#[test]
fn cancel_mid_copy_and_mid_verify_leaves_the_target_intact() {
    for (strategy, read) in [
        ("direct-small", "device"),
        ("direct-large", "device"),
        ("direct-large", "cache"),
        ("staged", "device"),
    ] {
        for (phase, code) in [
            (Phase::Copy, Code::CopyCancelled),
            (Phase::Verify, Code::VerifyCancelled),
        ] {
            let c = case(3 * MIB);
            let mut s = small_settings();
            s.set("strategy", strategy).unwrap();
            s.set("verify_read", read).unwrap();
            let token = CancelToken::new();
            let rec = Arc::new(Recorder::cancelling_at(phase, token.clone()));
            let cp = Copier::new(s, rec.clone(), token);
            let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
            assert_eq!(e.code, code, "{strategy} {read} {phase:?}");
            assert!(e.is_cancelled());
            assert_eq!(rec.outcome(), Outcome::Cancelled { code });
            assert_content(&c.dst, &c.old);
            assert_no_temps(dst_dir(&c));
        }
    }
}

#[test]
fn a_flipped_byte_before_verify_is_caught_and_nothing_is_committed() {
    for (strategy, code) in [
        ("direct-small", Code::VerifyCompareMismatch),
        ("direct-large", Code::VerifyHashMismatch),
        ("staged", Code::VerifyHashMismatch),
    ] {
        for read in ["device", "cache"] {
            let c = case(3 * MIB);
            let mut s = small_settings();
            s.set("strategy", strategy).unwrap();
            s.set("verify_read", read).unwrap();
            let (mut cp, _) = copier(s);
            cp.hooks.flip_byte_before_verify = Some(1_500_000);
            let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
            assert_eq!(e.code, code, "{strategy} {read}");
            if code == Code::VerifyCompareMismatch {
                assert!(e.message.contains("offset 1500000"), "{}", e.message);
            }
            assert_content(&c.dst, &c.old);
            assert_no_temps(dst_dir(&c));
        }
    }
}

/// A hash verify from the page cache reads each window back once the device has it, during the
/// copy: the verify phase after the fsync has nothing left to read (one progress event, at the
/// end), and the copy is still checked (the flipped byte above) and committed intact.
#[cfg(target_os = "linux")]
#[test]
fn a_cache_read_back_of_a_large_file_overlaps_the_copy() {
    let c = case(17 * MIB + 4321);
    let mut s = small_settings();
    s.set("strategy", "direct-large").unwrap();
    s.set("verify_read", "cache").unwrap();
    let (cp, rec) = copier(s.clone());
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_content(&c.dst, &c.data);
    let verify_events = |rec: &Recorder| {
        rec.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Progress {
                        phase: Phase::Verify,
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(verify_events(&rec), 1);
    assert_eq!(rec.phases(), vec![Phase::Copy, Phase::Verify]);

    // From the device the verify reads the copy after the fsync, slice by slice.
    let c = case(17 * MIB + 4321);
    s.set("verify_read", "device").unwrap();
    let (cp, rec) = copier(s);
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert!(verify_events(&rec) > 1);
}

#[test]
fn a_source_truncated_during_the_copy_is_never_committed_and_never_crashes() {
    for (strategy, verify) in [
        ("direct-large", "all"),
        ("direct-large", "none"),
        ("staged", "all"),
        ("direct-small", "all"),
    ] {
        let c = case(3 * MIB);
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        s.set("verify_policy", verify).unwrap();
        let (mut cp, _) = copier(s);
        let src = c.src.clone();
        cp.hooks.after_copy_chunk = Some(Box::new(move |i| {
            if i == 0 {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&src)
                    .unwrap()
                    .set_len(100_000)
                    .unwrap();
            }
        }));
        let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
        assert_eq!(
            e.code,
            Code::CopySourceChanged,
            "{strategy} verify={verify}: {e}"
        );
        assert_content(&c.dst, &c.old);
        assert_no_temps(dst_dir(&c));
    }
}

#[test]
fn a_source_modified_during_the_copy_is_not_committed() {
    let c = case(3 * MIB);
    let mut s = small_settings();
    s.set("strategy", "staged").unwrap();
    let (mut cp, _) = copier(s);
    let src = c.src.clone();
    cp.hooks.after_copy_chunk = Some(Box::new(move |i| {
        if i == 1 {
            let f = std::fs::OpenOptions::new().write(true).open(&src).unwrap();
            f.set_modified(
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(12345),
            )
            .unwrap();
        }
    }));
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::CopySourceChanged);
    assert_content(&c.dst, &c.old);
}

#[test]
fn an_existing_target_is_replaced_atomically_by_rename() {
    let c = case(MIB / 2);
    // A hard link to the old target keeps the old inode visible: a rename leaves it untouched,
    // an in-place overwrite would change it.
    let link = c.dst.with_file_name("old-link");
    std::fs::hard_link(&c.dst, &link).unwrap();
    let (cp, _) = copier(small_settings());
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_content(&c.dst, &c.data);
    assert_content(&link, &c.old);
    assert_no_temps(dst_dir(&c));
}

#[test]
fn a_target_that_is_a_directory_means_copy_into_it() {
    let c = case(1000);
    let (cp, _) = copier(small_settings());
    let r = cp.copy_file(&c.src, dst_dir(&c).parent().unwrap()).unwrap();
    assert_eq!(r.dst, dst_dir(&c).parent().unwrap().join("file.bin"));
    assert_content(&r.dst, &c.data);
}

/// A 2 MiB source with its modified and access times set (and mode 0640 on Unix), and the times.
fn case_with_times_set() -> (Case, std::time::SystemTime, std::time::SystemTime) {
    let c = case(2 * MIB);
    let mtime =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::new(1_500_000_000, 123_456_789);
    let atime =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::new(1_600_000_000, 987_654_321);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&c.src)
        .unwrap();
    f.set_times(
        std::fs::FileTimes::new()
            .set_modified(mtime)
            .set_accessed(atime),
    )
    .unwrap();
    drop(f);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&c.src, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    (c, mtime, atime)
}

#[test]
fn times_and_permissions_are_preserved() {
    let (c, mtime, _) = case_with_times_set();
    for strategy in ["direct-small", "direct-large", "staged"] {
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        let (cp, rec) = copier(s);
        let r = cp.copy_file(&c.src, &c.dst).unwrap();
        let m = std::fs::metadata(&c.dst).unwrap();
        assert_eq!(m.modified().unwrap(), mtime, "{strategy}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(m.permissions().mode() & 0o777, 0o640);
        }
        // Linux cannot set a creation time: reported, not faked.
        if cfg!(target_os = "linux") && std::fs::metadata(&c.src).unwrap().created().is_ok() {
            assert!(
                r.notices
                    .iter()
                    .any(|n| n.kind == engine::NoticeKind::CreatedTimeNotPreserved)
            );
            assert!(
                rec.events
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|e| matches!(e, Event::Notice { .. }))
            );
        }
    }
}

/// The verify reads the copy through a handle that pins its access time (O_NOATIME on Linux, the
/// same request on Windows). Wine accepts the request but cannot honour it: the host kernel
/// updates atime on read by its own rules (relatime), so `scripts/test-windows.sh` leaves this
/// test out under Wine.
#[test]
fn the_access_time_is_preserved() {
    let (c, _, atime) = case_with_times_set();
    for strategy in ["direct-small", "direct-large", "staged"] {
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        let (cp, _) = copier(s);
        cp.copy_file(&c.src, &c.dst).unwrap();
        let m = std::fs::metadata(&c.dst).unwrap();
        assert_eq!(m.accessed().unwrap(), atime, "{strategy}");
    }
}

#[test]
fn verify_none_creates_no_hasher_and_does_not_verify() {
    for strategy in ["direct-small", "direct-large", "staged"] {
        let c = case(3 * MIB);
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        s.set("verify_policy", "none").unwrap();
        let (cp, rec) = copier(s);
        let before = hashers_created();
        let r = cp.copy_file(&c.src, &c.dst).unwrap();
        assert_eq!(
            hashers_created(),
            before,
            "{strategy} created a hasher with verify off"
        );
        assert!(!r.verified);
        assert_eq!(rec.phases(), vec![Phase::Copy]);
        assert!(rec.decision_lines()[0].contains("verify=none verify_detail=none"));
        assert!(rec.decision_lines()[0].contains("algo=none"));
        assert_content(&c.dst, &c.data);
    }
    // And with verify on, hash strategies do create one (the counter is not blind).
    let c = case(3 * MIB);
    let mut s = small_settings();
    s.set("strategy", "staged").unwrap();
    let (cp, _) = copier(s);
    let before = hashers_created();
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert!(hashers_created() > before);
}

#[test]
fn lt_threshold_verifies_only_files_below_the_verify_threshold() {
    let c = case(2 * MIB);
    let mut s = small_settings();
    s.set("verify_policy", "lt_threshold").unwrap();
    s.set("verify_threshold", "1MiB").unwrap();
    let (cp, _) = copier(s.clone());
    assert!(!cp.copy_file(&c.src, &c.dst).unwrap().verified);
    s.set("verify_threshold", "4MiB").unwrap();
    let (cp, _) = copier(s);
    assert!(cp.copy_file(&c.src, &c.dst).unwrap().verified);
}

#[test]
fn preflight_refuses_bad_input_before_writing() {
    let dir = tempdir().unwrap();
    let src = dir.path().join("a.bin");
    let data = write_file(&src, 5000, 3);
    let (cp, _) = copier(small_settings());

    let e = cp.copy_file(&src, &src).unwrap_err();
    assert_eq!(e.code, Code::PreflightSameFile);
    let link = dir.path().join("hard");
    std::fs::hard_link(&src, &link).unwrap();
    assert_eq!(
        cp.copy_file(&src, &link).unwrap_err().code,
        Code::PreflightSameFile
    );
    assert_content(&src, &data);

    let e = cp
        .copy_file(&dir.path().join("missing"), &dir.path().join("x"))
        .unwrap_err();
    assert_eq!(e.code, Code::PreflightSource);
    assert!(e.to_string().contains("missing"));

    let e = cp.copy_file(dir.path(), &dir.path().join("x")).unwrap_err();
    assert_eq!(e.code, Code::PreflightSource);

    let e = cp
        .copy_file(&src, &dir.path().join("no/such/dir/x"))
        .unwrap_err();
    assert_eq!(e.code, Code::PreflightTargetDir);

    let parent_is_file = src.join("x");
    assert_eq!(
        cp.copy_file(&src, &parent_is_file).unwrap_err().code,
        Code::PreflightTargetDir
    );

    let mut huge_margin = small_settings();
    huge_margin.set("free_space_margin", "1000000TiB").unwrap();
    let (cp2, _) = copier(huge_margin);
    assert_eq!(
        cp2.copy_file(&src, &dir.path().join("y")).unwrap_err().code,
        Code::CopyNoSpace
    );

    let mut capped = small_settings();
    capped.set("max_file_size", "1000").unwrap();
    let (cp3, _) = copier(capped);
    assert_eq!(
        cp3.copy_file(&src, &dir.path().join("y")).unwrap_err().code,
        Code::PreflightTooLarge
    );
    assert!(!dir.path().join("y").exists());
    assert_no_temps(dir.path());
}

#[cfg(unix)]
#[test]
fn a_fifo_source_is_refused_without_blocking() {
    let dir = tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    testkit::mkfifo(&fifo);
    let (cp, _) = copier(small_settings());
    let e = cp.copy_file(&fifo, &dir.path().join("out")).unwrap_err();
    assert_eq!(e.code, Code::PreflightSource);
}

/// Every strategy fails to copy into `c`'s target folder, which it cannot write, with an error
/// that says so; once `unlock` has made the folder writable again, the old target is there and
/// no temp is left.
#[cfg(target_os = "linux")]
fn copies_into_an_unwritable_folder_fail_clearly(c: &Case, unlock: impl FnOnce()) {
    for strategy in ["direct-small", "direct-large", "staged"] {
        let mut s = small_settings();
        s.set("strategy", strategy).unwrap();
        let (cp, _) = copier(s);
        let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
        assert_eq!(e.code, Code::CopyTempCreate, "{strategy}: {e}");
        assert!(e.to_string().contains("writable"), "{e}");
    }
    unlock();
    assert_content(&c.dst, &c.old);
    assert_no_temps(dst_dir(c));
}

/// Permission bits: as root (which ignores them) the test runs again as `nobody`.
#[cfg(target_os = "linux")]
#[test]
fn a_read_only_target_directory_fails_clearly_and_leaves_the_target() {
    if testkit::reran_as_nobody(
        module_path!(),
        "a_read_only_target_directory_fails_clearly_and_leaves_the_target",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let c = case(4000);
    let dir = dst_dir(&c).to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    copies_into_an_unwritable_folder_fail_clearly(&c, || {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap()
    });
}

/// An immutable folder (`chattr +i`) refuses root too.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs root and chattr +i on the temp folder's filesystem (scripts/test.sh runs ignored tests as root)"]
fn an_immutable_target_directory_fails_clearly_and_leaves_the_target() {
    testkit::require_root("only root sets the immutable flag");
    let c = case(4000);
    let dir = dst_dir(&c).to_path_buf();
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        chattr("+i"),
        "chattr +i {} failed: needs chattr (e2fsprogs) and a filesystem with the immutable flag \
         (ext4, xfs, btrfs; not tmpfs)",
        dir.display()
    );
    copies_into_an_unwritable_folder_fail_clearly(&c, || assert!(chattr("-i")));
}

#[test]
fn events_follow_the_contract_order() {
    let c = case(2 * MIB);
    let (cp, rec) = copier(small_settings());
    cp.copy_file(&c.src, &c.dst).unwrap();
    let ev = rec.events.lock().unwrap();
    assert!(matches!(ev.first(), Some(Event::FileStarted { size, .. }) if *size == 2 * MIB as u64));
    assert!(matches!(
        ev.last(),
        Some(Event::FileFinished {
            outcome: Outcome::Committed { verified: true },
            perf: Some(_),
            perf_line: Some(_),
            ..
        })
    ));
    let mut last = 0;
    for e in ev.iter() {
        if let Event::Progress {
            phase: Phase::Copy,
            done,
            total,
            ..
        } = e
        {
            assert!(*done >= last && done <= total);
            last = *done;
        }
    }
    assert_eq!(last, 2 * MIB as u64);
    let Some(Event::FileFinished {
        perf_line: Some(line),
        ..
    }) = ev.last()
    else {
        unreachable!()
    };
    assert!(
        line.starts_with(&format!("Perf: bytes={} elapsed_ms=", 2 * MIB)),
        "{line}"
    );
    assert!(
        line.contains("windows=8 flushes=5 strategy=DIRECT-LARGE verify=hash"),
        "{line}"
    );
}

#[test]
fn failed_mappings_fall_back_to_a_buffered_compare_at_most_n_in_a_row() {
    // 3 MiB in 256 KiB windows = 12 windows; the limit is 5 failures in a row.
    let c = case(3 * MIB);
    let mut s = small_settings();
    s.set("strategy", "direct-small").unwrap();
    let (mut cp, _) = copier(s.clone());
    cp.hooks.fail_maps = 5;
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_content(&c.dst, &c.data);

    let c = case(3 * MIB);
    let (mut cp, _) = copier(s.clone());
    cp.hooks.fail_maps = 6;
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::VerifyRead);
    assert!(e.message.contains("6 windows in a row"), "{}", e.message);
    assert_content(&c.dst, &c.old);
    assert_no_temps(dst_dir(&c));

    // The buffered fallback still finds a difference.
    let c = case(3 * MIB);
    let (mut cp, _) = copier(s);
    cp.hooks.fail_maps = 5;
    cp.hooks.flip_byte_before_verify = Some(300_000);
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::VerifyCompareMismatch);
    assert!(e.message.contains("offset 300000"), "{}", e.message);
}

#[test]
fn a_staged_chunk_that_is_not_a_block_multiple_still_verifies_from_the_device() {
    let c = case(MIB + 12345);
    let mut s = small_settings();
    s.set("strategy", "staged").unwrap();
    s.set("staged_chunk", "100000").unwrap();
    s.set("verify_read", "device").unwrap();
    let (cp, _) = copier(s);
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_content(&c.dst, &c.data);
}

#[test]
fn a_large_direct_small_file_is_compared_from_the_device_and_a_flip_is_found() {
    // ≥ 8 MiB: the DIRECT-SMALL compare reads the copy unbuffered.
    let c = case(9 * MIB + 777);
    let mut s = small_settings();
    s.set("strategy", "direct-small").unwrap();
    s.set("verify_read", "device").unwrap();
    let (cp, _) = copier(s.clone());
    cp.copy_file(&c.src, &c.dst).unwrap();
    assert_content(&c.dst, &c.data);

    let c = case(9 * MIB + 777);
    let (mut cp, _) = copier(s);
    cp.hooks.flip_byte_before_verify = Some(9 * MIB as u64 + 5);
    let e = cp.copy_file(&c.src, &c.dst).unwrap_err();
    assert_eq!(e.code, Code::VerifyCompareMismatch);
    assert!(
        e.message.contains(&format!("offset {}", 9 * MIB + 5)),
        "{}",
        e.message
    );
    assert_content(&c.dst, &c.old);
    assert_no_temps(dst_dir(&c));
}

//! Tests of the contract every backend keeps, run through the public API on whichever backend
//! this OS compiles; each backend's own details are tested at the bottom of its file.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::*;

/// Every backend exports the same functions with the same signatures: each is pinned here to a
/// function pointer type, so a backend that drifts fails to compile on its OS.
#[test]
fn every_backend_function_has_the_fixed_signature() {
    type Meta = std::fs::Metadata;
    let _: fn(&Path) -> io::Result<DriveInfo> = drive_info;
    let _: fn(&Path) -> io::Result<File> = create_temp;
    type KernelCopyFn =
        fn(&File, &Path, &Dir, &OsStr, u64, u64, bool, Progress<'_>) -> io::Result<KernelCopy>;
    let _: KernelCopyFn = kernel_copy;
    let _: fn(&File, &File, u64, u64) -> io::Result<Option<u64>> = copy_range;
    let _: fn(&File, u64) -> io::Result<bool> = preallocate;
    let _: fn(&Path) -> io::Result<File> = open_source;
    let _: fn(&Path) -> io::Result<File> = open_readback;
    let _: fn(&Path) -> io::Result<Option<File>> = open_direct;
    let _: fn(&Path) -> io::Result<()> = sync_dir;
    let _: fn(&Path) -> io::Result<bool> = sync_filesystem;
    let _: fn(&File, u64, u64) -> io::Result<()> = start_writeback;
    let _: fn(&File, u64, u64) -> io::Result<bool> = wait_writeback;
    let _: fn(&File, u64) -> io::Result<ReadBack> = drop_cache;
    type BatchFn = fn(
        &[(Option<&Dir>, &Path, u64)],
        &dyn Fn() -> bool,
        &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> bool;
    let _: BatchFn = read_files_direct;
    let _: fn() -> Option<u64> = dirty_bytes;
    let _: fn(&Path) -> io::Result<u64> = free_space;
    let _: fn(&File) -> io::Result<FileIdentity> = file_identity;
    let _: fn(&Path) -> io::Result<FileIdentity> = path_identity;
    let _: fn(&Meta) -> Option<FileIdentity> = identity_from_metadata;
    let _: fn(&File, &Times) -> io::Result<TimesApplied> = set_times;
    let _: fn(&Path, &Times) -> io::Result<TimesApplied> = set_dir_times;
    let _: fn(&Path, SystemTime, SystemTime) -> io::Result<bool> = set_symlink_times;
    let _: fn(&Meta, &File) -> io::Result<()> = copy_attributes;
    let _: fn(&Meta) -> u32 = mode_bits;
    let _: fn(&Meta) -> bool = is_sparse;
    let _: fn(&Path, &Path, bool) -> io::Result<()> = create_symlink;
    let _: fn(&Path) -> io::Result<()> = remove_temp;
    let _: fn(&Path) -> io::Result<bool> = in_use;
    let _: fn(&io::Error) -> Option<&'static str> = describe_os_error;
    let _: fn(&Path) -> Vec<u8> = path_to_bytes;
    let _: fn(&[u8]) -> PathBuf = path_from_bytes;
}

#[test]
fn drive_kind_spellings_follow_the_seed() {
    assert_eq!(DriveKind::LocalFixed.to_string(), "LOCAL_FIXED");
    assert_eq!(DriveKind::NetworkUnc.to_string(), "NETWORK_UNC");
    assert!(DriveKind::Ramdisk.is_local());
    assert!(!DriveKind::Removable.is_local());
    assert!(!DriveKind::Unknown.is_local());
}

#[test]
fn create_temp_refuses_an_existing_file_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t");
    let f = create_temp(&p).unwrap();
    drop(f);
    assert_eq!(
        create_temp(&p).unwrap_err().kind(),
        io::ErrorKind::AlreadyExists
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn kernel_copy_copies_and_reports_progress_and_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let src_path = dir.path().join("src");
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 977) as u8)
        .collect();
    std::fs::write(&src_path, &data).unwrap();
    let src = File::open(&src_path).unwrap();

    let dst = dir.path().join("dst");
    let d = Dir::open(dir.path()).unwrap();
    let mut calls = Vec::new();
    let mut cb = |n: u64| {
        calls.push(n);
        ControlFlow::Continue(())
    };
    match kernel_copy(
        &src,
        &src_path,
        &d,
        OsStr::new("dst"),
        data.len() as u64,
        1 << 20,
        true,
        &mut cb,
    )
    .unwrap()
    {
        KernelCopy::Copied { bytes, .. } => assert_eq!(bytes, data.len() as u64),
        KernelCopy::Cancelled => panic!("not cancelled"),
    }
    assert_eq!(std::fs::read(&dst).unwrap(), data);
    assert_eq!(*calls.last().unwrap(), data.len() as u64);

    let mut stop = |_n: u64| ControlFlow::Break(());
    let out = kernel_copy(
        &src,
        &src_path,
        &d,
        OsStr::new("dst2"),
        data.len() as u64,
        1 << 20,
        true,
        &mut stop,
    );
    assert!(matches!(out.unwrap(), KernelCopy::Cancelled));
}

#[test]
fn this_machine_temp_dir_is_classified() {
    let dir = tempfile::tempdir().unwrap();
    let info = drive_info(&dir.path().join("not/yet/there")).unwrap();
    assert!(!info.fs_type.is_empty());
    assert_eq!(info.resolved, dir.path().canonicalize().unwrap());
}

/// Every backend: the copy of a read-only source is writable (we finish it: times, verify
/// hooks), and a second copy onto the same name fails instead of overwriting.
#[test]
fn copy_of_a_read_only_source_is_writable() {
    let dir = tempfile::tempdir().unwrap();
    let src_path = dir.path().join("ro");
    std::fs::write(&src_path, b"read only").unwrap();
    let mut perm = std::fs::metadata(&src_path).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&src_path, perm).unwrap();

    let src = File::open(&src_path).unwrap();
    let dst = dir.path().join("copy");
    let d = Dir::open(dir.path()).unwrap();
    let name = OsStr::new("copy");
    let mut cb = |_n: u64| ControlFlow::Continue(());
    let KernelCopy::Copied { file, .. } =
        kernel_copy(&src, &src_path, &d, name, 9, 1 << 20, true, &mut cb).unwrap()
    else {
        panic!("not cancelled")
    };
    write_all_at(&file, b"W", 0).unwrap();
    drop(file);
    assert_eq!(std::fs::read(&dst).unwrap(), b"Wead only");
    assert!(!std::fs::metadata(&dst).unwrap().permissions().readonly());
    let again = kernel_copy(&src, &src_path, &d, name, 9, 1 << 20, true, &mut cb);
    assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
}

#[test]
fn preallocate_sets_exact_length() {
    let dir = tempfile::tempdir().unwrap();
    let f = create_temp(&dir.path().join("p")).unwrap();
    assert!(preallocate(&f, 5 * 65536 + 3).unwrap());
    assert_eq!(f.metadata().unwrap().len(), 5 * 65536 + 3);
}

#[test]
fn identity_distinguishes_files_and_matches_reopen() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    std::fs::write(dir.path().join("b"), b"b").unwrap();
    let a1 = file_identity(&File::open(dir.path().join("a")).unwrap()).unwrap();
    let a2 = file_identity(&File::open(dir.path().join("a")).unwrap()).unwrap();
    let b = file_identity(&File::open(dir.path().join("b")).unwrap()).unwrap();
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
}

#[test]
fn set_times_applies_modified_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t");
    std::fs::write(&p, b"x").unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    let when = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_600_000_000, 123_456_700);
    let applied = set_times(
        &f,
        &Times {
            accessed: Some(when),
            modified: Some(when),
            created: Some(when),
        },
    )
    .unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), when);
    if cfg!(any(windows, target_os = "macos")) {
        assert!(applied.created);
    }
}

#[test]
fn direct_reads_return_the_file_through_an_aligned_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d");
    let data: Vec<u8> = (0..3 * DIRECT_ALIGN + 123)
        .map(|i| (i % 253) as u8)
        .collect();
    std::fs::write(&p, &data).unwrap();
    let mut buf = AlignedBuf::new(2 * DIRECT_ALIGN);
    assert_eq!(buf.as_ptr() as usize % DIRECT_ALIGN, 0);
    let f = match open_direct(&p).unwrap() {
        Some(f) => f,
        None => return, // this filesystem has no unbuffered reads
    };
    let mut got = Vec::new();
    let mut off = 0u64;
    loop {
        let n = read_direct_at(&f, &mut buf, off).unwrap();
        got.extend_from_slice(&buf[..n]);
        off += n as u64;
        if n < buf.len() {
            break;
        }
    }
    assert_eq!(got, data);
}

#[test]
fn free_space_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    assert!(free_space(dir.path()).unwrap() > 0);
}

#[test]
fn an_open_file_is_in_use_only_on_windows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("open.txt");
    std::fs::write(&p, "x").unwrap();
    let f = File::open(&p).unwrap();
    assert_eq!(in_use(&p).unwrap(), cfg!(windows));
    drop(f);
    assert!(!in_use(&p).unwrap());
}

#[test]
fn a_written_file_is_not_sparse_and_read_only_changes_its_mode_bits() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, vec![5u8; 256 * 1024]).unwrap();
    // Flushed, so every block is allocated (Windows flushes only a handle with write access).
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .sync_all()
        .unwrap();
    let writable = std::fs::metadata(&p).unwrap();
    assert!(!is_sparse(&writable));
    let mut perm = writable.permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&p, perm).unwrap();
    assert_ne!(
        mode_bits(&std::fs::metadata(&p).unwrap()),
        mode_bits(&writable)
    );
}

#[test]
fn a_unicode_path_round_trips_through_bytes() {
    let p = Path::new("dir/caf\u{e9} \u{1F600}.txt");
    assert_eq!(path_from_bytes(&path_to_bytes(p)), p);
}

// --- Dir: every write beneath a root, never through a link -------------------------------------

fn names(d: &Dir) -> Vec<String> {
    let mut v: Vec<String> = d
        .entries()
        .unwrap()
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The whole life of a file through a `Dir`: folder, temp, rename, second name, stat, times,
/// permissions, removal — all relative to open handles.
#[test]
fn dir_creates_renames_links_and_removes_entries_relative_to_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Dir::open(tmp.path()).unwrap();
    assert_eq!(root.path(), tmp.path());
    root.create_dir(OsStr::new("sub")).unwrap();
    assert_eq!(
        root.create_dir(OsStr::new("sub")).unwrap_err().kind(),
        io::ErrorKind::AlreadyExists
    );
    let sub = root.open_dir(Path::new("sub")).unwrap();
    assert_eq!(sub.path(), tmp.path().join("sub"));
    let f = sub.create_temp(OsStr::new(".t.tmp")).unwrap();
    write_all_at(&f, b"hello", 0).unwrap();
    drop(f);
    assert_eq!(
        sub.create_temp(OsStr::new(".t.tmp")).unwrap_err().kind(),
        io::ErrorKind::AlreadyExists
    );
    sub.rename(OsStr::new(".t.tmp"), &sub, OsStr::new("f.txt"))
        .unwrap();
    let st = sub.stat(OsStr::new("f.txt")).unwrap();
    assert_eq!((st.kind, st.len), (EntryType::File, 5));
    assert_eq!(
        st.identity,
        path_identity(&tmp.path().join("sub/f.txt")).unwrap()
    );
    let mut buf = [0u8; 5];
    let r = sub.open_readback(OsStr::new("f.txt")).unwrap();
    assert_eq!(read_at(&r, &mut buf, 0).unwrap(), 5);
    assert_eq!(&buf, b"hello");
    drop(r);
    root.hard_link(OsStr::new("sub/f.txt"), &root, OsStr::new("x"))
        .unwrap_err();
    sub.hard_link(OsStr::new("f.txt"), &root, OsStr::new("second"))
        .unwrap();
    assert_eq!(std::fs::read(tmp.path().join("second")).unwrap(), b"hello");
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    let times = Times {
        accessed: Some(t),
        modified: Some(t),
        created: None,
    };
    root.set_dir_times(OsStr::new("sub"), &times).unwrap();
    assert_eq!(
        std::fs::metadata(tmp.path().join("sub"))
            .unwrap()
            .modified()
            .unwrap(),
        t
    );
    root.set_mode(OsStr::new("second"), if cfg!(windows) { 1 } else { 0o444 })
        .unwrap();
    assert!(
        std::fs::metadata(tmp.path().join("second"))
            .unwrap()
            .permissions()
            .readonly()
    );
    assert_eq!(names(&root), ["second", "sub"]);
    root.remove_temp(OsStr::new("second")).unwrap();
    sub.remove_file(OsStr::new("f.txt")).unwrap();
    // A held folder cannot be removed on Windows (its Dir pins it): drop the Dir first.
    drop(sub);
    root.remove_dir(OsStr::new("sub")).unwrap();
    assert!(names(&root).is_empty());
    root.sync().unwrap();
    assert_eq!(root.identity().unwrap(), path_identity(tmp.path()).unwrap());
}

/// A rename that must not replace: refused (`Ok(false)`, both files as they were) when a file
/// or a folder holds the new name, done when it is free.
#[test]
fn rename_noreplace_refuses_a_taken_name_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Dir::open(tmp.path()).unwrap();
    std::fs::write(tmp.path().join("new"), b"new").unwrap();
    std::fs::write(tmp.path().join("there"), b"there").unwrap();
    std::fs::create_dir(tmp.path().join("folder")).unwrap();
    assert!(
        !root
            .rename_noreplace(OsStr::new("new"), OsStr::new("there"))
            .unwrap()
    );
    assert!(
        !root
            .rename_noreplace(OsStr::new("new"), OsStr::new("folder"))
            .unwrap()
    );
    assert_eq!(std::fs::read(tmp.path().join("new")).unwrap(), b"new");
    assert_eq!(std::fs::read(tmp.path().join("there")).unwrap(), b"there");
    assert!(tmp.path().join("folder").is_dir());
    assert!(
        root.rename_noreplace(OsStr::new("new"), OsStr::new("free"))
            .unwrap()
    );
    assert_eq!(std::fs::read(tmp.path().join("free")).unwrap(), b"new");
    assert!(!tmp.path().join("new").exists());
    assert!(
        root.rename_noreplace(OsStr::new("gone"), OsStr::new("other"))
            .is_err(),
        "a missing source is an error, not a refusal"
    );
}

/// A link where a folder is needed is never followed — not by `open_dir`, not by a name used
/// in a write — and the error says so; removing a tree removes links as links.
#[cfg(unix)]
#[test]
fn dir_never_follows_a_link_on_the_way() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(outside.join("deep")).unwrap();
    std::fs::write(outside.join("keep.txt"), b"keep").unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir_all(target.join("real")).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("link")).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("real/link")).unwrap();
    let root = Dir::open(&target).unwrap();
    for rel in ["link", "link/deep", "real/link", "real/link/deep"] {
        let e = root.open_dir(Path::new(rel)).unwrap_err();
        assert!(is_link_in_path(&e), "{rel}: {e}");
    }
    assert!(is_link_in_path(
        &root.child(OsStr::new("link")).unwrap_err()
    ));
    assert!(root.open_dir(Path::new("../outside")).is_err());
    assert!(
        is_link_in_path(&root.open_file(OsStr::new("link")).unwrap_err())
            || root.open_file(OsStr::new("link")).is_err()
    );
    assert_eq!(
        root.stat(OsStr::new("link")).unwrap().kind,
        EntryType::Symlink
    );
    // A name with a separator would leave the folder: refused.
    assert!(root.create_temp(OsStr::new("link/keep.txt")).is_err());
    assert!(root.set_mode(OsStr::new("link"), 0o700).is_err());
    root.remove_tree(OsStr::new("real")).unwrap();
    root.remove_tree(OsStr::new("link")).unwrap();
    assert!(names(&root).is_empty());
    assert_eq!(std::fs::read(outside.join("keep.txt")).unwrap(), b"keep");
    assert!(outside.join("deep").is_dir());
}

/// One run at a time per folder, through any path to it: an exclusive lock excludes every
/// other lock; shared locks coexist.
#[test]
fn dir_locks_are_exclusive_or_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Dir::open(tmp.path()).unwrap();
    let b = Dir::open(tmp.path()).unwrap();
    let s1 = a.try_lock(false).unwrap().expect("shared");
    let s2 = b.try_lock(false).unwrap().expect("shared with shared");
    assert!(a.try_lock(true).unwrap().is_none());
    drop((s1, s2));
    let x = a.try_lock(true).unwrap().expect("exclusive once free");
    assert!(b.try_lock(false).unwrap().is_none());
    assert!(b.try_lock(true).unwrap().is_none());
    drop(x);
    assert!(b.try_lock(true).unwrap().is_some());
}

/// A listing names every entry but `.` and `..` once, tells folders from the rest, and its stat
/// says what std's `symlink_metadata` says of the same entry — identity, times, owner, mode and
/// all — so a scan's entries compare equal whichever way they were read.
#[test]
fn list_dir_names_each_entry_once_with_the_same_stat_as_std() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::write(p.join("file.txt"), b"twelve bytes").unwrap();
    std::fs::create_dir(p.join("sub")).unwrap();
    std::fs::write(p.join("é ü.bin"), b"").unwrap();
    std::fs::hard_link(p.join("file.txt"), p.join("second")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("sub", p.join("link")).unwrap();
    let mut seen = Vec::new();
    list_dir(p, &mut |e| {
        let st = e.stat().unwrap();
        let want = ListStat::from_metadata(&std::fs::symlink_metadata(p.join(e.name())).unwrap());
        assert_eq!(st, want, "{:?}", e.name());
        assert_eq!(e.is_dir(), st.kind == EntryType::Dir, "{:?}", e.name());
        seen.push(e.name().to_string_lossy().into_owned());
        ControlFlow::Continue(())
    })
    .unwrap();
    seen.sort();
    let mut want = vec!["file.txt", "second", "sub", "é ü.bin"];
    if cfg!(unix) {
        want.insert(1, "link");
    }
    assert_eq!(seen, want);
    let file = std::fs::symlink_metadata(p.join("file.txt")).unwrap();
    let st = ListStat::from_metadata(&file);
    assert_eq!((st.kind, st.len), (EntryType::File, 12));
    assert!(st.modified.is_some());
    if cfg!(unix) {
        assert_eq!(st.links, 2);
    }
    let mut n = 0;
    list_dir(p, &mut |_| {
        n += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(n, 1, "a stop is a stop");
    assert!(list_dir(&p.join("missing"), &mut |_| ControlFlow::Continue(())).is_err());
}

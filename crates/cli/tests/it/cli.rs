//! `fcs` as a user runs it: exit codes, Decision/Perf lines, NDJSON, the log file, Ctrl-C, bad
//! input. The fault-injection tests need strace: they are ignored unless asked for (`--ignored`;
//! `scripts/test.sh` runs them as root).

#[cfg(unix)]
use std::io::{BufRead, BufReader};
use std::path::Path;
#[cfg(unix)]
use std::process::Stdio;
#[cfg(target_os = "linux")]
use std::process::{Command, Output};

#[cfg(unix)]
use testkit::assert_no_temps;
use testkit::{assert_content, p, stderr, tempdir, write_file};

#[cfg(unix)]
use crate::util::fcs;
use crate::util::run;
#[cfg(target_os = "linux")]
use crate::util::{data_dir, fcs_through};

const MIB: usize = 1 << 20;

#[test]
fn copy_succeeds_and_verbose_prints_decision_and_perf() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    let data = write_file(&src, 3 * MIB, 1);
    let log = d.path().join("fcs.log");
    let o = run(&[
        "copy",
        p(&src),
        p(&dst),
        "-v",
        "--verify",
        "all",
        "--log",
        p(&log),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.contains("Decision: DIRECT-SMALL reason=src:"), "{err}");
    assert!(
        err.contains("verify=mmap verify_detail=mmap_compare"),
        "{err}"
    );
    assert!(err.contains("Perf: bytes=3145728 elapsed_ms="), "{err}");
    assert_content(&dst, &data);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(" INFO Decision: DIRECT-SMALL")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains(" INFO Perf: bytes=3145728")),
        "{log}"
    );
}

#[test]
fn json_prints_one_event_per_line() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    write_file(&src, 2 * MIB, 2);
    let o = run(&[
        "copy",
        p(&src),
        p(&d.path().join("o")),
        "--json",
        "--strategy",
        "staged",
        "--set",
        "staged_chunk=256KiB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"file_started"));
    assert_eq!(kinds.last(), Some(&"file_finished"));
    assert!(kinds.contains(&"decision") && kinds.contains(&"progress"));
    let decision = events.iter().find(|e| e["event"] == "decision").unwrap();
    assert_eq!(decision["strategy"], "STAGED");
    assert!(
        decision["line"]
            .as_str()
            .unwrap()
            .starts_with("Decision: STAGED")
    );
    let fin = events.last().unwrap();
    assert_eq!(fin["outcome"]["status"], "committed");
    assert_eq!(fin["perf"]["method"], "read_write");
}

#[test]
fn invalid_settings_exit_2_naming_the_key_and_range() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    write_file(&src, 10, 3);
    for (set, needle) in [
        ("window=100000", "multiple of 64 KiB"),
        ("flush_every_windows=0", "1 – 1000"),
        ("staged_chunk=1KiB", "staged_chunk"),
    ] {
        let o = run(&["copy", p(&src), p(&d.path().join("o")), "--set", set]);
        assert_eq!(o.status.code(), Some(2), "{set}");
        let err = stderr(&o);
        assert!(
            err.contains("CONFIG_E_INVALID_VALUE") && err.contains(needle),
            "{set}: {err}"
        );
    }
    let o = run(&[
        "copy",
        p(&src),
        p(&d.path().join("o")),
        "--set",
        "no_such_key=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("CONFIG_E_UNKNOWN_KEY"));
    let cfg = d.path().join("c.toml");
    std::fs::write(&cfg, "window = \"3MiB\"\nflush_every_windows = 0\n").unwrap();
    let o = run(&["copy", p(&src), p(&d.path().join("o")), "--config", p(&cfg)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("flush_every_windows"), "{}", stderr(&o));
    assert!(!d.path().join("o").exists());
}

#[test]
fn a_config_file_sets_values_and_set_overrides_it() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    write_file(&src, 2 * MIB, 4);
    let cfg = d.path().join("c.toml");
    std::fs::write(
        &cfg,
        "direct_large_threshold = \"1MiB\"\nwindow = \"512KiB\"\nverify_policy = \"all\"\n",
    )
    .unwrap();
    let o = run(&[
        "copy",
        p(&src),
        p(&d.path().join("o")),
        "-v",
        "--config",
        p(&cfg),
        "--set",
        "window=1MiB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Decision: DIRECT-LARGE") && stderr(&o).contains("window=1 MiB"),
        "{}",
        stderr(&o)
    );
}

/// The user's settings file (`$FCS_CONFIG`, else the config folder) is read first; `--config`
/// and `--set` come after it; `fcs settings --path` names it.
#[test]
fn the_user_settings_file_comes_before_config_and_set() {
    let d = tempdir().unwrap();
    let data = d.path().join("data");
    let src = d.path().join("in.bin");
    write_file(&src, 2 * MIB, 6);
    let user = data.join("config.toml");
    let o = crate::util::fcs_in(&data)
        .args(["settings", "--path"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{} (does not exist: defaults apply)", user.display())
    );
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        &user,
        "direct_large_threshold = \"1MiB\"\nwindow = \"512KiB\"\n",
    )
    .unwrap();
    let o = crate::util::fcs_in(&data)
        .args(["settings", "--path"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), p(&user));
    let copy = |extra: &[&str]| {
        let o = crate::util::fcs_in(&data)
            .args(["copy", p(&src), p(&d.path().join("o")), "-v"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let err = copy(&[]);
    assert!(
        err.contains("Decision: DIRECT-LARGE") && err.contains("window=512 KiB"),
        "{err}"
    );
    let cfg = d.path().join("c.toml");
    std::fs::write(&cfg, "window = \"256KiB\"\n").unwrap();
    assert!(copy(&["--config", p(&cfg)]).contains("window=256 KiB"));
    assert!(copy(&["--config", p(&cfg), "--set", "window=1MiB"]).contains("window=1 MiB"));
    // A broken user file is an error that names it, not silently ignored.
    std::fs::write(&user, "window = \"lots\"\n").unwrap();
    let o = crate::util::fcs_in(&data)
        .args(["copy", p(&src), p(&d.path().join("o2"))])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("window"), "{}", stderr(&o));
}

/// Run logs do not pile up (`log_keep_runs`), and `fcs logs` lists the recent runs, newest
/// first, with how each ended, and shows one.
#[test]
fn run_logs_rotate_and_fcs_logs_lists_and_shows_them() {
    let d = tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("config.toml"), "log_keep_runs = 3\n").unwrap();
    let src = d.path().join("src");
    for i in 0..4u64 {
        write_file(&src.join(format!("f{i}.bin")), 100, i);
        let o = crate::util::fcs_in(&data)
            .args(["sync", p(&src), p(&d.path().join("dst")), "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        // One-second stamps in the names; the order comes from the files' times.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let logs = std::fs::read_dir(data.join("logs")).unwrap().count();
    assert_eq!(logs, 3, "the oldest log went");
    let o = crate::util::fcs_in(&data).args(["logs"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let firsts: Vec<&str> = out.lines().filter(|l| l.contains(" sync ")).collect();
    assert_eq!(firsts.len(), 3, "{out}");
    assert!(firsts[0].contains("copied 1 (verified 1)"), "{out}");
    let o = crate::util::fcs_in(&data)
        .args(["logs", "--show", "1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("run finished: copied 1"));
    let o = crate::util::fcs_in(&data)
        .args(["logs", "--show", "9"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Completion scripts for the usual shells and the manual pages come from the CLI definition.
#[test]
fn completions_and_manual_pages_are_printed() {
    for (shell, marker) in [
        ("bash", "_fcs()"),
        ("zsh", "#compdef fcs"),
        ("fish", "complete -c fcs"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(marker) && text.contains("sync") && text.contains("dry-run"),
            "{shell}"
        );
    }
    let o = run(&["man"]);
    assert!(o.status.success());
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.contains(".TH fcs 1") && page.contains("sync"),
        "{page}"
    );
    let o = run(&["man", "sync"]);
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.contains(".TH fcs-sync 1") && page.contains("delete"),
        "{page}"
    );
    assert_eq!(run(&["man", "nope"]).status.code(), Some(2));
}

#[test]
fn bad_paths_exit_2_with_a_code_and_the_path() {
    let d = tempdir().unwrap();
    let o = run(&[
        "copy",
        p(&d.path().join("nope.bin")),
        p(&d.path().join("o")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("PREFLIGHT_E_SOURCE") && err.contains("nope.bin"),
        "{err}"
    );
    let src = d.path().join("in.bin");
    write_file(&src, 10, 5);
    let o = run(&["copy", p(&src), p(&d.path().join("missing/dir/o"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PREFLIGHT_E_TARGET_DIR"));
    let o = run(&["copy", p(&src), p(&src)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PREFLIGHT_E_SAME_FILE"));
}

#[test]
fn settings_lists_every_key() {
    let o = run(&["settings"]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    for key in [
        "window",
        "flush_every_windows",
        "staged_chunk",
        "verify_policy",
        "verify_read",
        "unc_policy",
    ] {
        assert!(out.lines().any(|l| l.starts_with(key)), "{key} missing");
    }
}

/// Ctrl-C (SIGINT) mid-copy: exit 3, the temp removed, the target untouched.
#[cfg(unix)]
#[test]
fn ctrl_c_cancels_cleanly_with_exit_3() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    write_file(&src, 64 * MIB, 6);
    let old = write_file(&dst, 1234, 7);
    // Small chunks, SHA-256 and a device read-back keep the copy busy long enough to interrupt.
    let mut child = fcs()
        .args([
            "copy",
            p(&src),
            p(&dst),
            "--json",
            "--strategy",
            "staged",
            "--hash",
            "sha256",
            "--verify",
            "all",
        ])
        .args(["--set", "staged_chunk=64KiB"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait until the copy is under way.
    for line in lines.by_ref() {
        if line.unwrap().contains("\"progress\"") {
            break;
        }
    }
    testkit::interrupt(child.id());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "last events: {:?}",
        rest.iter().rev().take(2).collect::<Vec<_>>()
    );
    assert!(
        rest.last().unwrap().contains("\"cancelled\""),
        "{:?}",
        rest.last()
    );
    assert_content(&dst, &old);
    assert_no_temps(d.path());
}

/// A desktop session's descriptor limit (1,024 on Linux, 256 on macOS) is far below what a
/// run of many small files holds while they wait for a batch sync: the run raises its soft
/// limit to the hard one, and within a hard limit it cannot raise, holds no more than it may.
/// Both used to fail files with "too many open files".
#[cfg(target_os = "linux")]
#[test]
fn a_low_descriptor_limit_is_raised_or_kept_to() {
    let d = tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..1000 {
        write_file(&src.join(format!("d{:02}/f{i:04}", i % 40)), 1024, i);
    }
    // Soft limit only (the hard one stays), then soft and hard.
    for (limit, name) in [("-Sn 128", "soft"), ("-n 256", "hard")] {
        let dst = d.path().join(name);
        let mut sh = Command::new("sh");
        sh.args(["-c", &format!("ulimit {limit} && exec \"$0\" \"$@\"")]);
        let o = fcs_through(sh, &data_dir())
            .args(["sync", p(&src), p(&dst)])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(
            testkit::tree_files(&src) == testkit::tree_files(&dst),
            "{name}: the copy differs from the source"
        );
    }
}

/// Real errno injection with strace (RELIABILITY.md): the OS itself fails the call.
#[cfg(target_os = "linux")]
fn under_strace(inject: &str, args: &[&str]) -> Output {
    fcs_through(testkit::strace_injecting(inject), &data_dir())
        .args(args)
        .output()
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn fault_fallocate_enospc_gives_copy_e_prealloc() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    write_file(&src, 3 * MIB, 8);
    let old = write_file(&dst, 99, 9);
    let o = under_strace(
        "fallocate:error=ENOSPC",
        &[
            "copy",
            p(&src),
            p(&dst),
            "--set",
            "direct_large_threshold=1MiB",
            "--set",
            "window=1MiB",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("COPY_E_PREALLOC"), "{}", stderr(&o));
    assert_content(&dst, &old);
    assert_no_temps(d.path());
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn fault_eio_on_a_window_write_gives_copy_e_mmap_map_write() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    write_file(&src, 4 * MIB, 10);
    let old = write_file(&dst, 99, 11);
    let o = under_strace(
        "copy_file_range:error=EIO:when=2",
        &[
            "copy",
            p(&src),
            p(&dst),
            "--verify",
            "all",
            "--set",
            "direct_large_threshold=1MiB",
            "--set",
            "window=1MiB",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("COPY_E_MMAP_MAP_WRITE") && err.contains("offset 1048576"),
        "{err}"
    );
    assert_content(&dst, &old);
    assert_no_temps(d.path());
}

/// A temp that cannot be deleted after a failure is named in the error, never claimed gone.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn a_temp_that_cannot_be_deleted_is_named_not_claimed_gone() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    write_file(&src, MIB, 14);
    let old = write_file(&dst, 99, 15);
    testkit::require_tool("strace", "-V", "strace");
    let mut strace = Command::new("strace");
    strace.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "inject=fsync:error=EIO",
        "-e",
        "inject=unlink,unlinkat:error=EIO",
    ]);
    let o = fcs_through(strace, &data_dir())
        .args(["copy", p(&src), p(&dst)])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("FINALIZE_E_FSYNC"), "{err}");
    assert!(
        err.contains("could not be deleted") && !err.contains("Temp file deleted"),
        "{err}"
    );
    assert_content(&dst, &old);
    let temps = testkit::temp_files(d.path());
    assert_eq!(temps.len(), 1, "the temp named in the error is there");
    assert!(err.contains(&*temps[0].to_string_lossy()), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn fault_exdev_from_copy_file_range_falls_back_to_read_write() {
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    let data = write_file(&src, 3 * MIB, 12);
    let o = under_strace(
        "copy_file_range:error=EXDEV",
        &["copy", p(&src), p(&dst), "-v", "--verify", "all"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("method=read_write"), "{}", stderr(&o));
    assert_content(&dst, &data);
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs strace (scripts/test.sh runs ignored tests as root)"]
fn fault_a_lost_write_is_caught_by_the_verify() {
    // retval on pwrite64 skips the write but reports success: only a read-back catches it.
    let d = tempdir().unwrap();
    let src = d.path().join("in.bin");
    let dst = d.path().join("out.bin");
    write_file(&src, 3 * MIB, 13);
    let old = write_file(&dst, 99, 14);
    let o = under_strace(
        "pwrite64:retval=65536:when=3",
        &[
            "copy",
            p(&src),
            p(&dst),
            "--strategy",
            "staged",
            "--verify",
            "all",
            "--set",
            "staged_chunk=64KiB",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("VERIFY_E_HASH_MISMATCH"),
        "{}",
        stderr(&o)
    );
    assert_content(&dst, &old);
    assert_no_temps(d.path());
}

fn tree(root: &Path) {
    write_file(&root.join("a/b/deep.bin"), 200_000, 21);
    write_file(&root.join("top.txt"), 1000, 22);
    write_file(&root.join("zero"), 0, 23);
    std::fs::create_dir_all(root.join("empty")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("top.txt", root.join("link")).unwrap();
}

/// The issue's "done when": after `fcs sync --delete L R`, `diff -r` is empty, `rsync -ani`
/// lists nothing, `fcs compare` exits 0, and a second sync writes nothing.
#[test]
fn sync_delete_then_every_oracle_agrees_and_a_resync_does_nothing() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    tree(&l);
    write_file(&r.join("stale/old.txt"), 10, 24);
    write_file(&r.join("top.txt"), 999, 25);
    let o = run(&[
        "sync",
        "--delete",
        "--delete-mode",
        "permanent",
        "--force",
        p(&l),
        p(&r),
        "--log",
        p(&d.path().join("run.log")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("deleted 2"), "{}", stderr(&o));
    // No `diff` on Windows: there `fcs compare` below is the oracle.
    #[cfg(unix)]
    testkit::assert_diff_r_agrees(&l, &r);
    if testkit::has_tool("rsync") {
        testkit::assert_rsync_lists_nothing(&l, &r);
    }
    let o = run(&["compare", p(&l), p(&r)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run(&["sync", "--delete", p(&l), p(&r), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let fin: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "run_finished")
        .unwrap();
    assert_eq!(fin["summary"]["copied"], 0);
    assert_eq!(fin["summary"]["deleted"], 0);
    let log = std::fs::read_to_string(d.path().join("run.log")).unwrap();
    assert!(log.contains("INFO Decision: DIRECT-SMALL"), "{log}");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    tree(&l);
    std::fs::create_dir(&r).unwrap();
    let o = run(&["sync", "--dry-run", p(&l), p(&r)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let deep = Path::new("a").join("b").join("deep.bin");
    assert!(
        out.lines()
            .any(|l| l.starts_with("copy") && l.contains(p(&deep))),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("mkdir") && l.contains("empty")),
        "{out}"
    );
    assert!(stderr(&o).contains("DRY RUN"));
    assert_eq!(std::fs::read_dir(&r).unwrap().count(), 0);
}

#[test]
fn compare_exits_1_on_differences_with_a_table_and_json() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    tree(&l);
    std::fs::create_dir(&r).unwrap();
    write_file(&r.join("only-right"), 3, 26);
    let o = run(&["compare", p(&l), p(&r)]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with("left-only") && l.ends_with("top.txt")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("right-only") && l.ends_with("only-right")),
        "{out}"
    );
    let o = run(&["compare", p(&l), p(&r), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8(o.stdout).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["identical"], false);
    assert_eq!(last["right_only"], 1);
    let o = run(&["compare", p(&l), p(&l)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PLAN_E_ROOTS"));
}

#[test]
fn copy_of_a_folder_goes_into_an_existing_target() {
    let d = tempdir().unwrap();
    let src = d.path().join("proj");
    tree(&src);
    let into = d.path().join("backup");
    std::fs::create_dir(&into).unwrap();
    let o = run(&["copy", p(&src), p(&into)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_content(&into.join("proj/a/b/deep.bin"), &testkit::data(200_000, 21));
    let o = run(&["copy", p(&src), p(&src.join("a"))]);
    assert_eq!(o.status.code(), Some(2), "a copy into itself is refused");
}

/// Root reads every file, so the unreadable-file case runs the binary as `nobody`.
#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_file_is_reported_and_the_rest_is_copied() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    write_file(&l.join("ok.txt"), 100, 27);
    write_file(&l.join("secret.txt"), 100, 28);
    std::fs::create_dir(&r).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    mode(&l.join("secret.txt"), 0o000);
    // A data folder (journal, lock) the unprivileged user can write.
    let data = d.path().join("data");
    std::fs::create_dir(&data).unwrap();
    mode(&data, 0o777);
    let mut cmd = crate::util::fcs_in(&data);
    if testkit::is_root() {
        testkit::require_tool("setpriv", "--version", "util-linux");
        for dir in [d.path(), &l, &r] {
            mode(dir, 0o777);
        }
        mode(&l.join("ok.txt"), 0o644);
        let mut setpriv = Command::new("setpriv");
        setpriv.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
        cmd = fcs_through(setpriv, &data);
    }
    let o = cmd
        .args(["sync", p(&l), p(&r), "--log", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("secret.txt") && stderr(&o).contains("PREFLIGHT_E_SOURCE"),
        "{}",
        stderr(&o)
    );
    assert!(r.join("ok.txt").exists());
    assert!(!r.join("secret.txt").exists());
}

/// Replaced files go to the trash (the original app's behaviour), yet the replacement itself is
/// one atomic rename: the old version reaches the trash through a second name made beforehand.
#[cfg(target_os = "linux")]
#[test]
fn a_replaced_file_goes_to_the_trash_under_its_own_name() {
    let d = tempdir().unwrap();
    let (l, r, data_home) = (d.path().join("L"), d.path().join("R"), d.path().join("xdg"));
    let new = write_file(&l.join("doc.txt"), 500, 31);
    let old = write_file(&r.join("doc.txt"), 400, 32);
    std::fs::create_dir_all(&data_home).unwrap();
    let o = fcs()
        .env("XDG_DATA_HOME", &data_home)
        .args(["sync", p(&l), p(&r), "--log", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_content(&r.join("doc.txt"), &new);
    assert_content(&data_home.join("Trash/files/doc.txt"), &old);
    let leftovers: Vec<_> = std::fs::read_dir(&r)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("fcs"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With --delete-mode permanent nothing goes to the trash.
    write_file(&l.join("doc.txt"), 600, 33);
    let o = fcs()
        .env("XDG_DATA_HOME", &data_home)
        .args([
            "sync",
            "--delete-mode",
            "permanent",
            p(&l),
            p(&r),
            "--log",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(data_home.join("Trash/files"))
            .unwrap()
            .count(),
        1
    );
}

/// A saved job (`[job]` in the settings file) names the folders, the mode and the excludes:
/// `fcs sync --config job.toml` mirrors without any folder on the command line, leaving the
/// excluded names alone; a job file missing a folder is an error that names the key.
#[test]
fn a_saved_job_runs_with_no_folders_on_the_command_line() {
    let d = tempdir().unwrap();
    let (l, r) = (d.path().join("L"), d.path().join("R"));
    let put = |p: &Path, body: &[u8]| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    put(&l.join("keep.txt"), b"new");
    put(&l.join("skip.tmp"), b"excluded");
    put(&r.join("stale.txt"), b"gone after the mirror");
    put(&r.join("local.tmp"), b"excluded: never deleted");
    // Settings beside the job: the deletes go for good (the trash has tests of its own, and
    // Wine has no Recycle Bin to take them).
    let job = d.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            "verify_policy = \"all\"\ndelete_mode = \"permanent\"\n\n[job]\nleft = {:?}\nright = {:?}\nmode = \"mirror\"\nexclude = [\"*.tmp\"]\n",
            p(&l),
            p(&r)
        ),
    )
    .unwrap();
    let o = run(&["sync", "--config", p(&job)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    if cfg!(windows) {
        // The summary names the folders as the user wrote them, not in the long `\\?\` form
        // the engine works with.
        assert!(
            !stderr(&o).contains(r"\\?\") && stderr(&o).contains(p(&l)),
            "{}",
            stderr(&o)
        );
    }
    assert_content(&r.join("keep.txt"), b"new");
    assert!(!r.join("stale.txt").exists(), "mirror deletes");
    assert!(!r.join("skip.tmp").exists(), "excluded, not copied");
    assert!(r.join("local.tmp").exists(), "excluded, not deleted");
    std::fs::write(&job, format!("[job]\nleft = {:?}\n", p(&l))).unwrap();
    let o = run(&["sync", "--config", p(&job)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[job] needs right"), "{}", stderr(&o));
    let o = run(&["sync"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("needs LEFT and RIGHT"),
        "{}",
        stderr(&o)
    );
}

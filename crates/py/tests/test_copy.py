"""FileCopyManager_class and copy(): the original copy manager's contract, over the engine."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import pickle
import sys
import threading

import pytest

import foldercomparesync as fcs
from foldercomparesync import FileCopyManager_class

from conftest import pattern, temps, write

MiB = 1024 * 1024
OLD = 1_600_000_000.0


def test_a_small_file_is_copied_verified_with_its_times(tmp_path):
    src = write(tmp_path / "src" / "a.txt", b"hello world\n", mtime=OLD)
    (tmp_path / "dst").mkdir()
    mgr = FileCopyManager_class()
    r = mgr.copy_file(src, tmp_path / "dst" / "a.txt")
    assert r.success, r
    assert (tmp_path / "dst" / "a.txt").read_bytes() == b"hello world\n"
    assert os.stat(tmp_path / "dst" / "a.txt").st_mtime == OLD
    assert r.strategy_used == "DIRECT-SMALL"
    assert r.verification_passed and r.verification_mode == "mmap"
    assert (r.file_size, r.bytes_copied) == (12, 12)
    assert r.error_code is None and r.error_message == ""
    assert r.decision_line.startswith("Decision: DIRECT-SMALL")
    assert r.perf_line.startswith("Perf: bytes=12 ")
    assert r.duration_seconds >= r.time_copy >= 0 and r.time_verify >= 0
    assert temps(tmp_path) == []


def test_into_an_existing_folder_keeps_the_name(tmp_path):
    src = write(tmp_path / "a.bin", b"x" * 100)
    (tmp_path / "dst").mkdir()
    r = FileCopyManager_class().copy_file(str(src), str(tmp_path / "dst"))
    assert r.success
    assert r.target_path == str(tmp_path / "dst" / "a.bin")
    assert (tmp_path / "dst" / "a.bin").read_bytes() == b"x" * 100


@pytest.mark.parametrize(
    "strategy,mode",
    [("direct-small", "mmap"), ("direct-large", "hash"), ("staged", "hash")],
)
def test_each_strategy_forced_copies_and_verifies(tmp_path, strategy, mode):
    data = pattern(3 * MiB + 17)
    src = write(tmp_path / "s.bin", data)
    mgr = FileCopyManager_class(
        settings={
            "strategy": strategy,
            "FILECOPY_VERIFY_POLICY": "all",
            "FILECOPY_MMAP_WINDOW_BYTES": MiB,
            "FILECOPY_NETWORK_CHUNK_BYTES": MiB,
            "hash": "sha256",
        }
    )
    r = mgr.copy_file(src, tmp_path / "d.bin")
    assert r.success, r.error_details
    assert r.strategy_used == strategy.upper()
    assert (tmp_path / "d.bin").read_bytes() == data
    assert r.verification_passed and r.verification_mode == mode
    if mode == "hash":
        assert r.hash_algorithm == "sha256"
        assert r.computed_hash == hashlib.sha256(data).hexdigest()


def test_progress_is_monotonic_per_phase_and_ends_at_the_total(tmp_path):
    size = 8 * MiB + 5
    src = write(tmp_path / "big.bin", pattern(size))
    seen = []
    mgr = FileCopyManager_class(
        settings={"strategy": "staged", "staged_chunk": "1MiB", "verify_policy": "all"},
        progress_callback=seen.append,
    )
    r = mgr.copy_file(src, tmp_path / "out.bin")
    assert r.success, r.error_details
    phases = [p.phase for p in seen]
    assert phases == sorted(phases, key=["copy", "verify"].index), "copy first, then verify"
    for phase in ("copy", "verify"):
        done = [p.done for p in seen if p.phase == phase]
        assert len(done) >= 8, f"one update per chunk in {phase}: {done}"
        assert done == sorted(done)
        assert done[-1] == size
        assert all(p.total == size and p.path == str(src) for p in seen if p.phase == phase)


def test_unverified_copies_do_not_claim_a_verify(tmp_path):
    src = write(tmp_path / "a", b"abc")
    r = FileCopyManager_class(settings={"FILECOPY_VERIFY_POLICY": "none"}).copy_file(
        src, tmp_path / "b"
    )
    assert r.success
    assert not r.verification_passed
    assert r.verification_mode == "none"


def _flip_after_copy(target_dir):
    """A progress callback that flips one byte of the temp once its copy phase is done:
    corruption between the write and the read-back, which the verify must catch."""
    state = {"flipped": False}

    def on_progress(p):
        if p.phase == "copy" and p.done == p.total and not state["flipped"]:
            (tmp,) = [target_dir / n for n in temps(target_dir)]
            with open(tmp, "r+b") as f:
                f.seek(p.total // 2)
                b = f.read(1)
                f.seek(p.total // 2)
                f.write(bytes([b[0] ^ 0x40]))
            state["flipped"] = True

    return on_progress, state


@pytest.mark.parametrize(
    "strategy,code",
    [
        ("direct-small", "VERIFY_E_COMPARE_MISMATCH"),
        ("direct-large", "VERIFY_E_HASH_MISMATCH"),
        ("staged", "VERIFY_E_HASH_MISMATCH"),
    ],
)
def test_a_flipped_byte_fails_the_verify_and_keeps_the_old_target(tmp_path, strategy, code):
    src = write(tmp_path / "src" / "f.bin", pattern(2 * MiB, seed=2))
    dst = write(tmp_path / "dst" / "f.bin", b"the old version")
    on_progress, state = _flip_after_copy(tmp_path / "dst")
    mgr = FileCopyManager_class(
        settings={"strategy": strategy, "verify_policy": "all", "window": "1MiB"},
        progress_callback=on_progress,
    )
    r = mgr.copy_file(src, dst)
    assert state["flipped"]
    assert not r.success
    assert r.error_code == code, r.error_details
    assert isinstance(fcs.error_class(code)("x", "y"), fcs.VerifyError)
    assert r.rollback_performed and r.rollback_success
    assert not r.cancelled_by_user
    assert r.recovery_suggestion
    assert dst.read_bytes() == b"the old version"
    assert temps(tmp_path) == []


def test_cancel_from_another_thread_stops_mid_copy_and_keeps_the_target(tmp_path):
    src = write(tmp_path / "src" / "big.bin", pattern(64 * MiB, seed=3))
    dst = write(tmp_path / "dst" / "big.bin", b"keep me")
    started = threading.Event()
    updates = []

    def on_progress(p):
        updates.append(p)
        started.set()

    mgr = FileCopyManager_class(
        settings={"strategy": "staged", "staged_chunk": "64KiB"}, progress_callback=on_progress
    )
    canceller = threading.Thread(target=lambda: (started.wait(30), mgr.cancel()))
    canceller.start()
    r = mgr.copy_file(src, dst)
    canceller.join()
    assert not r.success
    assert r.cancelled_by_user
    assert r.error_code == "COPY_E_CANCELLED"
    assert dst.read_bytes() == b"keep me"
    assert temps(tmp_path) == []
    copied = max(p.done for p in updates if p.phase == "copy")
    assert copied < 64 * MiB, "stopped before the end"

    # Sticky until reset: the next copy is cancelled too; a new operation runs again.
    assert mgr.copy_file(src, dst).cancelled_by_user
    mgr.start_copy_operation("again")
    assert not mgr.is_cancelled
    r = mgr.copy_file(src, dst)
    assert r.success, r.error_details
    assert dst.read_bytes() == src.read_bytes()


def test_dry_run_writes_nothing(tmp_path, data_dir):
    src = write(tmp_path / "a.bin", b"data")
    mgr = FileCopyManager_class(dry_run=True)
    mgr.start_copy_operation("preview")
    r = mgr.copy_file(src, tmp_path / "out" / "a.bin")
    mgr.end_copy_operation(1, 0, 0)
    assert r.success
    assert r.bytes_copied == 0 and r.verification_mode == "none"
    assert not (tmp_path / "out").exists()
    assert not (data_dir / "logs").exists() or not any((data_dir / "logs").iterdir())
    bad = mgr.copy_file(tmp_path / "missing", tmp_path / "x")
    assert not bad.success and bad.error_code == "PREFLIGHT_E_SOURCE"


def test_copy_file_never_raises_and_names_the_problem(tmp_path):
    mgr = FileCopyManager_class()
    r = mgr.copy_file(tmp_path / "missing.bin", tmp_path / "out.bin")
    assert not r.success
    assert r.error_code == "PREFLIGHT_E_SOURCE"
    assert r.os_error == errno.ENOENT
    assert "missing.bin" in r.error_details
    assert r.recovery_suggestion.startswith("Check that the source exists")
    assert not (tmp_path / "out.bin").exists()
    src = write(tmp_path / "a.bin", b"a")
    r = mgr.copy_file(src, tmp_path / "no" / "such" / "folder" / "a.bin")
    assert r.error_code == "PREFLIGHT_E_TARGET_DIR"


def test_the_raising_api_raises_the_family_class(tmp_path):
    with pytest.raises(fcs.PreflightError) as e:
        fcs.copy(tmp_path / "missing.bin", tmp_path / "out.bin")
    assert isinstance(e.value, fcs.FcsError) and isinstance(e.value, OSError)
    assert e.value.code == "PREFLIGHT_E_SOURCE"
    assert e.value.errno == errno.ENOENT
    assert e.value.temp_fate == "not_created"
    copy = pickle.loads(pickle.dumps(e.value))
    assert (type(copy), copy.code, copy.path) == (fcs.PreflightError, e.value.code, e.value.path)
    src = write(tmp_path / "same.bin", b"s")
    with pytest.raises(fcs.PreflightError, match="PREFLIGHT_E_SAME_FILE"):
        fcs.copy(src, src)


def test_bad_settings_raise_config_errors_naming_the_key(tmp_path):
    with pytest.raises(fcs.ConfigError) as e:
        FileCopyManager_class(settings={"no_such_setting": 1})
    assert e.value.code == "CONFIG_E_UNKNOWN_KEY"
    assert "no_such_setting" in str(e.value)
    with pytest.raises(fcs.ConfigError) as e:
        FileCopyManager_class(settings={"FILECOPY_VERIFY_POLICY": "sometimes"})
    assert e.value.code == "CONFIG_E_INVALID_VALUE"


def test_every_old_constant_maps_to_a_setting_the_engine_accepts():
    from foldercomparesync import constants

    names = [n for n in dir(constants) if n.startswith("FILECOPY_")]
    old = {n: getattr(constants, n) for n in names}
    FileCopyManager_class(settings=old)  # raises if one maps to a bad key or value
    keys = {k for k, *_ in fcs.settings_table()}
    for name in names:
        if name in constants.PYTHON_ONLY:
            continue
        assert constants.CONSTANT_TO_SETTING[name][0] in keys, name
    seeds = {seed for *_, seed in fcs.settings_table()}
    for name in constants.CONSTANT_TO_SETTING:
        assert name in seeds, f"{name} is not the seed constant of any setting"


def test_operation_log_decision_and_perf_lines_and_logging(tmp_path, data_dir, caplog):
    src = write(tmp_path / "a.bin", pattern(100_000))
    lines = []
    mgr = FileCopyManager_class(status_callback=lines.append)
    caplog.set_level(logging.INFO, logger="foldercomparesync")
    op = mgr.start_copy_operation("nightly")
    assert len(op) == 8 and int(op, 16) >= 0
    r = mgr.copy_file(src, tmp_path / "b.bin")
    assert r.operation_id == op
    mgr.end_copy_operation(1, 0, r.bytes_copied)
    log = open(mgr.log_path, encoding="utf-8").read()
    assert mgr.log_path.startswith(str(data_dir / "logs"))
    assert f"operation {op} started: nightly" in log
    assert " INFO Decision: DIRECT-SMALL" in log
    assert " INFO Perf: bytes=100000 " in log
    assert "run finished: operation" in log.splitlines()[-1]
    messages = [rec.getMessage() for rec in caplog.records]
    assert any(m.startswith("Decision: ") for m in messages)
    assert any(m.startswith("Perf: ") for m in messages)
    assert any("copied" in line for line in lines), lines


def test_the_original_progress_manager_is_driven_and_can_cancel(tmp_path):
    src = write(tmp_path / "a.bin", pattern(4 * MiB))

    class Manager:
        def __init__(self):
            self.calls = []
            self.stop = False

        def update_file_progress(self, path, done, total, strategy=""):
            self.calls.append(("copy", done, total, strategy))

        def update_verify_progress(self, path, done, total):
            self.calls.append(("verify", done, total))

        def complete_file(self, path, success):
            self.calls.append(("complete", success))

        def cancellation_callback(self):
            return self.stop

    pm = Manager()
    mgr = FileCopyManager_class(
        settings={"strategy": "staged", "staged_chunk": "64KiB", "verify_policy": "all"},
        progress_manager=pm,
    )
    assert mgr.copy_file(src, tmp_path / "b.bin").success
    copies = [c for c in pm.calls if c[0] == "copy"]
    assert copies[-1] == ("copy", 4 * MiB, 4 * MiB, "STAGED")
    assert len(copies) < 64, "throttled to the update frequency, the last always sent"
    assert ("verify", 4 * MiB, 4 * MiB) in pm.calls
    assert pm.calls[-1] == ("complete", True)

    pm.calls.clear()
    pm.stop = True
    r = mgr.copy_file(src, tmp_path / "c.bin")
    assert r.cancelled_by_user and not (tmp_path / "c.bin").exists()
    assert pm.calls[-1] == ("complete", False)


def test_move_file_removes_the_source_only_after_the_verified_copy(tmp_path):
    src = write(tmp_path / "a.bin", pattern(1000))
    r = FileCopyManager_class().move_file(src, tmp_path / "b.bin")
    assert r.success and r.verification_passed
    assert not src.exists()
    assert (tmp_path / "b.bin").read_bytes() == pattern(1000)


def test_overwrite_false_refuses_to_replace(tmp_path):
    src = write(tmp_path / "a", b"new")
    dst = write(tmp_path / "b", b"old")
    r = FileCopyManager_class().copy_file(src, dst, overwrite=False)
    assert not r.success and r.error_code == "PREFLIGHT_E_TARGET_DIR"
    assert dst.read_bytes() == b"old"


def test_a_raising_callback_does_not_break_the_copy(tmp_path, monkeypatch):
    src = write(tmp_path / "a", b"data")
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def broken(_):
        raise RuntimeError("callback bug")

    r = FileCopyManager_class(status_callback=broken, progress_callback=broken).copy_file(
        src, tmp_path / "b"
    )
    assert r.success
    assert (tmp_path / "b").read_bytes() == b"data"
    # Reported as Python reports an exception nobody can catch, not swallowed.
    assert reported and all(isinstance(u.exc_value, RuntimeError) for u in reported)


CTRL_C_SCRIPT = r"""
import signal
import sys
from foldercomparesync import FileCopyManager_class

# As in a terminal: a test runner started in the background may hand its children an ignored
# SIGINT, which Python then leaves ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)

def first(p, said=[]):
    if not said:
        said.append(1)
        print("copying", flush=True)

mgr = FileCopyManager_class(
    settings={"strategy": "staged", "staged_chunk": "64KiB"}, progress_callback=first
)
try:
    r = mgr.copy_file(sys.argv[1], sys.argv[2])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", r.success, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_cancels_the_copy_cleanly_then_raises_keyboard_interrupt(tmp_path):
    import signal
    import subprocess

    src = write(tmp_path / "big.bin", pattern(256 * MiB, seed=4))
    dst = write(tmp_path / "out" / "big.bin", b"previous")
    p = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, str(src), str(dst)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "copying"
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 130, out
    assert out.strip() == "interrupted"
    assert dst.read_bytes() == b"previous"
    assert temps(tmp_path) == []

"""compare, sync, verify, resume: the command line's tree operations as functions."""

from __future__ import annotations

import os

import pytest

import foldercomparesync as fcs

from conftest import pattern, temps, write

OLD = 1_600_000_000.0


def make_source(root):
    write(root / "a.txt", b"alpha\n", mtime=OLD)
    write(root / "docs" / "b.bin", pattern(300_000), mtime=OLD)
    write(root / "docs" / "deep" / "c.bin", pattern(70_000, seed=5), mtime=OLD)
    return root


def test_sync_then_verify_then_a_resync_writes_nothing(tmp_path, data_dir):
    src = make_source(tmp_path / "src")
    dst = tmp_path / "dst"
    progress = []
    lines = []
    r = fcs.sync(src, dst, progress_callback=progress.append, status_callback=lines.append)
    assert r.ok, r
    assert (r.copied, r.verified, r.failed) == (3, 3, 0)
    assert r.bytes == 6 + 300_000 + 70_000
    assert (dst / "docs" / "deep" / "c.bin").read_bytes() == pattern(70_000, seed=5)
    assert os.stat(dst / "a.txt").st_mtime == OLD
    assert r.log_path and r.log_path.startswith(str(data_dir / "logs" / "sync-"))
    assert "run finished:" in open(r.log_path, encoding="utf-8").read()
    assert any(line.startswith("run finished:") for line in lines)
    last = progress[-1]
    assert (last.files_total, last.bytes_total) == (3, r.bytes)
    assert max(p.bytes_done for p in progress) <= r.bytes

    v = fcs.verify(src, dst)
    assert v.ok and v.identical == 3

    again = fcs.sync(src, dst)
    assert again.ok and again.copied == 0 and again.plan == []


def test_compare_sees_each_category(tmp_path):
    left = make_source(tmp_path / "l")
    right = tmp_path / "r"
    fcs.sync(left, right)
    write(left / "new.txt", b"new")
    write(right / "only-right.txt", b"r")
    write(right / "a.txt", b"alpha!\n", mtime=OLD + 100)
    cmp = fcs.compare(left, right)
    by_path = {i.path: i for i in cmp.items}
    assert by_path["new.txt"].category == "left_only" and by_path["new.txt"].right is None
    assert by_path["only-right.txt"].category == "right_only"
    assert by_path["a.txt"].category == "right_newer"
    assert "size" in by_path["a.txt"].diffs
    assert by_path["docs/b.bin"].category == "same"
    assert by_path["docs/b.bin"].left.modified == OLD
    assert not cmp.identical and cmp.counts["left_only"] == 1
    assert {i.path for i in cmp.differences()} == {"new.txt", "only-right.txt", "a.txt"}


def test_a_dry_run_returns_the_plan_and_writes_nothing(tmp_path, data_dir):
    src = make_source(tmp_path / "src")
    r = fcs.sync(src, tmp_path / "dst", dry_run=True)
    assert r.dry_run and r.copied == 0
    assert {(a.kind, a.path) for a in r.plan if a.kind == "copy"} == {
        ("copy", "a.txt"),
        ("copy", "docs/b.bin"),
        ("copy", "docs/deep/c.bin"),
    }
    assert not (tmp_path / "dst").exists()
    assert r.log_path is None


def test_delete_mirrors_and_update_never_replaces_a_newer_target(tmp_path):
    src = make_source(tmp_path / "src")
    dst = tmp_path / "dst"
    fcs.sync(src, dst)
    write(dst / "extra.txt", b"x")
    write(dst / "a.txt", b"edited on the target\n", mtime=OLD + 3600)
    r = fcs.sync(src, dst, update=True, delete=True, settings={"delete_mode": "permanent"})
    assert r.deleted == 1 and not (dst / "extra.txt").exists()
    assert (dst / "a.txt").read_bytes() == b"edited on the target\n"
    r = fcs.sync(src, dst)
    assert r.copied == 1 and (dst / "a.txt").read_bytes() == b"alpha\n"


def test_verify_reports_a_silent_corruption(tmp_path):
    src = make_source(tmp_path / "src")
    dst = tmp_path / "dst"
    fcs.sync(src, dst)
    # Same size and time, one byte different: only reading the data finds it.
    p = dst / "docs" / "b.bin"
    data = bytearray(p.read_bytes())
    data[1234] ^= 1
    p.write_bytes(bytes(data))
    os.utime(p, (OLD, OLD))
    assert fcs.compare(src, dst).identical
    v = fcs.verify(src, dst)
    assert not v.ok
    (problem,) = v.problems
    assert (problem.path, problem.problem) == ("docs/b.bin", "mismatch")
    assert problem.code.startswith("VERIFY_E_")


def test_refused_runs_raise_their_family(tmp_path):
    src = make_source(tmp_path / "src")
    with pytest.raises(fcs.PlanError) as e:
        fcs.sync(src, src / "docs")
    assert e.value.code == "PLAN_E_ROOTS"
    assert not temps(tmp_path)
    with pytest.raises(fcs.PlanError):
        fcs.compare(tmp_path / "missing", src)
    with pytest.raises(fcs.JournalError) as e:
        fcs.resume()
    assert e.value.code == "JOURNAL_E_NOTHING"
    with pytest.raises(fcs.ConfigError):
        fcs.sync(src, tmp_path / "dst", settings={"verify_policy": "maybe"})


def test_a_cancelled_sync_is_finished_by_resume(tmp_path):
    src = tmp_path / "src"
    for k in range(40):
        write(src / f"f{k:02}.bin", pattern(200_000, seed=k), mtime=OLD)
    dst = tmp_path / "dst"
    cancel = fcs.CancelToken()

    def stop_after_a_few(p):
        if p.files_done >= 3:
            cancel.cancel()

    r = fcs.sync(
        src, dst, cancel=cancel, progress_callback=stop_after_a_few, settings={"workers": 1}
    )
    assert r.cancelled and r.copied < 40
    done = fcs.resume()
    assert done.resumed is not None or done.copied > 0
    assert fcs.verify(src, dst).ok
    assert fcs.sync(src, dst).copied == 0


def test_the_module_documents_itself():
    assert "FileCopyManager_class" in fcs.__doc__
    assert "copy_file" in fcs.FileCopyManager_class.__doc__ or fcs.FileCopyManager_class.copy_file.__doc__
    codes = dict(fcs.error_codes())
    assert "VERIFY_E_HASH_MISMATCH" in codes and codes["PLAN_E_ROOTS"]
    assert fcs.__version__

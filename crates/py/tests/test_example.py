"""The tkinter example (the shape of the original copy dialog) copying a folder for real, in a
real Tk window on a virtual X server (Xvfb), and the README's example."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import foldercomparesync as fcs

from conftest import pattern, write

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "tk_copy_folder.py"
README = HERE.parent / "README.md"


def need(tool: str) -> str:
    """The tool's path; without it the test fails as root (CI installs it: scripts/test-deps.sh)
    and is skipped, with the reason, otherwise."""
    path = shutil.which(tool)
    if path is None:
        if os.geteuid() == 0:
            pytest.fail(f"{tool} is not installed (scripts/test-deps.sh installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


def test_the_tkinter_dialog_copies_a_folder_under_xvfb(tmp_path):
    xvfb_run = need("xvfb-run")
    src = tmp_path / "src"
    write(src / "one.bin", pattern(3_000_000))
    write(src / "sub" / "two.txt", b"two\n")
    write(src / "sub" / "deeper" / "three.bin", pattern(50_000, seed=9))
    dst = tmp_path / "dst"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.run(
        [xvfb_run, "-a", sys.executable, str(EXAMPLE), str(src), str(dst), "--auto-close"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "3 copied, 0 failed" in p.stdout
    assert fcs.verify(src, dst).ok


def test_the_readme_example_runs(tmp_path):
    text = README.read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(# example\n.*?)```", text, re.S)
    src = tmp_path / "photos"
    write(src / "a.jpg", pattern(10_000))
    write(src / "trip" / "b.jpg", pattern(20_000, seed=2))
    p = subprocess.run(
        [sys.executable, "-c", code, str(src), str(tmp_path / "backup")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 files copied and verified" in p.stdout
    assert fcs.verify(src, tmp_path / "backup").ok

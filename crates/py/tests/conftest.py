"""Fixtures of the Python suite: a private data folder (journals, locks, run logs) per test, and
helpers to make files."""

from __future__ import annotations

import os
import pathlib

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """Every test's journals and logs in its own folder, never the user's."""
    d = tmp_path / "fcs-data"
    monkeypatch.setenv("FCS_DATA_DIR", str(d))
    return d


def write(path: pathlib.Path, data: bytes, mtime: float | None = None) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def pattern(size: int, seed: int = 1) -> bytes:
    """`size` bytes that differ at every offset from another seed's (cheap, not random)."""
    block = bytes((i * 31 + seed * 7) % 251 for i in range(65536))
    return (block * (size // len(block) + 1))[:size]


def temps(folder: pathlib.Path) -> list:
    """Our temp files left in a folder (`.<name>.<run>-<n>.fcs.tmp`)."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".fcs.tmp"))

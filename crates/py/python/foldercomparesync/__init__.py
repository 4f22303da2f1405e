"""FolderCompareSync's copy engine for Python.

A drop-in for the original app's ``FileCopyManager_class`` (change the import, keep the calls),
plus the tree operations of the ``fcs`` command line. Every copy goes to a temp file next to its
target, is verified read back from the medium (per the verify policy), and replaces the target
by one atomic rename: a failure or a cancel leaves the target exactly as it was. The work runs
in Rust with the GIL released; progress and status callbacks are called from the engine's
thread (in tkinter, hand them to ``root.after``; see ``examples/tk_copy_folder.py``).

Single files::

    from foldercomparesync import FileCopyManager_class

    mgr = FileCopyManager_class(status_callback=print, settings={"FILECOPY_VERIFY_POLICY": "all"})
    mgr.start_copy_operation("backup")
    result = mgr.copy_file("photo.jpg", "backup/photo.jpg")
    print(result.success, result.strategy_used, result.verification_mode, result.error_code)
    mgr.end_copy_operation(1 if result.success else 0, 0 if result.success else 1, result.bytes_copied)

Trees::

    import foldercomparesync as fcs

    result = fcs.sync("photos", "/mnt/backup/photos", progress_callback=lambda p: None)
    print(result.copied, result.failed, [e.code for e in result.errors])

Errors: ``copy_file`` never raises (its result says what happened); ``copy``, ``sync``,
``compare``, ``verify`` and ``resume`` raise :class:`FcsError` subclasses carrying our stable
code (``docs/errors.md``). Log lines (the ``Decision:`` and ``Perf:`` lines among them) go to the
``logging`` logger ``"foldercomparesync"``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, List, Mapping, Optional, Tuple

from . import _native
from ._events import Events, Progress
from .constants import settings_from_constants
from .errors import (
    CancelledError,
    ConfigError,
    CopyError,
    FcsError,
    FinalizeError,
    JournalError,
    MoveError,
    PlanError,
    PreflightError,
    ScanError,
    TreeError,
    VerifyError,
    error_class,
)
from .manager import CopyOperationResult, FileCopyManager_class, _succeeded
from .tree import (
    CompareItem,
    Comparison,
    FailedItem,
    Issue,
    PlannedAction,
    RunResult,
    Side,
    VerifyProblem,
    VerifyResult,
    compare,
    resume,
    sync,
    verify,
)

#: The cancel flag of a call: ``c = CancelToken(); … c.cancel()`` from any thread.
CancelToken = _native.Cancel

__version__ = _native.ENGINE_VERSION

__all__ = [
    "CancelToken",
    "CancelledError",
    "CompareItem",
    "Comparison",
    "ConfigError",
    "CopyError",
    "CopyOperationResult",
    "FailedItem",
    "FcsError",
    "FileCopyManager_class",
    "FinalizeError",
    "Issue",
    "JournalError",
    "MoveError",
    "PlanError",
    "PlannedAction",
    "PreflightError",
    "Progress",
    "RunResult",
    "ScanError",
    "Side",
    "TreeError",
    "VerifyError",
    "VerifyProblem",
    "VerifyResult",
    "compare",
    "copy",
    "data_dir",
    "error_class",
    "error_codes",
    "resume",
    "settings_table",
    "sync",
    "verify",
]


def copy(
    source: Any,
    target: Any,
    *,
    settings: Optional[Mapping[str, Any]] = None,
    progress_callback: Optional[Callable[[Progress], Any]] = None,
    cancel: Optional[CancelToken] = None,
    move: bool = False,
) -> CopyOperationResult:
    """Copies (or with ``move=True`` moves) one file like ``FileCopyManager_class.copy_file``,
    but raises the :class:`FcsError` subclass of its code when it fails."""
    cancel = cancel or CancelToken()
    events = Events(progress=progress_callback, cancel=cancel)
    s = settings_from_constants(settings or {})
    copier = _native.FileCopier(list(s.items()), cancel, events, move)
    src, dst = os.fspath(source), os.fspath(target)
    text = copier.copy(src, dst)
    return _succeeded(CopyOperationResult(source_path=src, target_path=dst), text, events)


def settings_table() -> List[Tuple[str, str, str, str, str]]:
    """Every engine setting: ``(key, default, allowed range, what it does, seed constant)``."""
    return _native.settings_table()


def error_codes() -> List[Tuple[str, str]]:
    """Every stable error code with its advice (``docs/errors.md`` explains each)."""
    return _native.error_codes()


def data_dir() -> Optional[str]:
    """The folder of journals, locks and run logs (``FCS_DATA_DIR`` overrides it)."""
    d = _native.data_dir()
    return os.fspath(d) if d is not None else None



"""``FileCopyManager_class``: the original app's copy manager, backed by the engine.

Same constructor shape, same ``copy_file(source_path, target_path)`` returning a
``CopyOperationResult`` with the original field names, same ``start_copy_operation`` /
``end_copy_operation`` around a batch. What the engine adds: the copy goes to a temp file next to
the target, is verified read back from the medium (per the verify policy), and replaces the
target by one atomic rename — a failure or a cancel leaves the target exactly as it was.

Differences from the original, on purpose (also in the package's README):

* ``verification_passed`` is ``True`` only when a verify ran and passed; an unverified copy
  (``verify_policy="none"``, or a file above ``verify_threshold``) says ``False`` with
  ``verification_mode="none"``.
* ``error_code`` is our stable code string (``"VERIFY_E_HASH_MISMATCH"``); the OS error number,
  when there is one, is in ``os_error``.
* The cancel flag is reset by ``start_copy_operation`` (and ``reset_cancel()``): a second
  operation never starts cancelled.
* No backup copy of the target is made (``backup_path`` stays ``None``): the atomic rename is the
  rollback; ``rollback_performed`` says the temp was removed after a failure.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from . import _native
from ._events import Events, Progress, RunLog
from .constants import FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ, settings_from_constants
from .errors import FcsError


@dataclass
class CopyOperationResult:
    """What one ``copy_file`` did. Field names are the original's."""

    success: bool = False
    strategy_used: str = ""
    """``DIRECT-SMALL``, ``DIRECT-LARGE`` or ``STAGED`` (empty when the copy did not start)."""
    source_path: str = ""
    target_path: str = ""
    file_size: int = 0
    bytes_copied: int = 0
    """Bytes written into the target (0 when the copy failed or was a dry run)."""
    duration_seconds: float = 0.0
    throughput_mbps: float = 0.0
    """Megabytes (10^6) per second over the whole file operation."""
    verification_passed: bool = False
    """True only when a verify ran and passed."""
    verification_mode: str = "none"
    """How the copy was verified: ``hash``, ``compare``, ``none`` … (``docs/vocabulary.md``)."""
    hash_algorithm: str = ""
    computed_hash: Optional[str] = None
    """The source's digest computed during the copy (hash-verified strategies), else None."""
    rollback_performed: bool = False
    """The copy failed after its temp was created, and the temp was removed."""
    rollback_success: bool = False
    sparse_file_detected: bool = False
    cancelled_by_user: bool = False
    retry_count: int = 0
    temp_path: Optional[str] = None
    """A temp file that could not be removed after a failure (the next copy into that folder
    removes it), else None."""
    backup_path: Optional[str] = None
    time_backup: float = 0.0
    time_copy: float = 0.0
    time_verify: float = 0.0
    time_cleanup: float = 0.0
    error_code: Optional[str] = None
    """Our stable code (``docs/errors.md``), None on success."""
    error_message: str = ""
    error_details: str = ""
    """The whole message as the command line prints it (code, path, temp fate, advice)."""
    recovery_suggestion: str = ""
    os_error: Optional[int] = None
    """The OS error number behind the failure, when there is one."""
    decision_line: str = ""
    """The engine's ``Decision:`` line (strategy, drive kinds, verify mode and why)."""
    perf_line: str = ""
    """The ``Perf:`` line (bytes, times, throughput, method)."""
    notices: List[str] = field(default_factory=list)
    """Things worth knowing that are not failures (``docs/vocabulary.md`` notice kinds)."""
    operation_id: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """The result as a plain dict (for JSON or a log)."""
        return asdict(self)


def _pairs(settings: Mapping[str, str]) -> list:
    return list(settings.items())


class FileCopyManager_class:  # noqa: N801 — the original's name, kept for a drop-in import
    """The copy manager: one per dialog or per app.

    Args:
        status_callback: called with one line of text per step (copying, copied, a notice, a
            failure) — from the engine's thread: in tkinter, hand it to ``root.after``.
        dry_run: when True, ``copy_file`` checks the source and returns success with
            ``bytes_copied=0``, touching nothing.
        settings: our setting keys and/or the original ``FILECOPY_*`` names, e.g.
            ``{"FILECOPY_VERIFY_POLICY": "all"}`` or ``{"verify_policy": "all"}``. Checked here:
            a bad key or value raises :class:`~foldercomparesync.errors.ConfigError`.
        progress_callback: called with a :class:`Progress` after every window/chunk, from the
            engine's thread.
        progress_manager: an object with the original progress manager's methods
            (``update_file_progress``, ``update_verify_progress``, ``complete_file``,
            ``cancellation_callback``); each is optional. Called at most
            ``FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ`` times a second per phase.
    """

    def __init__(
        self,
        status_callback: Optional[Callable[[str], Any]] = None,
        dry_run: bool = False,
        settings: Optional[Mapping[str, Any]] = None,
        progress_callback: Optional[Callable[[Progress], Any]] = None,
        progress_manager: Any = None,
    ) -> None:
        raw = dict(settings or {})
        self.status_callback = status_callback
        self.dry_run = dry_run
        self.progress_callback = progress_callback
        self.progress_manager = progress_manager
        self.progress_hz = float(
            raw.get("FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ", FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ)
        )
        self.settings: Dict[str, str] = settings_from_constants(raw)
        _native.check_settings(_pairs(self.settings))
        self._cancel = _native.Cancel()
        self._lock = threading.Lock()
        self._log: Optional[RunLog] = None
        # One engine copier per cancel flag and kind (copy, move), kept across the files of an
        # operation: its drive-kind cache and once-per-run notices go with it.
        self._copiers: Dict[bool, Any] = {}
        self._events = Events(
            status=self._status,
            progress=self._progress,
            manager=None,
            manager_hz=self.progress_hz,
        )
        self.operation_id: Optional[str] = None
        self.operation_name: Optional[str] = None
        self.log_path: Optional[str] = None

    # --- status and cancel --------------------------------------------------------------

    def set_status_callback(self, callback: Optional[Callable[[str], Any]]) -> None:
        """Replaces the status callback."""
        self.status_callback = callback

    def cancel(self) -> None:
        """Cancels the copy in flight (from any thread): it stops within one window or chunk,
        its temp is removed and the target stays as it was. Copies started after it are
        cancelled too, until ``reset_cancel()`` or the next ``start_copy_operation``."""
        self._cancel.cancel()

    def reset_cancel(self) -> None:
        """Clears a cancel, so the next copy runs."""
        with self._lock:
            self._cancel = _native.Cancel()
            self._copiers = {}

    @property
    def is_cancelled(self) -> bool:
        """Whether ``cancel()`` was called since the last reset."""
        return self._cancel.cancelled

    # --- operations ---------------------------------------------------------------------

    def start_copy_operation(self, operation_name: str, dry_run: Optional[bool] = None) -> str:
        """Starts a batch: resets the cancel flag, opens the operation's log file (in the data
        folder's ``logs``, listed by ``fcs logs``) and returns its 8-hex operation id."""
        if dry_run is not None:
            self.dry_run = dry_run
        self.reset_cancel()
        if self._log is not None:
            self._log.close()
        self.operation_id = secrets.token_hex(4)
        self.operation_name = operation_name
        self._log = None if self.dry_run else RunLog("copymanager", self.settings)
        self.log_path = self._log.path if self._log else None
        self._say(
            "INFO",
            f"operation {self.operation_id} started: {operation_name}"
            + (" (DRY RUN)" if self.dry_run else ""),
        )
        return self.operation_id

    def end_copy_operation(self, success_count: int, error_count: int, total_bytes: int) -> None:
        """Ends the batch: writes its summary to the log and closes it."""
        level = "ERROR" if error_count else "INFO"
        self._say(
            level,
            f"run finished: operation {self.operation_id} ({self.operation_name}): "
            f"{success_count} copied, {error_count} failed, {total_bytes} bytes"
            + (", cancelled" if self.is_cancelled else ""),
        )
        if self._log is not None:
            self._log.close()
            self._log = None

    def _say(self, level: str, text: str) -> None:
        Events(log=self._log).say(level, text)
        self._status(text)

    # The callbacks as they are now (the caller may replace them between copies).
    def _status(self, line: str) -> None:
        if self.status_callback is not None:
            self.status_callback(line)

    def _progress(self, p: Progress) -> None:
        if self.progress_callback is not None:
            self.progress_callback(p)

    def _copier(self, move: bool) -> Any:
        with self._lock:
            c = self._copiers.get(move)
            if c is None:
                c = _native.FileCopier(
                    list(self.settings.items()), self._cancel, self._events, move
                )
                self._copiers[move] = c
            self._events.cancel = self._cancel
            self._events.manager = self.progress_manager
            self._events.log = self._log
            self._events.last_finished = None
            self._events.notices = {}
            return c

    def copy_file(self, source_path: Any, target_path: Any, overwrite: bool = True) -> CopyOperationResult:
        """Copies one file; never raises for a copy that fails (the result says why).

        ``target_path`` is the target file, or an existing folder to copy into. An existing
        target is replaced safely (``overwrite`` is accepted for the older three-argument
        calls; ``False`` refuses to replace an existing file with ``PREFLIGHT_E_TARGET_DIR``).
        The GIL is released while the engine copies.
        """
        return self._run(source_path, target_path, overwrite, move=False)

    def move_file(self, source_path: Any, target_path: Any) -> CopyOperationResult:
        """Moves one file: copied, verified from the medium, committed, then the source is
        deleted — never before the copy is proven. Same result as ``copy_file``."""
        return self._run(source_path, target_path, True, move=True)

    def _run(self, source_path: Any, target_path: Any, overwrite: bool, move: bool) -> CopyOperationResult:
        src, dst = os.fspath(source_path), os.fspath(target_path)
        r = CopyOperationResult(source_path=src, target_path=dst, operation_id=self.operation_id)
        if self.dry_run:
            return self._dry_run(r)
        if not overwrite and os.path.isfile(dst):
            return _failed(
                r,
                FcsError(
                    "PREFLIGHT_E_TARGET_DIR",
                    "the target exists and overwrite=False",
                    dst,
                    None,
                    "Choose another target, or copy with overwrite=True (the target is replaced safely).",
                    f"PREFLIGHT_E_TARGET_DIR: the target exists and overwrite=False — '{dst}'. Nothing was written.",
                ),
                None,
            )
        copier = self._copier(move)
        try:
            report = copier.copy(src, dst)
        except FcsError as e:
            return _failed(r, e, self._events.last_finished)
        return _succeeded(r, report, self._events)

    def _dry_run(self, r: CopyOperationResult) -> CopyOperationResult:
        if not os.path.isfile(r.source_path):
            return _failed(
                r,
                FcsError(
                    "PREFLIGHT_E_SOURCE",
                    "the source is not a readable regular file",
                    r.source_path,
                    None,
                    "Check that the source exists, is a regular file and is readable.",
                    f"PREFLIGHT_E_SOURCE: the source is not a readable regular file — '{r.source_path}'. Nothing was written.",
                ),
                None,
            )
        r.file_size = os.path.getsize(r.source_path)
        r.success = True
        r.verification_mode = "none"
        self._say("INFO", f"DRY RUN: would copy '{r.source_path}' → '{r.target_path}' ({r.file_size} bytes)")
        return r


def _succeeded(r: CopyOperationResult, text: str, events: Events) -> CopyOperationResult:
    import json

    rep = json.loads(text)
    perf = rep["perf"]
    r.success = True
    r.target_path = rep["dst"]
    r.strategy_used = rep["strategy"]
    r.file_size = rep["size"]
    r.bytes_copied = perf["bytes"]
    r.duration_seconds = perf["elapsed_ms"] / 1000.0
    r.time_copy = perf["copy_ms"] / 1000.0
    r.time_verify = perf["verify_ms"] / 1000.0
    r.throughput_mbps = (perf["bytes"] / 1e6) / r.duration_seconds if r.duration_seconds else 0.0
    r.verification_passed = bool(rep["verified"])
    r.verification_mode = rep["verify_mode"] if rep["verified"] else "none"
    r.hash_algorithm = rep["hash_algorithm"] if r.verification_mode == "hash" else ""
    r.computed_hash = rep["digest"]
    r.decision_line = rep["decision"]
    r.perf_line = rep["perf_line"]
    r.notices = [n["kind"] for n in rep["notices"]]
    kinds = set(r.notices)
    for ks in events.notices.values():
        kinds.update(ks)
    r.sparse_file_detected = "sparse_source" in kinds
    return r


def _failed(r: CopyOperationResult, e: FcsError, finished: Optional[Dict[str, Any]]) -> CopyOperationResult:
    r.success = False
    r.error_code = e.code
    r.error_message = e.message
    r.error_details = e.text
    r.recovery_suggestion = e.advice
    r.os_error = e.os_errno
    r.cancelled_by_user = e.cancelled
    # What happened to the temp (docs/errors.md, "Temp:" of each code).
    if e.temp_fate == "deleted":
        r.rollback_performed = r.rollback_success = True
    elif e.temp_fate == "kept":
        r.rollback_performed, r.rollback_success = True, False
        r.temp_path = e.temp_path
    perf = (finished or {}).get("perf")
    if perf:
        r.strategy_used = perf.get("strategy", "")
        r.duration_seconds = perf["elapsed_ms"] / 1000.0
        r.time_copy = perf["copy_ms"] / 1000.0
        r.time_verify = perf["verify_ms"] / 1000.0
    try:
        r.file_size = os.path.getsize(r.source_path)
    except OSError:
        pass
    return r

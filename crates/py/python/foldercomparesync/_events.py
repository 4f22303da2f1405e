"""The engine's events, turned into what Python callers consume: ``Progress`` tuples for a
progress callback, the old progress-manager methods, status lines, ``logging`` records (the
Decision and Perf lines among them) and a run's log file.

The engine calls :class:`Events` from its own threads (the copy's, or a tree run's workers),
with the GIL held for the call only. Everything here must therefore be quick, and callbacks
that touch tkinter must hand the work to the UI thread (``widget.after``), never draw.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Dict, NamedTuple, Optional

from . import _native

logger = logging.getLogger("foldercomparesync")
# A library logs, the application decides what is shown (no "last resort" output to stderr).
logger.addHandler(logging.NullHandler())


class Progress(NamedTuple):
    """Where a copy stands, after each window/chunk (called from the engine thread).

    ``done``/``total`` are the current file's bytes in its current ``phase`` (``"copy"``, then
    ``"verify"`` when the file is verified). The run fields are filled by tree runs
    (``sync``), which know the whole run; a manager's single ``copy_file`` leaves them 0.
    """

    path: str
    """The source file."""
    phase: str
    """``"copy"`` or ``"verify"``."""
    done: int
    """Bytes of this file done in this phase."""
    total: int
    """Bytes of this file this phase will do."""
    files_done: int = 0
    """Tree runs: files finished so far."""
    files_total: int = 0
    """Tree runs: files the run copies."""
    bytes_done: int = 0
    """Tree runs: bytes copied so far over the whole run."""
    bytes_total: int = 0
    """Tree runs: bytes the run copies."""


class RunLog:
    """A run's log file in the data folder's ``logs`` (``fcs logs`` lists it), in the command
    line's format: ``<UTC time> <LEVEL> <text>`` per line. Old logs beyond ``log_keep_runs`` /
    ``log_keep_bytes`` are deleted when one is opened."""

    def __init__(self, command: str, settings: Dict[str, str]) -> None:
        path = _native.new_log_path(command, list(settings.items()))
        self.path: Optional[str] = str(path) if path is not None else None
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8") if self.path else None

    def write(self, level: str, text: str) -> None:
        if self._file is None:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        line = f"{stamp}.{int(now * 1000) % 1000:03d}Z {level} {text}\n"
        with self._lock:
            try:
                self._file.write(line)
            except (OSError, ValueError):  # a failing log must not fail the copy
                pass

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


_LEVELS = {"INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


class Events:
    """One call's event sink: the callable handed to the native module."""

    def __init__(
        self,
        status: Optional[Callable[[str], Any]] = None,
        progress: Optional[Callable[[Progress], Any]] = None,
        manager: Any = None,
        manager_hz: float = 2.0,
        cancel: Any = None,
        log: Optional[RunLog] = None,
    ) -> None:
        self.status = status
        self.progress = progress
        self.manager = manager
        self.min_interval = 1.0 / manager_hz if manager_hz > 0 else 0.0
        self.cancel = cancel
        self.log = log
        self.files: Dict[int, Dict[str, Any]] = {}
        self.copied: Dict[int, int] = {}
        self.files_done = 0
        self.files_total = 0
        self.bytes_finished = 0
        self.bytes_total = 0
        self.last_manager_call = 0.0
        #: The last ``file_finished`` event (its perf fills a failed copy's result).
        self.last_finished: Optional[Dict[str, Any]] = None
        #: Notice kinds seen, per file id (0: the run).
        self.notices: Dict[int, list] = {}
        self.lock = threading.Lock()

    def say(self, level: str, text: str, status: bool = False) -> None:
        logger.log(_LEVELS[level], text)
        if self.log is not None:
            self.log.write(level, text)
        if status and self.status is not None:
            self.status(text)

    def __call__(self, text: str) -> None:
        ev = json.loads(text)
        handler = getattr(self, "_on_" + ev.get("event", ""), None)
        if handler is not None:
            handler(ev)

    # --- the engine's events -----------------------------------------------------------

    def _on_file_started(self, ev: Dict[str, Any]) -> None:
        with self.lock:
            self.files[ev["id"]] = ev
        self.say("INFO", f"copy '{ev['src']}' → '{ev['dst']}' ({ev['size']} bytes)", True)

    def _on_decision(self, ev: Dict[str, Any]) -> None:
        with self.lock:
            f = self.files.get(ev["id"])
            if f is not None:
                f["strategy"] = ev.get("strategy", "")
        self.say("INFO", ev["line"])

    def _on_progress(self, ev: Dict[str, Any]) -> None:
        with self.lock:
            f = self.files.get(ev["id"], {})
            if ev["phase"] == "copy":
                self.copied[ev["id"]] = ev["done"]
            p = Progress(
                path=f.get("src", ""),
                phase=ev["phase"],
                done=ev["done"],
                total=ev["total"],
                files_done=self.files_done,
                files_total=self.files_total,
                bytes_done=self.bytes_finished + sum(self.copied.values()),
                bytes_total=self.bytes_total,
            )
        if self.progress is not None:
            self.progress(p)
        if self.manager is not None:
            self._to_manager(p, f.get("strategy", ""))

    def _to_manager(self, p: Progress, strategy: str) -> None:
        """The original progress manager's methods, at most ``manager_hz`` times a second
        (a phase's last update always goes through), and its cancellation callback."""
        now = time.monotonic()
        if p.done < p.total and now - self.last_manager_call < self.min_interval:
            return
        self.last_manager_call = now
        m = self.manager
        if p.phase == "copy" and hasattr(m, "update_file_progress"):
            m.update_file_progress(p.path, p.done, p.total, strategy=strategy)
        elif p.phase == "verify" and hasattr(m, "update_verify_progress"):
            m.update_verify_progress(p.path, p.done, p.total)
        ask = getattr(m, "cancellation_callback", None)
        if ask is not None and self.cancel is not None and ask():
            self.cancel.cancel()

    def _on_notice(self, ev: Dict[str, Any]) -> None:
        with self.lock:
            self.notices.setdefault(ev.get("id", 0), []).append(ev.get("kind"))
        self.say("WARN", f"{ev['message']} — '{ev['path']}'", True)

    def _on_file_finished(self, ev: Dict[str, Any]) -> None:
        out = ev["outcome"]
        with self.lock:
            f = self.files.pop(ev["id"], {})
            self.copied.pop(ev["id"], None)
            self.files_done += 1
            if out["status"] == "committed":
                self.bytes_finished += f.get("size", 0)
            self.last_finished = ev
        if ev.get("perf_line"):
            self.say("INFO", ev["perf_line"])
        if out["status"] == "committed":
            how = "verified" if out.get("verified") else "not verified"
            self.say("INFO", f"copied '{ev['dst']}' ({how})", True)
        elif out["status"] == "cancelled":
            self.say("WARN", f"cancelled '{ev['src']}': the target is untouched", True)
        else:
            self.say("ERROR", out.get("message", out.get("code", "")), True)
        if self.manager is not None and hasattr(self.manager, "complete_file"):
            self.manager.complete_file(ev["src"], out["status"] == "committed")

    def _on_run_started(self, ev: Dict[str, Any]) -> None:
        with self.lock:
            self.files_total = ev["files"]
            self.bytes_total = ev["bytes"]
        self.say(
            "INFO",
            f"run started: {ev['actions']} actions, {ev['files']} files, {ev['bytes']} bytes",
            True,
        )

    def _on_deleted(self, ev: Dict[str, Any]) -> None:
        self.say("INFO", f"deleted ({ev['mode']}) '{ev['path']}'", True)

    def _on_run_finished(self, ev: Dict[str, Any]) -> None:
        s = ev["summary"]
        self.say(
            "ERROR" if s["failed"] else "INFO",
            "run finished: "
            + ("cancelled, " if s["cancelled"] else "")
            + f"{s['copied']} copied ({s['verified']} verified), {s['failed']} failed, "
            f"{s['deleted']} deleted, {s['bytes']} bytes in {s['elapsed_ms'] / 1000:.1f} s",
            True,
        )

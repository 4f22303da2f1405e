"""Tree operations: ``compare``, ``sync``, ``verify``, ``resume`` — the command line's
``fcs compare / sync / verify / resume`` as functions returning plain Python objects.

A ``sync`` is one journaled run: interrupted (a crash, a cancel), it is finished by the next
run into the same target, or by ``resume()``. Errors that stop a run before it starts (bad
roots, a name clash, a mass deletion) raise; per-file failures do not — they are in the
result's ``errors``, each with its stable code, and the other files are copied.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from . import _native
from ._events import Events, Progress, RunLog
from .constants import settings_from_constants


@dataclass
class Side:
    """One side of a compared item."""

    kind: str
    """``file``, ``dir``, ``symlink`` or ``special``."""
    size: int
    modified: Optional[float]
    """POSIX seconds, like ``os.stat().st_mtime``."""
    created: Optional[float]


@dataclass
class CompareItem:
    """One path of either tree."""

    path: str
    """Relative to both roots."""
    category: str
    """``left_only``, ``right_only``, ``left_newer``, ``right_newer``, ``different``,
    ``metadata_only``, ``same`` … (``docs/vocabulary.md``)."""
    diffs: List[str]
    """What differs: ``size``, ``modified``, ``content``, ``permissions`` …"""
    left: Optional[Side]
    right: Optional[Side]


@dataclass
class Issue:
    """A path that could not be read (or a warning about one), with its code."""

    path: str
    code: str
    message: str
    warning: bool = False


@dataclass
class Comparison:
    """What ``compare`` found."""

    items: List[CompareItem]
    issues: List[Issue]
    identical: bool
    cancelled: bool
    counts: Dict[str, int]
    """Items per category."""
    twins: List[Any] = field(default_factory=list)
    """Names a case-insensitive or normalising filesystem would merge."""

    def differences(self) -> List[CompareItem]:
        """The items that are not ``same``."""
        return [i for i in self.items if i.category != "same"]


@dataclass
class FailedItem:
    """A file or folder a run could not handle."""

    path: str
    code: str
    message: str


@dataclass
class PlannedAction:
    """One step of a run's plan (a dry run returns them)."""

    kind: str
    """``copy``, ``mkdir``, ``delete``, ``symlink``, ``rename``, ``metadata`` …"""
    path: str
    size: int
    reason: str


@dataclass
class RunResult:
    """What a ``sync`` (or ``resume``) did."""

    copied: int = 0
    verified: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    dirs_created: int = 0
    bytes: int = 0
    elapsed_ms: int = 0
    cancelled: bool = False
    dry_run: bool = False
    errors: List[FailedItem] = field(default_factory=list)
    plan: List[PlannedAction] = field(default_factory=list)
    issues: List[Issue] = field(default_factory=list)
    log_path: Optional[str] = None
    """The run's log (``fcs logs`` lists it)."""
    summary: Dict[str, Any] = field(default_factory=dict)
    """Every count of the engine's summary (symlinks, renamed, metadata_updated, …)."""
    resumed: Optional[Dict[str, Any]] = None
    """An interrupted earlier run this one finished first (its source, target and summary)."""

    @property
    def ok(self) -> bool:
        """Nothing failed, nothing unreadable, not cancelled."""
        return not (self.failed or self.cancelled or any(not i.warning for i in self.issues))


@dataclass
class VerifyProblem:
    path: str
    problem: str
    """``mismatch``, ``missing_left``, ``missing_right``, ``type_or_link``, ``unreadable``."""
    code: str
    detail: str


@dataclass
class VerifyResult:
    """What ``verify`` found."""

    identical: int
    bytes: int
    problems: List[VerifyProblem]
    cancelled: bool
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        return not self.problems and not self.cancelled


def _options(
    settings: Optional[Mapping[str, Any]],
    include: Sequence[str],
    exclude: Sequence[str],
    name: Optional[str],
    exclude_vcs: bool,
    by: Optional[str],
    **flags: Any,
) -> Dict[str, Any]:
    s = settings_from_constants(settings or {})
    return dict(
        settings=list(s.items()),
        include=list(include),
        exclude=list(exclude),
        name=name,
        exclude_vcs=exclude_vcs,
        by=by,
        **flags,
    )


def _side(d: Optional[Dict[str, Any]]) -> Optional[Side]:
    return Side(**d) if d else None


def compare(
    left: Any,
    right: Any,
    *,
    by: Optional[str] = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    name: Optional[str] = None,
    exclude_vcs: bool = False,
    settings: Optional[Mapping[str, Any]] = None,
    cancel: Optional[_native.Cancel] = None,
) -> Comparison:
    """Compares two folder trees (by existence, size and modified time unless ``by`` says
    otherwise, e.g. ``"content"`` or ``"size,modified,permissions"``). Writes nothing."""
    opts = _options(settings, include, exclude, name, exclude_vcs, by)
    out = json.loads(
        _native.compare(
            os.fspath(left), os.fspath(right), json.dumps(opts), cancel or _native.Cancel()
        )
    )
    return Comparison(
        items=[
            CompareItem(
                path=i["path"],
                category=i["category"],
                diffs=i["diffs"],
                left=_side(i["left"]),
                right=_side(i["right"]),
            )
            for i in out["items"]
        ],
        issues=[Issue(**i) for i in out["issues"]],
        identical=out["identical"],
        cancelled=out["cancelled"],
        counts=out["counts"],
        twins=out["twins"],
    )


def sync(
    source: Any,
    target: Any,
    *,
    delete: bool = False,
    update: bool = False,
    dry_run: bool = False,
    force: bool = False,
    by: Optional[str] = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    name: Optional[str] = None,
    exclude_vcs: bool = False,
    manifest: Any = None,
    settings: Optional[Mapping[str, Any]] = None,
    status_callback: Optional[Callable[[str], Any]] = None,
    progress_callback: Optional[Callable[[Progress], Any]] = None,
    cancel: Optional[_native.Cancel] = None,
) -> RunResult:
    """Makes ``target`` hold ``source``'s version of every differing file (like ``fcs sync``):
    new and changed files copied (verified, atomic), folders created; with ``delete=True`` also
    target-only items deleted (to the trash by default); with ``update=True`` a newer target
    file is never replaced. ``target`` may not exist yet. ``dry_run`` returns the plan only."""
    opts = _options(
        settings,
        include,
        exclude,
        name,
        exclude_vcs,
        by,
        delete=delete,
        update=update,
        force=force,
        dry_run=dry_run,
        manifest=os.fspath(manifest) if manifest is not None else None,
    )
    log = None if dry_run else RunLog("sync", dict(opts["settings"]))
    events = Events(status=status_callback, progress=progress_callback, log=log, cancel=cancel)
    cancel = cancel or _native.Cancel()
    events.cancel = cancel
    try:
        if log is not None:
            events.say("INFO", f"sync '{os.fspath(source)}' → '{os.fspath(target)}'")
        text = _native.run_tree(
            "sync", os.fspath(source), os.fspath(target), json.dumps(opts), cancel, events
        )
    finally:
        if log is not None:
            log.close()
    return _run_result(json.loads(text), dry_run, log.path if log else None)


def resume(
    journal: Any = None,
    *,
    status_callback: Optional[Callable[[str], Any]] = None,
    progress_callback: Optional[Callable[[Progress], Any]] = None,
    cancel: Optional[_native.Cancel] = None,
) -> RunResult:
    """Finishes the interrupted run recorded in ``journal`` (or the only interrupted one);
    raises ``JournalError`` (``JOURNAL_E_NOTHING``) when there is none."""
    log = RunLog("resume", {})
    cancel = cancel or _native.Cancel()
    events = Events(status=status_callback, progress=progress_callback, log=log, cancel=cancel)
    try:
        text = _native.resume(
            os.fspath(journal) if journal is not None else None, cancel, events
        )
    finally:
        log.close()
    return _run_result(json.loads(text), False, log.path)


def _run_result(out: Dict[str, Any], dry_run: bool, log_path: Optional[str]) -> RunResult:
    s = out.get("summary") or {}
    plan = out.get("plan") or {}
    return RunResult(
        copied=s.get("copied", 0),
        verified=s.get("verified", 0),
        skipped=s.get("skipped", 0) or len(plan.get("skipped", [])),
        failed=s.get("failed", 0),
        deleted=s.get("deleted", 0),
        dirs_created=s.get("dirs_created", 0),
        bytes=s.get("bytes", 0),
        elapsed_ms=s.get("elapsed_ms", 0),
        cancelled=bool(out.get("cancelled")),
        dry_run=dry_run,
        errors=[FailedItem(e["path"], e["code"], e["message"]) for e in s.get("errors", [])],
        plan=[
            PlannedAction(a["kind"], a["rel"], a.get("size", 0), a.get("reason", ""))
            for a in plan.get("actions", [])
        ],
        issues=[Issue(**i) for i in out.get("issues", [])],
        log_path=log_path,
        summary=s,
        resumed=out.get("resumed"),
    )


def verify(
    left: Any,
    right: Any,
    *,
    verify_read: str = "device",
    hash: str = "blake3",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    name: Optional[str] = None,
    exclude_vcs: bool = False,
    settings: Optional[Mapping[str, Any]] = None,
    progress_callback: Optional[Callable[[Progress], Any]] = None,
    cancel: Optional[_native.Cancel] = None,
) -> VerifyResult:
    """Checks that ``right`` holds ``left``'s files byte for byte, by hash — read from the
    medium (``verify_read="device"``, the default) or the page cache (``"cache"``)."""
    s = dict(settings or {})
    s.setdefault("verify_read", verify_read)
    s.setdefault("hash", hash)
    opts = _options(s, include, exclude, name, exclude_vcs, None)
    events = Events(progress=progress_callback)
    out = json.loads(
        _native.verify(
            os.fspath(left),
            os.fspath(right),
            json.dumps(opts),
            cancel or _native.Cancel(),
            events,
        )
    )
    return VerifyResult(
        identical=out["identical"],
        bytes=out["bytes"],
        problems=[VerifyProblem(**p) for p in out["problems"]],
        cancelled=out["cancelled"],
        elapsed_ms=out["elapsed_ms"],
    )

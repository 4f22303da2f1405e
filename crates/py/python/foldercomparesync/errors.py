"""Errors as exceptions: one base class, :class:`FcsError` (an :class:`OSError`), and one subclass
per family of our stable codes (``COPY_E_…`` → :class:`CopyError`, ``VERIFY_E_…`` →
:class:`VerifyError`, …). Every code is documented in the project's ``docs/errors.md``;
``error_codes()`` lists them with their advice.

``FileCopyManager_class.copy_file`` never raises these (its result says what happened, as the
original did); the module-level functions (``copy``, ``sync``, ``compare``, ``verify``) do.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class FcsError(OSError):
    """An error of the engine, with its stable code.

    Attributes:
        code: the stable code, e.g. ``"VERIFY_E_HASH_MISMATCH"`` (``docs/errors.md``).
        message: what happened.
        path: the file or folder it is about.
        os_errno: the operating system's error number, when an OS call failed (else ``None``);
            also ``errno``, as for any :class:`OSError`.
        advice: what the user can do about it.
        text: the whole message as the command line prints it (code, message, path, what
            happened to the temp file, advice).
        temp_fate: what happened to the copy's temp file: ``"not_created"``, ``"deleted"``
            (the target is untouched), ``"committed"`` (the copy is in place) or ``"kept"``
            (it could not be removed: ``temp_path``; the next copy into that folder removes it).
        temp_path: the temp file left behind (``temp_fate == "kept"``), else ``None``.
    """

    family = ""

    def __init__(
        self,
        code: str,
        message: str,
        path: str = "",
        os_errno: Optional[int] = None,
        advice: str = "",
        text: str = "",
        temp_fate: Optional[str] = None,
        temp_path: Optional[str] = None,
    ) -> None:
        super().__init__(os_errno, text or f"{code}: {message}", path or None)
        self.temp_fate = temp_fate or "not_created"
        self.temp_path = temp_path
        self.code = code
        self.message = message
        self.path = path
        self.os_errno = os_errno
        self.advice = advice
        self.text = text or f"{code}: {message}"

    @property
    def cancelled(self) -> bool:
        """Whether the operation was cancelled (``COPY_E_CANCELLED``, ``VERIFY_E_CANCELLED``)."""
        return self.code.endswith("_E_CANCELLED")

    def __str__(self) -> str:
        return self.text

    def __reduce__(self):  # pickling keeps the code (multiprocessing, concurrent.futures)
        return (
            type(self),
            (
                self.code,
                self.message,
                self.path,
                self.os_errno,
                self.advice,
                self.text,
                self.temp_fate,
                self.temp_path,
            ),
        )


class ConfigError(FcsError):
    """``CONFIG_E_…``: an unknown setting, a value out of range, a bad settings file."""

    family = "CONFIG"


class PreflightError(FcsError):
    """``PREFLIGHT_E_…``: refused before anything was written (missing source, same file, UNC…)."""

    family = "PREFLIGHT"


class CopyError(FcsError):
    """``COPY_E_…``: the copy into the temp failed or was cancelled; the target is untouched."""

    family = "COPY"


class VerifyError(FcsError):
    """``VERIFY_E_…``: the copy read back differs, or could not be read; the target is untouched."""

    family = "VERIFY"


class FinalizeError(FcsError):
    """``FINALIZE_E_…``: making the copy durable or putting it in place failed."""

    family = "FINALIZE"


class MoveError(FcsError):
    """``MOVE_E_…``: the copy is in place but the source could not be removed."""

    family = "MOVE"


class ScanError(FcsError):
    """``SCAN_E_…``: a folder or file could not be read while scanning."""

    family = "SCAN"


class PlanError(FcsError):
    """``PLAN_E_…``: the run was refused before it started (bad roots, name clash, mass delete)."""

    family = "PLAN"


class TreeError(FcsError):
    """``TREE_E_…``: a folder, link, rename or delete of a tree run failed."""

    family = "TREE"


class JournalError(FcsError):
    """``JOURNAL_E_…``: the run's journal (resume) could not be read or written."""

    family = "JOURNAL"


class CancelledError(FcsError):
    """Raised for a cancelled operation when its family is not known (never by the engine)."""


_FAMILIES: Dict[str, Type[FcsError]] = {
    cls.family: cls
    for cls in (
        ConfigError,
        PreflightError,
        CopyError,
        VerifyError,
        FinalizeError,
        MoveError,
        ScanError,
        PlanError,
        TreeError,
        JournalError,
    )
}


def error_class(code: str) -> Type[FcsError]:
    """The exception class for a stable code (its family's, else :class:`FcsError`)."""
    return _FAMILIES.get(code.split("_E_", 1)[0], FcsError)


def _from_engine(
    code: str,
    message: str,
    path: str,
    os_errno: Optional[int],
    advice: str,
    text: str,
    temp_fate: Optional[str] = None,
    temp_path: Optional[str] = None,
) -> FcsError:
    """Called by the native module to build the exception it raises."""
    return error_class(code)(code, message, path, os_errno, advice, text, temp_fate, temp_path)

"""The original app's ``FILECOPY_*`` constants, each mapped to the engine setting it stands for.

The original read them from a constants module (``C.FILECOPY_…``); here they are plain values
with the original defaults of the specification, and :func:`settings_from_constants` turns any
of them — under their old names — into our settings. ``fcs settings`` (or
:func:`foldercomparesync.settings_table`) lists every setting with its default and range.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

MiB = 1024 * 1024
GiB = 1024 * MiB

FILECOPY_MMAP_WINDOW_BYTES = 64 * MiB
FILECOPY_NETWORK_CHUNK_BYTES = 4 * MiB
FILECOPY_DIRECT_MMAP_COPY_ENABLED = True
FILECOPY_DIRECT_MMAP_COPY_THRESHOLD_BYTES = 1 * GiB
FILECOPY_MMAP_FLUSH_EVERY_N_WINDOWS = 16
FILECOPY_VERIFY_POLICY = "lt_threshold"
FILECOPY_VERIFY_THRESHOLD_BYTES = 2 * GiB
FILECOPY_MAXIMUM_COPY_FILE_SIZE_BYTES = 20 * GiB
FILECOPY_FREE_DISK_SPACE_MARGIN = 64 * MiB
FILECOPY_UNC_PATH_REJECTION_STRICT = True
FILECOPY_MMAP_FALLBACK_MAX_CONSECUTIVE_FAILURES = 5
FILECOPY_MMAP_WRITE_ABORT_ON_FAILURE = True
FILECOPY_ATTRIBUTE_SPARSE_FILE_WARNING = True
# Not an engine setting: how often a progress manager's methods are called (the
# ``progress_callback`` gets every window/chunk).
FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ = 2

#: Old constant name → (setting key, how the old value becomes the setting's value).
CONSTANT_TO_SETTING: Dict[str, Tuple[str, Any]] = {
    "FILECOPY_MMAP_WINDOW_BYTES": ("window", str),
    "FILECOPY_NETWORK_CHUNK_BYTES": ("staged_chunk", str),
    "FILECOPY_DIRECT_MMAP_COPY_ENABLED": ("direct_large_enabled", lambda v: _bool(v)),
    "FILECOPY_DIRECT_MMAP_COPY_THRESHOLD_BYTES": ("direct_large_threshold", str),
    "FILECOPY_MMAP_FLUSH_EVERY_N_WINDOWS": ("flush_every_windows", str),
    "FILECOPY_VERIFY_POLICY": ("verify_policy", str),
    "FILECOPY_VERIFY_THRESHOLD_BYTES": ("verify_threshold", str),
    "FILECOPY_MAXIMUM_COPY_FILE_SIZE_BYTES": ("max_file_size", str),
    "FILECOPY_FREE_DISK_SPACE_MARGIN": ("free_space_margin", str),
    "FILECOPY_UNC_PATH_REJECTION_STRICT": (
        "unc_policy",
        lambda v: "reject" if v else "staged",
    ),
    "FILECOPY_MMAP_FALLBACK_MAX_CONSECUTIVE_FAILURES": ("mmap_fallback_max_failures", str),
    "FILECOPY_MMAP_WRITE_ABORT_ON_FAILURE": ("abort_on_window_failure", lambda v: _bool(v)),
    "FILECOPY_ATTRIBUTE_SPARSE_FILE_WARNING": ("sparse_file_warning", lambda v: _bool(v)),
}

#: Names that are not engine settings and are accepted (and used by the Python layer only).
PYTHON_ONLY = {"FILECOPY_PROGRESS_UPDATE_FREQUENCY_HZ"}


def _bool(v: Any) -> str:
    return "true" if v else "false"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return _bool(v)
    return str(v)


def settings_from_constants(settings: Mapping[str, Any]) -> Dict[str, str]:
    """Our settings (key → text value) from a mapping of setting keys and/or old constant names.

    ``{"FILECOPY_VERIFY_POLICY": "all", "hash": "sha256"}`` →
    ``{"verify_policy": "all", "hash": "sha256"}``. Python-only names (the progress rate) are
    left out; unknown keys are passed on, so the engine refuses them with ``CONFIG_E_UNKNOWN_KEY``.
    """
    out: Dict[str, str] = {}
    for name, value in settings.items():
        if name in PYTHON_ONLY:
            continue
        if name in CONSTANT_TO_SETTING:
            key, conv = CONSTANT_TO_SETTING[name]
            out[key] = conv(value)
        else:
            out[name] = _value(value)
    return out

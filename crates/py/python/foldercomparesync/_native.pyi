"""Type stubs of the native module (Rust, PyO3). Callers use the package's Python API; these
are its building blocks."""

from os import PathLike
from typing import Callable, List, Optional, Sequence, Tuple, Union

_Path = Union[str, PathLike[str]]
_Pairs = Sequence[Tuple[str, str]]
_OnEvent = Optional[Callable[[str], object]]

ENGINE_VERSION: str

class Cancel:
    """A cancel flag shared with running calls; sticky once set."""

    def __init__(self) -> None: ...
    def cancel(self) -> None:
        """Stops the calls holding this flag within one window or chunk."""
    @property
    def cancelled(self) -> bool: ...

class FileCopier:
    """The engine's per-file copier (settings checked at construction)."""

    def __init__(
        self, settings: _Pairs, cancel: Cancel, on_event: _OnEvent = None, moves: bool = False
    ) -> None: ...
    def copy(self, src: _Path, dst: _Path) -> str:
        """Copies (or moves) one file; the report as JSON; raises an FcsError subclass."""

def compare(
    left: _Path, right: _Path, options: str, cancel: Cancel, on_event: _OnEvent = None
) -> str: ...
def run_tree(
    kind: str,
    source: _Path,
    target: _Path,
    options: str,
    cancel: Cancel,
    on_event: _OnEvent = None,
) -> str: ...
def resume(journal: Optional[_Path], cancel: Cancel, on_event: _OnEvent = None) -> str: ...
def verify(
    left: _Path, right: _Path, options: str, cancel: Cancel, on_event: _OnEvent = None
) -> str: ...
def check_settings(settings: _Pairs) -> None: ...
def settings_table() -> List[Tuple[str, str, str, str, str]]: ...
def error_codes() -> List[Tuple[str, str]]: ...
def new_log_path(command: str, settings: _Pairs) -> Optional[_Path]: ...
def data_dir() -> Optional[_Path]: ...

"""Copy a folder with a progress dialog: the shape of the original app's copy dialog (overall
bar, current-file bar, status line, Cancel), with FolderCompareSync's engine doing the copying.

    python tk_copy_folder.py SOURCE_FOLDER TARGET_FOLDER

How the threads meet — the pattern to keep in your own app:

* the copy runs in a worker thread (``copy_file`` releases the GIL while the engine works, so
  the window stays responsive);
* the engine calls the progress and status callbacks from *its* thread. Tkinter must only be
  touched from the thread running ``mainloop``, so the callbacks only put tuples on a
  ``queue.Queue``; the window drains it every 50 ms with ``root.after``;
* Cancel calls ``manager.cancel()``: the file in flight stops within one window/chunk, its temp
  file is removed and the target stays as it was; the worker then stops taking new files.

``--auto-close`` closes the window when the copy ends (the test suite drives the example under
Xvfb that way) and the exit status says how it ended: 0 all copied, 1 some failed, 2 cancelled.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import tkinter as tk
from tkinter import ttk

from foldercomparesync import FileCopyManager_class, Progress


def files_under(root: str):
    """(source file, path relative to root) for every regular file under root, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                out.append((path, os.path.relpath(path, root)))
    return out


class CopyDialog:
    def __init__(self, root: tk.Tk, source: str, target: str, auto_close: bool) -> None:
        self.root = root
        self.source, self.target = source, target
        self.auto_close = auto_close
        self.events: "queue.Queue[tuple]" = queue.Queue()
        self.files = files_under(source)
        self.total_bytes = sum(os.path.getsize(p) for p, _ in self.files) or 1
        self.done_bytes = 0
        self.outcome = None  # (copied, failed, cancelled) when the worker ends

        # Callbacks run in the engine's thread: they only queue.
        self.manager = FileCopyManager_class(
            status_callback=lambda line: self.events.put(("status", line)),
            progress_callback=lambda p: self.events.put(("progress", p)),
        )

        root.title("Copying — FolderCompareSync")
        frame = ttk.Frame(root, padding=12)
        frame.grid(sticky="nsew")
        ttk.Label(frame, text=f"{source}  →  {target}").grid(row=0, column=0, sticky="w")
        ttk.Label(frame, text="Overall").grid(row=1, column=0, sticky="w", pady=(8, 0))
        self.overall = ttk.Progressbar(frame, length=460, maximum=1000)
        self.overall.grid(row=2, column=0, sticky="ew")
        self.overall_text = ttk.Label(frame, text=f"0 of {len(self.files)} files")
        self.overall_text.grid(row=3, column=0, sticky="w")
        ttk.Label(frame, text="Current file").grid(row=4, column=0, sticky="w", pady=(8, 0))
        self.current = ttk.Progressbar(frame, length=460, maximum=1000)
        self.current.grid(row=5, column=0, sticky="ew")
        self.current_text = ttk.Label(frame, text="")
        self.current_text.grid(row=6, column=0, sticky="w")
        self.status = ttk.Label(frame, text="", width=70)
        self.status.grid(row=7, column=0, sticky="w", pady=(8, 0))
        self.cancel_button = ttk.Button(frame, text="Cancel", command=self.cancel)
        self.cancel_button.grid(row=8, column=0, sticky="e", pady=(8, 0))

        self.worker = threading.Thread(target=self.copy_all, daemon=True)
        self.worker.start()
        root.after(50, self.drain)

    # --- worker thread --------------------------------------------------------------------

    def copy_all(self) -> None:
        copied = failed = nbytes = 0
        self.manager.start_copy_operation(f"copy {self.source} to {self.target}")
        for k, (src, rel) in enumerate(self.files):
            if self.manager.is_cancelled:
                break
            dst = os.path.join(self.target, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            self.events.put(("file", k, rel))
            result = self.manager.copy_file(src, dst)
            if result.success:
                copied += 1
                nbytes += result.bytes_copied
            elif not result.cancelled_by_user:
                failed += 1
                self.events.put(("status", f"{result.error_code}: {result.error_message}"))
            self.events.put(("finished", result.file_size))
        cancelled = self.manager.is_cancelled
        self.manager.end_copy_operation(copied, failed, nbytes)
        self.events.put(("end", copied, failed, cancelled))

    # --- UI thread ------------------------------------------------------------------------

    def cancel(self) -> None:
        self.manager.cancel()
        self.cancel_button.configure(state="disabled")

    def drain(self) -> None:
        try:
            while True:
                self.show(self.events.get_nowait())
        except queue.Empty:
            pass
        if self.outcome is None:
            self.root.after(50, self.drain)
        elif self.auto_close:
            self.root.destroy()

    def show(self, ev: tuple) -> None:
        kind = ev[0]
        if kind == "status":
            self.status.configure(text=ev[1][:120])
        elif kind == "file":
            self.overall_text.configure(text=f"{ev[1]} of {len(self.files)} files — {ev[2]}")
        elif kind == "progress":
            p: Progress = ev[1]
            frac = p.done / p.total if p.total else 1.0
            self.current["value"] = 1000 * frac
            self.current_text.configure(
                text=f"{p.phase}: {p.done / 1e6:.1f} MB of {p.total / 1e6:.1f} MB"
            )
            copied = p.done if p.phase == "copy" else p.total
            self.overall["value"] = 1000 * (self.done_bytes + copied) / self.total_bytes
        elif kind == "finished":
            self.done_bytes += ev[1]
            self.overall["value"] = 1000 * self.done_bytes / self.total_bytes
        elif kind == "end":
            _, copied, failed, cancelled = ev
            self.outcome = (copied, failed, cancelled)
            how = "cancelled" if cancelled else "finished"
            self.status.configure(text=f"Copy {how}: {copied} copied, {failed} failed")
            self.cancel_button.configure(text="Close", state="normal", command=self.root.destroy)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("--auto-close", action="store_true", help="close the window when done")
    args = ap.parse_args()
    root = tk.Tk()
    dialog = CopyDialog(root, args.source, args.target, args.auto_close)
    root.mainloop()
    if dialog.outcome is None:  # window closed mid-copy: stop the copy cleanly
        dialog.manager.cancel()
        dialog.worker.join()
        return 2
    copied, failed, cancelled = dialog.outcome
    print(f"{copied} copied, {failed} failed" + (", cancelled" if cancelled else ""))
    return 2 if cancelled else (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())

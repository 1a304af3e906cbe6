"""Filters what native (C/C++) code writes to stderr while a block runs.

TensorFlow, its TFLite converter and the LiteRT interpreter log from C++
straight to file descriptor 2, past Python's `sys.stderr` and `logging`, so
only a file-descriptor-level capture can keep their routine lines out of a
command's output. `filtered` points fd 2 at a temporary file for the
block, then writes back the lines `keep` accepts; if the block raises,
every line is written back, so nothing that explains a failure is lost.
Imports nothing of policylib.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator

__all__ = ["absl_prefix", "filtered"]


def absl_prefix(severities: str, source: str = r"[\w.]+") -> str:
    """A regex for the head of an absl C++ log line of those severities.

    absl writes `I0000 00:00:1796310529.806377    5874 cudart_stub.cc:31] ...`:
    severity letter and date, time, thread id, then `file:line]`; `source`
    narrows the file name.
    """
    return rf"[{severities}]\d{{4}} [\d:.]+ +\d+ {source}:\d+\] "


def _flush() -> None:
    stream = sys.stderr
    if stream is not None:
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def filtered(keep: Callable[[str], bool]) -> Iterator[None]:
    """Runs the block with fd 2 captured; writes back the lines `keep` accepts.

    Where `sys.stderr` writes to fd 2 (a terminal, a pipe), Python's own
    writes in the block are captured and filtered the same way; they come
    back after the block, in order.
    """
    _flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            _flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [
                line for line in text.splitlines(keepends=True) if failed or keep(line)
            ]
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                _flush()

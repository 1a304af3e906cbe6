"""Keeps TensorFlow's native start-up log lines off stderr.

Importing TensorFlow 2.21 prints a block of C++ log lines that no setting
reaches: absl writes them before `absl::InitializeLog()` runs, so
`TF_CPP_MIN_LOG_LEVEL` cannot hide them, and two of TensorFlow's libraries
each print the block. The first op then prints `failed call to cuInit` as
an *error* on every CPU-only machine. None of them says anything a user
can act on, yet they fill every `policylib` command's stderr and every
notebook's saved output.

`install()` puts an import hook on `sys.meta_path` (`base.import_hooks`): when TensorFlow
is first imported (by policylib or by anyone after `import policylib`),
the import and the device discovery that prints the cuInit line run with
file descriptor 2 pointed at a temporary file. Afterwards every line that
is not one of those routine lines is written back to stderr, so warnings
and errors still show (all of them, unfiltered, if the import fails).
`import policylib` itself still imports no TensorFlow.

Set `POLICYLIB_TF_STARTUP_LOGS=1` to see TensorFlow's start-up lines as
they are. A process that imports TensorFlow before policylib sees them too:
they are printed before policylib can step in.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from types import ModuleType

from policylib.base import import_hooks, native_stderr

__all__ = ["OPT_OUT", "install", "is_routine"]

OPT_OUT = "POLICYLIB_TF_STARTUP_LOGS"

# Lines TensorFlow's native start-up writes that carry nothing to act on.
_ROUTINE = re.compile(
    "|".join(
        (
            r"WARNING: All log messages before absl::InitializeLog\(\) is called"
            r" are written to STDERR",
            # absl's format: severity, MMDD, time, thread, file:line]. Info only.
            native_stderr.absl_prefix("I"),
            # The cpu_feature_guard notice's second line.
            r"To enable the following instructions: .* rebuild TensorFlow with",
            # No CUDA driver (a CPU-only machine): logged as an error.
            native_stderr.absl_prefix("E", r"cuda_platform\.cc")
            + "failed call to cuInit",
            # Duplicate plugin registration when two TF libraries load.
            native_stderr.absl_prefix("E") + r"Unable to register cu\w+ factory",
        )
    )
)


def is_routine(line: str) -> bool:
    """Whether `line` is one of TensorFlow's routine start-up lines."""
    return _ROUTINE.match(line) is not None


@contextlib.contextmanager
def _quiet(module: ModuleType) -> Iterator[None]:
    """TensorFlow's import with its routine stderr lines dropped."""
    with native_stderr.filtered(keep=lambda line: not is_routine(line)):
        yield
        # Device discovery prints the cuInit line; done here, it is caught.
        # Devices stay configurable (no runtime is started).
        module.config.list_physical_devices()


def install() -> None:
    """Quiets TensorFlow's start-up lines, unless TF is loaded or the user opted out."""
    if os.environ.get(OPT_OUT, "") not in ("", "0"):
        return
    if "tensorflow" in sys.modules:
        return
    import_hooks.around_import("tensorflow", _quiet)

"""Keeps TensorFlow's native start-up log lines off stderr.

Importing TensorFlow 2.21 prints a block of C++ log lines that no setting
reaches: absl writes them before `absl::InitializeLog()` runs, so
`TF_CPP_MIN_LOG_LEVEL` cannot hide them, and two of TensorFlow's libraries
each print the block. The first op then prints `failed call to cuInit` as
an *error* on every CPU-only machine. None of them says anything a user
can act on, yet they fill every `policylib` command's stderr and every
notebook's saved output.

`install()` puts a one-shot import hook on `sys.meta_path`: when TensorFlow
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
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from policylib.base import native_stderr

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


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's own loader with its routine stderr lines dropped."""

    def __init__(self, inner: importlib.abc.Loader):
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # TensorFlow sees its own loader, as without the hook.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        with native_stderr.filtered(keep=lambda line: not is_routine(line)):
            self._inner.exec_module(module)
            # Device discovery prints the cuInit line; done here, it is
            # caught. Devices stay configurable (no runtime is started).
            module.config.list_physical_devices()


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, through the other finders, with a quiet loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # one-shot, and no recursion below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Quiets TensorFlow's start-up lines, unless TF is loaded or the user opted out."""
    if os.environ.get(OPT_OUT, "") not in ("", "0"):
        return
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _TensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TensorFlowFinder())

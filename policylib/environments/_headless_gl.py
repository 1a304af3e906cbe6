"""MuJoCo rendering on Linux without a display, beside TensorFlow.

Two things stop dm_control from rendering on a headless Linux machine that
runs policylib:

* With `MUJOCO_GL` unset, dm_control picks GLFW, which needs a display.
  `prepare` sets it to 'egl' (or 'osmesa') when that library is installed.
* Mesa's software renderer (llvmpipe, used by EGL and OSMesa when there is
  no GPU driver) is built on LLVM, and TensorFlow exports its own copy of
  LLVM's symbols to the whole process. Mesa's driver then calls TensorFlow's
  LLVM and crashes (a segfault when the first frame is drawn, or a double
  free at exit). `prepare` loads the driver first with `RTLD_DEEPBIND`, so
  it and its LLVM keep to their own symbols; the later load by EGL reuses it.

Both are skipped where they cannot help: a display, `MUJOCO_GL` already set
(for the first), or a driver that is not installed or already loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

__all__ = ["prepare"]

_prepared = False


def prepare() -> None:
    """Chooses a headless MuJoCo backend and isolates Mesa's LLVM (once per process)."""
    global _prepared
    if _prepared or not sys.platform.startswith("linux"):
        return
    _prepared = True
    _choose_backend()
    backend = os.environ.get("MUJOCO_GL", "").lower()
    if backend == "egl":
        _load_isolated(_mesa_software_driver())
    elif backend == "osmesa":
        _load_isolated(ctypes.util.find_library("OSMesa"))


def _choose_backend() -> None:
    """Sets `MUJOCO_GL` to a headless backend when nothing chose one yet."""
    if "MUJOCO_GL" in os.environ:
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if "dm_control._render" in sys.modules:  # dm_control read the variable already.
        return
    # EGL first: it uses a GPU where there is one, else Mesa's llvmpipe.
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            return


def _mesa_software_driver() -> str | None:
    """The path of Mesa's software DRI driver, or None when none is found.

    Mesa installs its DRI drivers as links of one file, so isolating this
    one isolates the hardware ones of the same build too.
    """
    directories = [d for d in os.environ.get("LIBGL_DRIVERS_PATH", "").split(":") if d]
    machine = platform.machine()
    directories += [
        f"/usr/lib/{machine}-linux-gnu/dri",
        "/usr/lib64/dri",
        "/usr/lib/dri",
        "/usr/local/lib/dri",
    ]
    for directory in directories:
        path = os.path.join(directory, "swrast_dri.so")
        if os.path.exists(path):
            return path
    return None


def _load_isolated(library: str | None) -> None:
    """Loads `library` binding its symbols to its own dependencies first."""
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if library is None or deepbind is None:
        return
    try:
        ctypes.CDLL(library, mode=os.RTLD_NOW | os.RTLD_LOCAL | deepbind)
    except OSError:  # Unloadable here: rendering reports its own error later.
        pass

"""The permissions a plain write would give, for files a save writes some other way.

`tempfile.mkstemp` makes files 0600 and `tempfile.mkdtemp` directories 0700,
and TensorFlow's own `makedirs` uses 0755 whatever the umask allows. A save
that stages its files that way and renames them into place would hide them
from other users (or show them where the umask says not to); these helpers
give every file and directory of a save the mode `open()` and `os.makedirs`
would have given: 0666 and 0777 less the process umask.

The umask is read from `/proc/self/status` where the kernel reports it, since
`os.umask` can only be read by setting it, which races with other threads.
"""

from __future__ import annotations

import os
import stat
import threading

__all__ = [
    "apply_default_modes",
    "default_directory_mode",
    "default_file_mode",
    "makedirs",
    "umask",
]

_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process umask, read without changing it where the kernel allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Reading means setting: set the strictest mask meanwhile, so a file another
    # thread creates in that instant is too private rather than too open.
    with _UMASK_LOCK:
        current = os.umask(0o077)
        os.umask(current)
    return current


def default_file_mode() -> int:
    """What `open(path, "w")` gives a new file: 0o666 less the umask."""
    return 0o666 & ~umask()


def default_directory_mode() -> int:
    """What `os.makedirs` gives a new directory: 0o777 less the umask."""
    return 0o777 & ~umask()


def makedirs(path: str) -> None:
    """Creates `path` and its parents with the usual modes (remote paths through TF)."""
    if "://" in path:
        import tensorflow as tf  # Only remote file systems need it.

        tf.io.gfile.makedirs(path)
    else:
        os.makedirs(path, mode=default_directory_mode(), exist_ok=True)


def apply_default_modes(root: str, include_root: bool = True) -> None:
    """Gives every file and directory under `root` the mode a plain write would.

    Meant for a tree this process has just written (a staging directory about
    to be renamed into place), not for a user's files. Executable files keep
    their execute bits (within the umask); symbolic links are left alone.
    """
    mask = umask()
    file_mode, dir_mode = 0o666 & ~mask, 0o777 & ~mask

    def fix(path: str) -> None:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return
        if stat.S_ISDIR(info.st_mode):
            mode = dir_mode
        elif info.st_mode & 0o111:
            mode = dir_mode  # Executable: rwx less the umask, like a directory.
        else:
            mode = file_mode
        if info.st_mode & 0o7777 != mode:
            os.chmod(path, mode)

    if include_root:
        fix(root)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            fix(os.path.join(directory, name))

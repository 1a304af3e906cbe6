"""Replace a directory all at once: readers see the old one or the new one.

    with atomic_dir.atomic_directory("run/policy") as staging:
        write_everything_into(staging)      # "run/policy" is untouched so far
    # now "run/policy" holds the new files; a crash above left the old ones

The new directory is written beside the target and swapped in with Linux's
`renameat2(RENAME_EXCHANGE)`, one atomic step. Where that call is missing
(other kernels, other systems) two renames do it: the old directory is moved
aside to `<target>.policylib-old`, then the new one into place. A process
killed between those two renames leaves the old save under the aside name;
`existing_path` finds it there and the next write puts it back.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator

from policylib.base import arg_checks, file_modes

__all__ = ["OLD_SUFFIX", "atomic_directory", "existing_path"]

OLD_SUFFIX = ".policylib-old"


def existing_path(path: str) -> str:
    """`path`, or the previous directory a swap left aside if `path` is missing."""
    old = path + OLD_SUFFIX
    if "://" not in path and not os.path.exists(path) and os.path.isdir(old):
        return old
    return path


@contextlib.contextmanager
def atomic_directory(target: str) -> Iterator[str]:
    """Yields a fresh directory beside `target` that replaces it on success.

    Entries of an existing `target` that the new write did not produce (a
    SavedModel's graph when only a checkpoint is written, or a user's files)
    are copied over first, so the swap loses nothing. What the block wrote
    gets the modes a plain write would (0666/0777 less the umask); the new
    directory keeps the old one's mode. If the block raises, or the process
    dies, `target` is untouched. Remote file systems (`scheme://`) are written
    in place.

    Raises:
      TypeError: `target` is not a path.
      FileExistsError: `target` exists and is not a directory.
    """
    target = arg_checks.check_path(target, "The directory to save to")
    if "://" in target:
        yield target
        return
    target = os.path.abspath(target)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    _put_back_interrupted_swap(target)
    staging = tempfile.mkdtemp(
        prefix=f".{os.path.basename(target)}.saving-", dir=parent
    )
    os.chmod(staging, _directory_mode(target))  # mkdtemp's 0700 would hide the save
    try:
        yield staging
        # What the block wrote through mkstemp or TensorFlow's makedirs (0600,
        # 0755) gets the modes a plain write gives; the directory keeps its own.
        file_modes.apply_default_modes(staging, include_root=False)
        if os.path.isdir(target):
            _copy_missing_entries(target, staging)
            if _exchange(staging, target):
                return  # `staging` now holds the previous directory; removed below.
            os.rename(target, target + OLD_SUFFIX)
            os.rename(staging, target)
            shutil.rmtree(target + OLD_SUFFIX, ignore_errors=True)
        elif os.path.exists(target):
            raise FileExistsError(f"{target} exists and is not a directory.")
        else:
            os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _directory_mode(target: str) -> int:
    """The existing target's permissions, else what `os.makedirs` would give."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        return file_modes.default_directory_mode()


def _copy_missing_entries(src_dir: str, dst_dir: str) -> None:
    for entry in os.listdir(src_dir):
        src, dst = os.path.join(src_dir, entry), os.path.join(dst_dir, entry)
        if os.path.lexists(dst):
            continue
        if os.path.isdir(src) and not os.path.islink(src):
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy2(src, dst, follow_symlinks=False)


def _exchange(a: str, b: str) -> bool:
    """Atomically swaps two paths with `renameat2(RENAME_EXCHANGE)`; False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return (
        renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
        == 0
    )


def _put_back_interrupted_swap(target: str) -> None:
    """Restores a previous directory left aside by an interrupted two-rename swap."""
    old = target + OLD_SUFFIX
    if os.path.isdir(old):
        if not os.path.exists(target):
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)

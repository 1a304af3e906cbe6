"""atomic_dir: a directory is replaced whole, or not at all."""

from __future__ import annotations

import os

import pytest

from policylib.base import atomic_dir


def _write(directory, name: str, text: str) -> None:
    with open(os.path.join(directory, name), "w") as f:
        f.write(text)


def _read(path) -> str:
    with open(path) as f:
        return f.read()


def test_creates_a_new_directory(tmp_path) -> None:
    target = tmp_path / "a" / "save"
    with atomic_dir.atomic_directory(str(target)) as staging:
        assert not target.exists() and os.path.dirname(staging) == str(target.parent)
        _write(staging, "f", "new")
    assert _read(target / "f") == "new"
    assert sorted(os.listdir(target.parent)) == ["save"]  # no staging left behind


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_replaces_and_keeps_entries_not_rewritten(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic_dir, "_exchange", lambda a, b: False)
    target = tmp_path / "save"
    target.mkdir()
    _write(target, "f", "old")
    (target / "kept").mkdir()
    _write(target / "kept", "g", "mine")
    with atomic_dir.atomic_directory(str(target)) as staging:
        _write(staging, "f", "new")
    assert _read(target / "f") == "new"
    assert _read(target / "kept" / "g") == "mine"
    assert sorted(os.listdir(tmp_path)) == ["save"]


def test_a_failed_write_leaves_the_target_untouched(tmp_path) -> None:
    target = tmp_path / "save"
    target.mkdir()
    _write(target, "f", "old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_dir.atomic_directory(str(target)) as staging:
            _write(staging, "f", "half")
            raise RuntimeError("disk full")
    assert _read(target / "f") == "old"
    assert sorted(os.listdir(tmp_path)) == ["save"]


def test_a_swap_killed_between_renames_is_found_and_put_back(tmp_path) -> None:
    target = tmp_path / "save"
    aside = tmp_path / ("save" + atomic_dir.OLD_SUFFIX)
    aside.mkdir()
    _write(aside, "f", "old")
    assert atomic_dir.existing_path(str(target)) == str(aside)
    with atomic_dir.atomic_directory(str(target)) as staging:
        _write(staging, "g", "new")
    assert _read(target / "f") == "old" and _read(target / "g") == "new"
    assert not aside.exists()
    assert atomic_dir.existing_path(str(target)) == str(target)


def test_a_file_in_the_way_is_an_error(tmp_path) -> None:
    target = tmp_path / "save"
    target.write_text("not a directory")
    with pytest.raises(FileExistsError, match="not a directory"):
        with atomic_dir.atomic_directory(str(target)):
            pass
    assert target.read_text() == "not a directory"


def test_remote_paths_are_written_in_place() -> None:
    with atomic_dir.atomic_directory("gs://bucket/save") as directory:
        assert directory == "gs://bucket/save"
    assert atomic_dir.existing_path("gs://bucket/save") == "gs://bucket/save"


def test_a_new_directory_gets_the_usual_permissions(tmp_path) -> None:
    target = tmp_path / "save"
    with atomic_dir.atomic_directory(str(target)) as staging:
        _write(staging, "f", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~umask

"""`native_stderr.filtered`: fd-level capture that writes back what it keeps."""

import os

import pytest

from policylib.base import native_stderr


def _keep(line):
    return not line.startswith("noise")


def test_native_writes_are_filtered(capfd):
    with native_stderr.filtered(keep=_keep):
        os.write(2, b"noise: one\nkept line\nnoise: two\nlast, no newline")
    assert capfd.readouterr().err == "kept line\nlast, no newline"


def test_everything_comes_back_when_the_block_fails(capfd):
    with pytest.raises(RuntimeError, match="boom"):
        with native_stderr.filtered(keep=_keep):
            os.write(2, b"noise: context\n")
            raise RuntimeError("boom")
    assert capfd.readouterr().err == "noise: context\n"


def test_fd_2_is_restored(capfd):
    before = os.fstat(2).st_ino
    with native_stderr.filtered(keep=_keep):
        pass
    assert os.fstat(2).st_ino == before
    os.write(2, b"noise after\n")
    assert capfd.readouterr().err == "noise after\n"

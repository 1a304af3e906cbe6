"""A missing optional extra fails with one line naming the pip install."""

from __future__ import annotations

import importlib
import sys

import pytest

from policylib.base import extras


def test_require_returns_the_module() -> None:
    assert extras.require("json", extra="x", feature="JSON") is sys.modules["json"]


def test_missing_module_names_the_extra() -> None:
    with pytest.raises(extras.MissingExtraError) as raised:
        extras.require("no_such_module_xyz.sub", extra="plot", feature="Plots")
    message = str(raised.value)
    assert message == (
        "Plots need no_such_module_xyz, which is not installed: "
        "pip install 'policylib[plot]' (from a clone: pip install -e '.[plot]')"
    )
    assert "\n" not in message and raised.value.__cause__ is None
    assert isinstance(raised.value, ImportError)


def test_suite_gym_without_gymnasium(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import fails
    for name in [n for n in sys.modules if n.startswith("policylib.environments.")]:
        if "gym" in name:
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(
        ImportError,
        match=r"pip install 'policylib\[gymnasium\]' \(from a clone: pip install -e '\.\[gymnasium\]'\)$",
    ):
        importlib.import_module("policylib.environments.suite_gym")


def test_summaries_without_tensorboard(monkeypatch, tmp_path) -> None:
    import tensorflow as tf

    from policylib.utils import summaries

    monkeypatch.setattr(summaries, "_tensorboard_installed", lambda: False)
    summaries.summarize_scalar_dict({"loss": 1.0}, step=0)  # no writer: skipped
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        with pytest.raises(
            ImportError, match=r"pip install 'policylib\[tensorboard\]'"
        ):
            summaries.scalar("loss", 1.0, step=0)

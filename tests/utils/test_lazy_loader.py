"""LazyLoader: imports on first use and rebinds the caller's name."""

from __future__ import annotations

import logging
import sys

import pytest

from policylib.utils.lazy_loader import LazyLoader


def test_module_is_imported_on_first_attribute_and_rebound() -> None:
    sys.modules.pop("colorsys", None)
    scope: dict[str, object] = {}
    loader = LazyLoader("cs", scope, "colorsys")
    scope["cs"] = loader
    assert "colorsys" not in sys.modules
    assert loader.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert scope["cs"] is sys.modules["colorsys"]
    # The stand-in now holds the module's attributes itself.
    assert loader.__dict__["hsv_to_rgb"] is sys.modules["colorsys"].hsv_to_rgb


def test_dir_lists_the_module_and_warning_is_logged_once(caplog) -> None:
    scope: dict[str, object] = {}
    loader = LazyLoader("tw", scope, "textwrap", warning="textwrap is loaded")
    with caplog.at_level(logging.WARNING, logger="policylib.utils.lazy_loader"):
        assert "dedent" in dir(loader)
        loader.indent("a", " ")
    assert [r.getMessage() for r in caplog.records] == ["textwrap is loaded"]


def test_a_missing_module_raises_on_use() -> None:
    loader = LazyLoader("nope", {}, "policylib_no_such_module")
    with pytest.raises(ModuleNotFoundError, match="policylib_no_such_module"):
        loader.anything  # noqa: B018

import pytest

import policylib.policies as policies
from policylib import _lazy


def test_known_names_load_on_access_and_are_cached():
    module = policies.random_py_policy
    assert policies.__dict__["random_py_policy"] is module
    assert policies.TFPolicy.__name__ == "TFPolicy"
    assert "TFPolicy" in dir(policies)


def test_unknown_names_raise_attribute_error():
    assert not hasattr(policies, "no_such_policy")


def test_listed_but_missing_module_is_a_clear_attribute_error():
    getattr_, _ = _lazy.lazy_exports("policylib", {}, ["not_written_yet"])
    with pytest.raises(AttributeError, match="not available in this version"):
        getattr_("not_written_yet")

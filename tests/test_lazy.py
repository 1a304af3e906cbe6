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


def test_tf_agents_top_level_subpackages_are_attributes_without_tensorflow():
    """TF-Agents' `tf_agents.experimental`, `.train`, `.bandits.agents` … as attributes.

    `import policylib` stays free of TensorFlow: only touching a subpackage
    loads it.
    """
    import subprocess
    import sys

    code = (
        "import sys, policylib\n"
        "assert 'tensorflow' not in sys.modules\n"
        "import policylib.train as train\n"
        "assert policylib.experimental.train is train\n"
        "assert policylib.experimental.distributed.ReverbVariableContainer\n"
        "for name in ('agents', 'policies', 'networks', 'system', 'version'):\n"
        "    assert getattr(policylib, name).__name__ == 'policylib.' + name\n"
        "for name in ('agents', 'policies', 'networks'):\n"
        "    assert getattr(policylib.bandits, name).__name__.endswith(name)\n"
        "assert {'experimental', 'train'} <= set(dir(policylib))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

"""The patch inventory: each patch installed once, the opt-out installs none,
and py metrics checkpoint the same whatever was imported first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policylib import _tf_patches

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != _tf_patches.OPT_OUT} | {
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=str(ROOT),
    )


def _last_json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# What each patch changes, observed from outside, after first TF use.
_OBSERVE = """
    import gc, json, logging, sys
    import numpy as np
    import policylib
    from policylib import _tf_patches
    after_import = list(_tf_patches.installed())
    hooks = sorted(type(f).__name__ for f in sys.meta_path if "policylib" in type(f).__module__)
    from policylib.base import import_hooks
    waiting = sorted(import_hooks._waiting)  # modules hooks wait for (TensorFlow's)
    from policylib.networks import network  # first use of TF-Agents-style networks
    from policylib.distributions import masked
    import tensorflow as tf
    from tensorflow.python.framework import type_spec_registry
    from policylib.utils import keras_compat
    from tensorflow.python.data.ops import iterator_ops
    from tensorflow.python.util import custom_nest_protocol, numpy_compat
    try:
        type_spec_registry.lookup("tf_agents.distributions.masked.MaskedCategorical_ACTTypeSpec")
        tf_agents_name = True
    except ValueError:
        tf_agents_name = False
    try:
        dense_units = tf.keras.layers.Dense(np.int64(3)).units
    except ValueError:
        dense_units = None
    print(json.dumps({
        "after_import": after_import,
        "installed": list(_tf_patches.installed()),
        "hooks": hooks,
        "waiting": waiting,
        "lookup_fallback": getattr(type_spec_registry.lookup, "_policylib_fallback", False),
        "tf_agents_name": tf_agents_name,
        "log_filters": [type(f).__name__ for f in logging.getLogger("absl").filters],
        "dense_wrapped": tf.keras.layers.Dense.__init__.__code__.co_filename.endswith("keras_compat.py"),
        "dense_units": dense_units,
        "keras3": keras_compat.is_keras3(),
        "np_asarray_once": getattr(numpy_compat.np_asarray, "_policylib_once", False),
        "iterator_packer": getattr(iterator_ops.OwnedIterator._next_internal, "_policylib_packer", False),
        "protocol_meta": type(custom_nest_protocol.CustomNestProtocol).__name__,
        "frozen": gc.get_freeze_count(),
        "collectable": len(gc.get_objects()),  # what a full collection walks
    }))
"""


def test_import_and_first_use_install_every_patch_once():
    seen = _last_json(_python(_OBSERVE))
    names = [p.name for p in _tf_patches.PATCHES]
    at_import = [p.name for p in _tf_patches.PATCHES if p.stage == "import"]
    assert seen["after_import"] == at_import
    assert seen["installed"] == names  # each once, in inventory order
    assert seen["hooks"] == ["_AfterImportFinder"]  # one finder serves every hook
    assert seen["waiting"]  # TensorFlow's modules, for the patches
    assert seen["lookup_fallback"] is True
    assert seen["np_asarray_once"] is True
    assert seen["iterator_packer"] is True
    old_python = sys.version_info < (3, 12)
    assert (seen["protocol_meta"] == "_OnceProtocolMeta") is old_python
    assert seen["tf_agents_name"] is True
    assert seen["log_filters"] == ["_DropRoutineNotice"]
    assert seen["dense_wrapped"] is seen["keras3"]
    assert seen["dense_units"] == 3
    # TensorFlow's and TFP's import-time objects: out of full collections.
    assert seen["frozen"] > 100_000
    assert seen["collectable"] < seen["frozen"] / 5


def test_opt_out_installs_no_patch():
    seen = _last_json(_python(_OBSERVE, **{_tf_patches.OPT_OUT: "1"}))
    assert seen["after_import"] == seen["installed"] == []
    # The finder stays for policylib's own modules (gin registration, not a
    # TensorFlow change), with nothing of TensorFlow's waited for.
    assert seen["hooks"] == ["_AfterImportFinder"]
    assert seen["waiting"] == []
    assert seen["lookup_fallback"] is False
    assert seen["np_asarray_once"] is seen["iterator_packer"] is False
    assert seen["protocol_meta"] == "_ProtocolMeta"
    assert seen["tf_agents_name"] is False
    assert seen["log_filters"] == []
    assert seen["dense_wrapped"] is False
    assert seen["frozen"] == 0
    assert seen["collectable"] > 100_000
    # Keras 3 itself refuses a NumPy unit count; Keras 2 takes it.
    assert seen["dense_units"] == (None if seen["keras3"] else 3)


def test_optimizer_variables_can_be_called_as_in_tf_keras():
    import tensorflow as tf

    from policylib.networks import network  # noqa: F401 - installs "networks"
    from policylib.utils import keras_compat

    variable = tf.Variable([1.0, 2.0])
    optimizer = tf.keras.optimizers.Adam(1e-3)
    optimizer.apply_gradients([(tf.constant([1.0, 1.0]), variable)])
    called = optimizer.variables()
    names = sorted(v.name.split("/")[-1].split(":")[0] for v in called)
    # Adam's step count and its two slots, in either Keras; never the learning rate.
    assert len(called) == 3, names
    assert not any("learning_rate" in n for n in names), names
    if keras_compat.is_keras3():
        # As a list it is Keras 3's own, learning rate included.
        assert len(optimizer.variables) == 4
        assert isinstance(optimizer.variables, list)


def test_every_patch_says_why():
    assert len({p.name for p in _tf_patches.PATCHES}) == len(_tf_patches.PATCHES)
    for patch in _tf_patches.PATCHES:
        for heading in ("Changes:", "Why", "Without it:"):
            assert heading in patch.reason, (patch.name, heading)


def test_install_is_idempotent(monkeypatch):
    calls: list[str] = []
    patches = tuple(
        _tf_patches.Patch(name, stage, lambda name=name: calls.append(name), "")
        for name, stage in (("a", "import"), ("b", "networks"), ("c", "import"))
    )
    monkeypatch.setattr(_tf_patches, "PATCHES", patches)
    monkeypatch.setattr(_tf_patches, "_installed", [])
    monkeypatch.delenv(_tf_patches.OPT_OUT, raising=False)
    _tf_patches.install()
    _tf_patches.install()
    assert calls == ["a", "c"]
    _tf_patches.install("networks")
    _tf_patches.install("networks")
    _tf_patches.install()
    assert calls == ["a", "c", "b"]
    assert _tf_patches.installed() == ("a", "c", "b")


def test_installing_the_real_patches_again_changes_nothing():
    import tensorflow as tf
    from tensorflow.python.framework import type_spec_registry

    from policylib.networks import network  # noqa: F401 - installs "networks"

    lookup, dense_init = type_spec_registry.lookup, tf.keras.layers.Dense.__init__
    for patch in _tf_patches.PATCHES:
        patch.apply()
    _tf_patches.install()
    _tf_patches.install("networks")
    assert type_spec_registry.lookup is lookup
    assert tf.keras.layers.Dense.__init__ is dense_init


@pytest.mark.parametrize("value", ["", "0"])
def test_empty_or_zero_does_not_opt_out(monkeypatch, value):
    monkeypatch.setenv(_tf_patches.OPT_OUT, value)
    assert not _tf_patches.opted_out()
    monkeypatch.setenv(_tf_patches.OPT_OUT, "1")
    assert _tf_patches.opted_out()


# A py metric and its checkpoint, with TensorFlow imported at `order`:
# before the metric module, after it, or after the metric was even made.
_CHECKPOINT = """
    import json, sys, tempfile
    import numpy as np
    order = {order!r}
    if order == "tf_first":
        import tensorflow as tf
    from policylib.metrics import py_metrics
    from policylib.trajectories import trajectory
    assert (order == "tf_first") == ("tensorflow" in sys.modules)
    f = np.float32
    if order == "made_before_tf":
        metric = py_metrics.AverageReturnMetric(buffer_size=3)
    import tensorflow as tf
    if order != "made_before_tf":
        metric = py_metrics.AverageReturnMetric(buffer_size=3)
    for rewards in ([1, 2], [5, 5], [3, 4]):
        steps = [trajectory.first((), (), (), f(rewards[0]), f(1))]
        steps += [trajectory.last((), (), (), f(rewards[-1]), f(0))]
        steps += [trajectory.boundary((), (), (), f(0), f(1))]
        for step in steps:
            metric(step)
    path = tf.train.Checkpoint(metric=metric).save(tempfile.mkdtemp() + "/ckpt")
    restored = py_metrics.AverageReturnMetric(buffer_size=3)
    tf.train.Checkpoint(metric=restored).restore(path).assert_consumed()
    variables = tf.train.list_variables(path)
    print(json.dumps({{
        "trackable": isinstance(metric, tf.Module),
        "result": float(metric.result()),
        "restored": float(restored.result()),
        "saved": sorted(name for name, _ in variables if "metric" in name),
    }}))
"""


def test_py_metric_checkpoints_whatever_was_imported_first():
    runs = {
        order: _last_json(_python(_CHECKPOINT.format(order=order)))
        for order in ("tf_first", "metric_first", "made_before_tf")
    }
    expected = runs["tf_first"]
    assert expected["trackable"] is True
    assert expected["result"] == pytest.approx((3 + 10 + 7) / 3)
    assert expected["restored"] == expected["result"]
    assert expected["saved"], "the checkpoint holds none of the metric's state"
    assert runs["metric_first"] == expected
    assert runs["made_before_tf"] == expected

"""benchmark.distribution_strategy_utils: strategies by name, and their scopes."""

from __future__ import annotations

import pytest
import tensorflow as tf

from policylib.benchmark import distribution_strategy_utils as dsu


def test_off_means_no_strategy_in_any_case():
    assert dsu.get_distribution_strategy("off") is None
    assert dsu.get_distribution_strategy("OFF", num_gpus=1) is None


@pytest.mark.parametrize("name", ["default", "one_device", "One_Device"])
def test_one_device_on_the_cpu_without_gpus(name):
    strategy = dsu.get_distribution_strategy(name, num_gpus=0)
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.extended.worker_devices[0].endswith("device:CPU:0")


def test_mirrored_without_gpus_mirrors_the_cpu():
    strategy = dsu.get_distribution_strategy("mirrored", num_gpus=0)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 1
    assert strategy.extended.worker_devices[0].endswith("device:CPU:0")


def test_bad_names_and_counts_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown distribution_strategy 'tpu'") as e:
        dsu.get_distribution_strategy("tpu")
    for name in ("off", "default", "one_device", "mirrored"):
        assert name in str(e.value)
    with pytest.raises(TypeError, match="distribution_strategy must be a str"):
        dsu.get_distribution_strategy(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_gpus must be at least 0, got -1"):
        dsu.get_distribution_strategy("default", num_gpus=-1)
    with pytest.raises(ValueError, match="'off' runs on one device, but num_gpus=2"):
        dsu.get_distribution_strategy("off", num_gpus=2)
    with pytest.raises(ValueError, match="OneDeviceStrategy uses one device"):
        dsu.get_distribution_strategy("one_device", num_gpus=2)
    with pytest.raises(ValueError, match="num_packs must be at least -1"):
        dsu.get_distribution_strategy("mirrored", num_packs=-2)


def test_scope_context_enters_the_strategy_or_nothing():
    strategy = dsu.get_distribution_strategy("default")
    with dsu.strategy_scope_context(strategy):
        assert tf.distribute.get_strategy() is strategy
    dummy = dsu.strategy_scope_context(None)
    assert isinstance(dummy, dsu.DummyContextManager)
    with dummy as entered:
        assert entered is None
        assert not tf.distribute.has_strategy()


def test_dummy_context_lets_exceptions_through():
    with pytest.raises(KeyError), dsu.DummyContextManager():
        raise KeyError("not swallowed")

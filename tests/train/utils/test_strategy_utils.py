"""strategy_utils: default and mirrored strategies; a TPU request without a TPU says so."""

from __future__ import annotations

from unittest import mock

import pytest
import tensorflow as tf

from policylib.train.utils import strategy_utils


def test_default_strategy():
    strategy = strategy_utils.get_strategy(tpu=None, use_gpu=False)
    assert isinstance(strategy, type(tf.distribute.get_strategy()))


def test_mirrored_strategy_on_cpu():
    strategy = strategy_utils.get_strategy(tpu=None, use_gpu=True)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync >= 1
    with strategy.scope():
        v = tf.Variable(1.0)
    assert float(v.numpy()) == 1.0


def test_tpu_and_gpu_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        strategy_utils.get_strategy(tpu="grpc://x", use_gpu=True)


def test_tpu_without_tpu_says_so_in_one_line():
    resolver = mock.MagicMock(
        side_effect=ValueError("Please provide a TPU Name.\nmore")
    )
    with mock.patch.object(
        strategy_utils.tf.distribute.cluster_resolver, "TPUClusterResolver", resolver
    ):
        with pytest.raises(ValueError) as raised:
            strategy_utils.get_strategy(tpu="my-tpu", use_gpu=False)
    message = str(raised.value)
    assert "\n" not in message
    assert "no TPU available at tpu='my-tpu'" in message and "Please provide" in message


def test_tpu_strategy_is_built_from_the_resolver():
    resolver = mock.MagicMock()
    tpu_strategy = mock.MagicMock()
    with (
        mock.patch.object(
            strategy_utils.tf.distribute.cluster_resolver,
            "TPUClusterResolver",
            return_value=resolver,
        ) as make,
        mock.patch.object(
            strategy_utils.tf.config, "experimental_connect_to_cluster"
        ) as connect,
        mock.patch.object(
            strategy_utils.tf.tpu.experimental, "initialize_tpu_system"
        ) as initialize,
        mock.patch.object(
            strategy_utils.tf.distribute, "TPUStrategy", return_value=tpu_strategy
        ),
    ):
        assert strategy_utils.get_strategy(tpu="addr", use_gpu=False) is tpu_strategy
    make.assert_called_once_with(tpu="addr")
    connect.assert_called_once_with(resolver)
    initialize.assert_called_once_with(resolver)


def test_flags_read_by_training_scripts_are_defined_once():
    from absl import flags

    assert flags.FLAGS["tpu"].default is None
    assert flags.FLAGS["use_gpu"].default is False
    strategy_utils._define_flags()  # again: an existing flag is left alone
    assert flags.FLAGS["use_gpu"].default is False

import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import tensor_spec
from policylib.utils import common


class _Base:
    def public(self):
        return 1

    def _hook(self):
        return 2


class _Good(_Base):
    def _hook(self):
        return 3


class _Bad(_Base):
    def public(self):
        return 4


def test_assert_members_are_not_overridden():
    common.assert_members_are_not_overridden(_Base, _Good())
    with pytest.raises(
        ValueError, match="_Bad overrides public members of _Base.*public"
    ):
        common.assert_members_are_not_overridden(_Base, _Bad())
    common.assert_members_are_not_overridden(_Base, _Bad(), allowlist=("public",))
    with pytest.raises(ValueError, match="an allowlist or a denylist, not both"):
        common.assert_members_are_not_overridden(
            _Base, _Good(), allowlist=("public",), denylist=("other",)
        )


def test_soft_variables_update():
    source = [tf.Variable([2.0, 4.0])]
    target = [tf.Variable([0.0, 0.0])]
    common.soft_variables_update(source, target, tau=0.5)
    np.testing.assert_allclose(target[0].numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match="tau must be in"):
        common.soft_variables_update(source, target, tau=2.0)
    with pytest.raises(ValueError, match="Number of source variables"):
        common.soft_variables_update(source, [], tau=1.0)


def test_spec_scaling_and_clipping():
    spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, [-1.0, 0.0], [3.0, 10.0])
    # Outer dims fold into one batch dim (TF-Agents' shape contract).
    np.testing.assert_allclose(
        common.scale_to_spec(tf.constant([1.0, -1.0]), spec), [[3.0, 0.0]]
    )
    np.testing.assert_allclose(
        common.scale_to_spec(tf.zeros([2, 3, 2]), spec), [[1.0, 5.0]] * 6
    )
    np.testing.assert_allclose(
        common.clip_to_spec(tf.constant([5.0, -5.0]), spec), [3.0, 0.0]
    )


def test_replicate_and_create_variable():
    out = common.replicate(tf.constant([1, 2]), [3])
    assert out.shape == (3, 2)
    step = common.create_variable("train_step")
    assert step.dtype == tf.int64 and not step.trainable and int(step) == 0


def test_safe_has_state():
    assert not common.safe_has_state(())
    assert not common.safe_has_state(None)
    assert common.safe_has_state([np.zeros(1)])


def test_spec_files_round_trip(tmp_path):
    spec = {"a": tf.TensorSpec((2,), tf.float32, "a")}
    path = str(tmp_path / "spec.pb")
    common.save_spec(spec, path)
    assert common.load_spec(path) == spec


def test_checkpointer_round_trip(tmp_path):
    var = tf.Variable(3.0)
    ckpt = common.Checkpointer(str(tmp_path), var=var)
    assert not ckpt.checkpoint_exists
    ckpt.save(global_step=5)
    var.assign(0.0)
    restored = common.Checkpointer(str(tmp_path), var=var)
    assert restored.checkpoint_exists and float(var.numpy()) == 3.0


def test_returns_and_discounted_sums():
    rewards = tf.constant([[1.0, 1.0, 1.0]])
    discounts = tf.constant([[0.5, 0.5, 0.5]])
    np.testing.assert_allclose(
        common.compute_returns(rewards, discounts), [[1.75, 1.5, 1.0]]
    )
    np.testing.assert_allclose(
        common.discounted_future_sum(rewards, 0.5, 2), [[1.5, 1.5, 1.0]]
    )
    np.testing.assert_allclose(
        common.discounted_future_sum_masked(rewards, 0.5, 3, tf.constant([2])),
        [[1.5, 1.0, 0.0]],
    )


def test_aggregate_losses_weights_and_regularization():
    losses = common.aggregate_losses(
        per_example_loss=tf.constant([1.0, 3.0]),
        sample_weight=tf.constant([1.0, 0.0]),
        regularization_loss=tf.constant(0.5),
    )
    assert float(losses.weighted) == 0.5 and float(losses.total_loss) == 1.0


def test_q_helpers_and_periodically():
    q = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_allclose(
        common.index_with_actions(q, tf.constant([2, 0])), [3.0, 4.0]
    )
    values = common.convert_q_logits_to_values(
        tf.zeros([1, 2, 4]), tf.constant([0.0, 1, 2, 3])
    )
    np.testing.assert_allclose(values, [[1.5, 1.5]])
    calls = []
    run = common.periodically(lambda: calls.append(1), 3)
    for _ in range(7):
        run()
    assert len(calls) == 2


def test_targets_updater_moves_a_shared_layer_once() -> None:
    from policylib.networks import sequential as sequential_lib
    from policylib.specs import tensor_spec as spec_lib
    from policylib.utils import target_networks

    spec = spec_lib.TensorSpec([2], tf.float32)

    def pair_sharing(layer):
        first = sequential_lib.Sequential(
            [layer, tf.keras.layers.Dense(1)], input_spec=spec
        )
        second = sequential_lib.Sequential(
            [layer, tf.keras.layers.Dense(1)], input_spec=spec
        )
        first.create_variables()
        second.create_variables()
        return first, second

    online = pair_sharing(tf.keras.layers.Dense(2, kernel_initializer="ones"))
    targets = pair_sharing(tf.keras.layers.Dense(2, kernel_initializer="zeros"))
    update = target_networks.get_targets_updater(list(zip(online, targets)), tau=0.5)
    update()
    shared_target_kernel = targets[0].layers[0].kernel
    np.testing.assert_allclose(np.asarray(shared_target_kernel), 0.5)
    own = target_networks.deduped_network_variables(online[1], online[0])
    shared = {id(v) for v in online[0].variables}
    assert len(own) == 2 and not {id(v) for v in own} & shared  # its own Dense(1)

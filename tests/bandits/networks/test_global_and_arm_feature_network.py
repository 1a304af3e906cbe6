"""Per-arm reward networks: shapes, per-arm independence, training, copies, errors."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.networks import global_and_arm_feature_network as gafn
from policylib.specs import bandit_spec_utils, tensor_spec

GLOBAL = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM = bandit_spec_utils.PER_ARM_FEATURE_KEY
NUM_ACTIONS = bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY


def _spec(num_actions=4, with_num_actions=False):
    return bandit_spec_utils.create_per_arm_observation_spec(
        3, 2, num_actions, add_num_actions_feature=with_num_actions
    )


def _observation(batch=5, num_actions=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        GLOBAL: tf.constant(rng.normal(size=(batch, 3)), tf.float32),
        PER_ARM: tf.constant(rng.normal(size=(batch, num_actions, 2)), tf.float32),
    }


@pytest.mark.parametrize(
    "layers",
    [((6, 4), (5, 3), (4,)), ((), (), ()), ((), (4,), (3,)), ((4,), (), ())],
)
def test_common_tower_scores_every_arm(layers):
    net = gafn.create_feed_forward_common_tower_network(_spec(), *layers)
    rewards, state = net(_observation())
    assert rewards.shape == (5, 4)
    assert state == ()
    assert net.trainable_variables  # The QNetwork head has weights at least.


def test_an_arms_reward_depends_on_its_own_features_only():
    net = gafn.create_feed_forward_common_tower_network(_spec(), (6,), (5,), (4,))
    obs = _observation()
    rewards, _ = net(obs)
    # Replacing arm 2's features (e.g. by padding) leaves the other arms' rewards.
    padded = dict(
        obs,
        **{
            PER_ARM: tf.tensor_scatter_nd_update(
                obs[PER_ARM], [[b, 2] for b in range(5)], tf.zeros([5, 2])
            )
        },
    )
    padded_rewards, _ = net(padded)
    np.testing.assert_allclose(
        np.delete(rewards.numpy(), 2, axis=1),
        np.delete(padded_rewards.numpy(), 2, axis=1),
        rtol=1e-6,
    )
    # Reordering the arms reorders the rewards.
    order = [3, 0, 2, 1]
    shuffled, _ = net(dict(obs, **{PER_ARM: tf.gather(obs[PER_ARM], order, axis=1)}))
    np.testing.assert_allclose(shuffled, tf.gather(rewards, order, axis=1), rtol=1e-6)


def test_num_actions_feature_is_accepted_and_ignored():
    spec = _spec(with_num_actions=True)
    net = gafn.create_feed_forward_common_tower_network(spec, (4,), (4,), (3,))
    obs = _observation()
    all_arms = dict(obs, **{NUM_ACTIONS: tf.fill([5], 4)})
    some_arms = dict(obs, **{NUM_ACTIONS: tf.constant([1, 2, 3, 4, 4])})
    np.testing.assert_allclose(net(some_arms)[0], net(all_arms)[0])
    assert NUM_ACTIONS in net.input_tensor_spec


def test_common_tower_with_output_dim_encodes_each_arm():
    net = gafn.create_feed_forward_common_tower_network(
        _spec(), (4,), (4,), (6,), output_dim=3
    )
    encodings, _ = net(_observation())
    assert encodings.shape == (5, 4, 3)


def test_nested_global_features_with_a_combiner_and_no_layers():
    spec = {
        GLOBAL: {
            "a": tensor_spec.TensorSpec([2], tf.float32),
            "b": tensor_spec.TensorSpec([3], tf.float32),
        },
        PER_ARM: tensor_spec.TensorSpec([4, 2], tf.float32),
    }
    net = gafn.create_feed_forward_common_tower_network(
        spec,
        global_layers=(),
        arm_layers=(3,),
        common_layers=(4,),
        global_preprocessing_combiner=tf.keras.layers.Lambda(
            lambda x: tf.concat([x["a"], x["b"]], axis=-1)
        ),
    )
    obs = {
        GLOBAL: {"a": tf.ones([2, 2]), "b": tf.ones([2, 3])},
        PER_ARM: tf.ones([2, 4, 2]),
    }
    rewards, _ = net(obs)
    assert rewards.shape == (2, 4)
    # The common tower sees 5 global + 3 arm features.
    assert net._common_network.input_tensor_spec.shape == (8,)


def test_dot_product_is_the_product_of_the_towers():
    net = gafn.create_feed_forward_dot_product_network(_spec(), (5, 3), (4, 3))
    obs = _observation()
    rewards, _ = net(obs)
    global_encoding, _ = net._global_network(obs[GLOBAL])
    arm_encoding, _ = net._arm_network(obs[PER_ARM])
    expected = np.einsum("bad,bd->ba", arm_encoding.numpy(), global_encoding.numpy())
    np.testing.assert_allclose(rewards, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["common", "dot"])
def test_networks_train_under_either_keras(kind):
    tf.random.set_seed(1)
    if kind == "common":
        net = gafn.create_feed_forward_common_tower_network(_spec(), (8,), (8,), (8,))
    else:
        net = gafn.create_feed_forward_dot_product_network(_spec(), (8,), (8,))
    obs = _observation(batch=16)
    # A target each arm can reach: the sum of its features times the global sum.
    target = tf.reduce_sum(obs[PER_ARM], -1) * tf.reduce_sum(
        obs[GLOBAL], -1, keepdims=True
    )
    net.create_variables()
    optimizer = tf.keras.optimizers.Adam(0.05)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((net(obs, training=True)[0] - target) ** 2)
        grads = tape.gradient(loss, net.trainable_variables)
        assert all(g is not None for g in grads)  # Every weight is trained.
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    first = float(step())
    for _ in range(40):
        last = float(step())
    assert last < 0.5 * first


def test_copy_is_an_unbuilt_twin_with_its_own_weights():
    net = gafn.create_feed_forward_common_tower_network(_spec(), (4,), (4,), (3,))
    obs = _observation()
    net(obs)
    twin = net.copy(name="Twin")
    twin(obs)
    assert twin.name == "Twin"
    assert [v.shape for v in twin.variables] == [v.shape for v in net.variables]
    own = {id(v) for v in net.variables}
    assert not any(id(v) in own for v in twin.variables)


def test_variables_checkpoint_and_restore(tmp_path):
    net = gafn.create_feed_forward_common_tower_network(_spec(), (4,), (4,), (3,))
    obs = _observation()
    before = net(obs)[0].numpy()
    path = tf.train.Checkpoint(net=net).save(str(tmp_path / "ckpt"))
    for v in net.variables:
        v.assign(tf.zeros_like(v))
    assert not np.allclose(net(obs)[0], before)
    tf.train.Checkpoint(net=net).restore(path).assert_existing_objects_matched()
    np.testing.assert_allclose(net(obs)[0], before)


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="keys 'global' and 'per_arm'.*got \\['x'\\]"):
        gafn.create_feed_forward_common_tower_network(
            {"x": tensor_spec.TensorSpec([2], tf.float32)}, (2,), (2,), (2,)
        )
    no_arm_dim = {
        GLOBAL: tensor_spec.TensorSpec([2], tf.float32),
        PER_ARM: tensor_spec.TensorSpec([], tf.float32),
    }
    with pytest.raises(
        ValueError, match=r"observation_spec\['per_arm'\].*arm dimension"
    ):
        gafn.create_feed_forward_common_tower_network(no_arm_dim, (2,), (2,), (2,))
    with pytest.raises(ValueError, match="arm_layers must hold positive widths"):
        gafn.create_feed_forward_common_tower_network(_spec(), (2,), (0,), (2,))
    with pytest.raises(ValueError, match="output_dim must be at least 1"):
        gafn.create_feed_forward_common_tower_network(
            _spec(), (2,), (2,), (2,), output_dim=0
        )
    with pytest.raises(ValueError, match="should match: got 3 .* and 4"):
        gafn.create_feed_forward_dot_product_network(_spec(), (3,), (4,))
    with pytest.raises(ValueError, match="at least one layer in each tower"):
        gafn.create_feed_forward_dot_product_network(_spec(), (), (4,))

"""BernoulliActionMaskTFEnvironment: random masks of allowed actions."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import (
    bernoulli_action_mask_tf_environment as mask_env,
)
from policylib.bandits.environments import random_bandit_environment
from policylib.specs import tensor_spec

tfd = tfp.distributions


def _wrapped(batch=400, num_actions=5, probability=0.3):
    env = random_bandit_environment.RandomBanditEnvironment(
        tfd.Independent(tfd.Normal(tf.zeros([batch, 2]), tf.ones([batch, 2]))),
        tfd.Normal(tf.zeros([batch]), tf.ones([batch])),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, num_actions - 1),
    )
    return mask_env.BernoulliActionMaskTFEnvironment(
        env, lambda context, mask: {"context": context, "mask": mask}, probability
    )


def test_empty_rows_get_exactly_one_action():
    mask = tf.constant([[0, 1, 1], [0, 0, 0], [1, 0, 0], [0, 0, 0]], tf.int32)
    new = mask_env._maybe_add_one_action(mask).numpy()
    np.testing.assert_array_equal(new[[0, 2]], mask.numpy()[[0, 2]])
    np.testing.assert_array_equal(new[[1, 3]].sum(axis=1), [1, 1])


def test_masks_have_the_requested_density_and_are_enforced():
    env = _wrapped()
    spec = env.observation_spec()
    assert spec["mask"].shape == (5,) and spec["mask"].dtype == tf.int32
    assert spec["context"].shape == (2,)
    observation = env.reset().observation
    mask = observation["mask"].numpy()
    assert mask.shape == (400, 5) and np.all(mask.sum(axis=1) >= 1)
    assert abs(mask.mean() - 0.3) < 0.05
    allowed = tf.argmax(observation["mask"], axis=1, output_type=tf.int32)
    assert env.step(allowed).reward.shape == (400,)
    mask = env.current_time_step().observation["mask"].numpy()
    forbidden = np.argmin(mask, axis=1)
    if mask[np.arange(400), forbidden].min() == 0:
        with pytest.raises(
            tf.errors.InvalidArgumentError, match="Action not in allowed action set"
        ):
            env.step(tf.constant(forbidden, tf.int32))


def test_bad_input():
    with pytest.raises(TypeError, match="must be a BanditTFEnvironment; got str"):
        mask_env.BernoulliActionMaskTFEnvironment("env", lambda c, m: (c, m), 0.5)
    base = _wrapped().original_environment
    with pytest.raises(
        ValueError, match=r"action_probability must be in \[0, 1\]; got 1.5"
    ):
        mask_env.BernoulliActionMaskTFEnvironment(base, lambda c, m: (c, m), 1.5)

"""Gaussian / OU noise, temporal action smoothing and the info updater."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import (
    fixed_policy,
    gaussian_policy,
    ou_noise_policy,
    policy_info_updater_wrapper,
    temporal_action_smoothing,
)
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((2,), tf.float32)
TS_SPEC = ts.time_step_spec(OBS)
ACT = tensor_spec.BoundedTensorSpec((2,), tf.float32, -10.0, 10.0)


def _fixed(value=(1.0, 2.0)):
    return fixed_policy.FixedPolicy(np.array(value, np.float32), TS_SPEC, ACT)


def _time_step(batch=1000):
    return ts.restart(tf.zeros([batch, 2]), batch_size=batch)


def test_gaussian_noise_has_the_requested_scale():
    policy = gaussian_policy.GaussianPolicy(_fixed(), scale=0.5)
    actions = policy.action(_time_step(), seed=7).action.numpy()
    noise = actions - np.array([1.0, 2.0])
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 0.5) < 0.1


def test_noise_wrappers_reject_discrete_actions():
    discrete = fixed_policy.FixedPolicy(
        np.int32(1), TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
    )
    with pytest.raises(ValueError, match="continuous"):
        gaussian_policy.GaussianPolicy(discrete)
    with pytest.raises(ValueError, match="continuous"):
        ou_noise_policy.OUNoisePolicy(discrete)


def test_ou_noise_is_correlated_and_kept_in_variables():
    policy = ou_noise_policy.OUNoisePolicy(
        _fixed((0.0, 0.0)), ou_stddev=0.1, ou_damping=0.0
    )
    first = policy.action(_time_step(1)).action.numpy()
    second = policy.action(_time_step(1)).action.numpy()
    # No damping: the noise is a random walk, each step adds N(0, 0.1^2).
    assert np.all(np.abs(second - first) < 0.6)
    assert len(policy.variables()) == 1


def test_temporal_action_smoothing_averages_and_resets():
    policy = temporal_action_smoothing.TemporalActionSmoothing(_fixed((4.0, 8.0)), 0.5)
    state = policy.get_initial_state(1)
    mid = ts.transition(tf.zeros([1, 2]), reward=tf.zeros([1]))
    step = policy.action(mid, state)
    np.testing.assert_allclose(step.action.numpy(), [[2.0, 4.0]])
    step = policy.action(mid, step.state)
    np.testing.assert_allclose(step.action.numpy(), [[3.0, 6.0]])
    step = policy.action(ts.restart(tf.zeros([1, 2]), batch_size=1), step.state)
    np.testing.assert_allclose(step.action.numpy(), [[2.0, 4.0]])


def test_info_updater_adds_entries():
    info_spec = {"seen": tensor_spec.TensorSpec((), tf.float32)}
    base = fixed_policy.FixedPolicy(
        np.array([1.0, 2.0], np.float32),
        TS_SPEC,
        ACT,
        emit_log_probability=False,
        policy_info={},
        info_spec={},
    )
    policy = policy_info_updater_wrapper.PolicyInfoUpdaterWrapper(
        base, info_spec, lambda step: {"seen": tf.reduce_sum(step.action, axis=-1)}
    )
    step = policy.action(_time_step(2))
    assert isinstance(step, policy_step.PolicyStep)
    np.testing.assert_allclose(step.info["seen"].numpy(), [3.0, 3.0])

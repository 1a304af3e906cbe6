"""spec_utils: tensor specs of an environment, collect-data spec of a policy."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.drivers import test_utils as driver_test_utils
from policylib.environments import suite_gym
from policylib.specs import tensor_spec
from policylib.train.utils import spec_utils


def _as_any(spec: Any) -> Any:
    return spec


def test_get_tensor_specs():
    env = suite_gym.load("CartPole-v0")
    observation_spec, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
    action_spec = _as_any(action_spec)
    assert isinstance(observation_spec, tensor_spec.BoundedTensorSpec)
    assert observation_spec.shape == (4,) and observation_spec.dtype == tf.float32
    assert action_spec.dtype == tf.int64 and action_spec.maximum == 1
    assert time_step_spec.observation == observation_spec
    assert time_step_spec.reward == tf.TensorSpec((), tf.float32, "reward")


def test_get_collect_data_spec_from_policy_and_env():
    env = suite_gym.load("CartPole-v0")
    policy = driver_test_utils.PyPolicyMock(env.time_step_spec(), env.action_spec())
    spec = spec_utils.get_collect_data_spec_from_policy_and_env(env, policy)
    assert spec.observation.shape == (4,)
    assert spec.action == tensor_spec.from_spec(env.action_spec())
    assert spec.step_type.dtype == tf.int32 and spec.next_step_type.dtype == tf.int32
    assert spec.policy_info == tensor_spec.from_spec(policy.policy_step_spec.info)

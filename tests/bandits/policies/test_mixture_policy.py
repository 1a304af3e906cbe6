"""MixturePolicy: each batch entry takes the action of the policy it drew."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.policies import mixture_policy
from policylib.policies import fixed_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((2,), tf.float32)
ACT = tensor_spec.BoundedTensorSpec((3,), tf.int32, 0, 9)
TS_SPEC = ts.time_step_spec(OBS)


def _fixed(value):
    return fixed_policy.FixedPolicy(np.full((3,), value, np.int32), TS_SPEC, ACT)


def test_each_entry_takes_the_drawn_policys_whole_action():
    probs = tf.Variable([0.5, 0.3, 0.2])
    policy = mixture_policy.MixturePolicy(
        tfp.distributions.Categorical(probs=probs), [_fixed(1), _fixed(5), _fixed(9)]
    )
    step = policy.action(ts.restart(tf.zeros((2000, 2)), 2000), seed=1)
    chosen = step.info[mixture_policy.MIXTURE_AGENT_ID].numpy()
    np.testing.assert_array_equal(
        step.action.numpy(), np.array([1, 5, 9])[chosen][:, None].repeat(3, 1)
    )
    np.testing.assert_allclose(
        np.bincount(chosen, minlength=3) / 2000, [0.5, 0.3, 0.2], atol=0.04
    )
    assert any(v is probs for v in policy.variables())
    assert policy.info_spec[mixture_policy.MIXTURE_AGENT_ID].maximum == 2


def test_bad_input():
    with pytest.raises(
        TypeError, match="must be a tfp.distributions.Categorical; got Normal"
    ):
        mixture_policy.MixturePolicy(tfp.distributions.Normal(0.0, 1.0), [_fixed(1)])
    with pytest.raises(ValueError, match="over 3 policies, but 2 policies were given"):
        mixture_policy.MixturePolicy(
            tfp.distributions.Categorical(logits=[0.0, 0.0, 0.0]),
            [_fixed(1), _fixed(2)],
        )
    other = fixed_policy.FixedPolicy(
        np.int32(1), TS_SPEC, tensor_spec.BoundedTensorSpec((), tf.int32, 0, 9)
    )
    with pytest.raises(
        ValueError,
        match="Inconsistent action specs: policies 0 and 1 of the mixture differ",
    ):
        mixture_policy.MixturePolicy(
            tfp.distributions.Categorical(logits=[0.0, 0.0]), [_fixed(1), other]
        )
    policy = mixture_policy.MixturePolicy(
        tfp.distributions.Categorical(logits=[0.0]), [_fixed(1)]
    )
    with pytest.raises(NotImplementedError, match="use action"):
        policy.distribution(ts.restart(tf.zeros((1, 2)), 1))

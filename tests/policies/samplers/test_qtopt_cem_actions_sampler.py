import pytest
import tensorflow as tf

import policylib.policies.samplers as samplers
from policylib.policies.samplers import qtopt_cem_actions_sampler as base
from policylib.specs import tensor_spec

SPEC = tensor_spec.BoundedTensorSpec([2], tf.float32, 0.0, 1.0)


def test_base_class_methods_say_which_class_lacks_them():
    class Half(base.ActionsSampler):
        def refit_distribution_to(self, target_sample_indices, samples):
            return samples, samples

    sampler = Half(SPEC)
    assert sampler.refit_distribution_to(None, 1) == (1, 1)
    with pytest.raises(
        NotImplementedError, match=r"Half does not implement sample_batch"
    ):
        sampler.sample_batch_and_clip(3, tf.zeros([1, 2]), tf.ones([1, 2]))
    with pytest.raises(NotImplementedError, match="refit_distribution_to"):
        base.ActionsSampler(SPEC).refit_distribution_to(tf.zeros([1, 1], tf.int32), ())


def test_clipper_and_rejecter_interfaces():
    class Floor(base.SampleClipper):
        def __call__(self, actions, state):
            return tf.maximum(actions, state)

    assert Floor()(tf.constant([0.25, 0.75]), 0.5).numpy().tolist() == [0.5, 0.75]
    with pytest.raises(NotImplementedError, match="SampleRejecter does not implement"):
        base.SampleRejecter()(tf.zeros([1, 1, 2]), None)
    with pytest.raises(NotImplementedError, match="SampleClipper does not implement"):
        base.SampleClipper()(tf.zeros([1, 1, 2]), None)


def test_the_package_lists_the_sampler_modules_lazily():
    assert samplers.qtopt_cem_actions_sampler_hybrid.GaussianActionsSampler
    assert "qtopt_cem_actions_sampler_continuous_and_one_hot" in dir(samplers)
    assert not hasattr(samplers, "cem_actions_sampler")

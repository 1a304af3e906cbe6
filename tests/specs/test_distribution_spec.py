import tensorflow as tf
import tensorflow_probability as tfp

from policylib.specs import distribution_spec


def test_build_distribution_merges_constant_and_given_parameters():
    sample_spec = tf.TensorSpec((2,), tf.float32)
    spec = distribution_spec.DistributionSpec(
        tfp.distributions.Normal, {"loc": sample_spec}, sample_spec, scale=2.0
    )
    dist = spec.build_distribution(loc=tf.zeros(2))
    assert isinstance(dist, tfp.distributions.Normal)
    assert float(dist.stddev()[0]) == 2.0
    assert spec.distribution_parameters == {"scale": 2.0}


def test_deterministic_and_nested_builders():
    sample_spec = tf.TensorSpec((), tf.float32)
    specs = {"a": distribution_spec.deterministic_distribution_from_spec(sample_spec)}
    dists = distribution_spec.nested_distributions_from_specs(
        specs, {"a": {"loc": 3.0}}
    )
    assert float(dists["a"].sample()) == 3.0

import numpy as np
import tensorflow as tf

from policylib.distributions import masked, shifted_categorical


def test_masked_categorical_never_samples_masked_entries():
    dist = masked.MaskedCategorical(tf.zeros([3]), [True, False, True])
    samples = dist.sample(500, seed=1).numpy()
    assert set(np.unique(samples)) == {0, 2}
    np.testing.assert_allclose(
        dist.probs_parameter().numpy(), [0.5, 0.0, 0.5], atol=1e-6
    )
    assert isinstance(dist.copy(), masked.MaskedCategorical)


def test_shifted_categorical_shifts_samples_and_inputs():
    dist = shifted_categorical.ShiftedCategorical(logits=[0.0, 0.0, 10.0], shift=-1)
    assert int(dist.mode()) == 1
    assert set(np.unique(dist.sample(200, seed=2).numpy())) <= {-1, 0, 1}
    np.testing.assert_allclose(
        dist.prob(1).numpy(), tf.nn.softmax([0.0, 0.0, 10.0])[2].numpy()
    )
    assert dist.copy().shift == -1

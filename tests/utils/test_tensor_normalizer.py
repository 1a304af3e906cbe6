"""StreamingTensorNormalizer and EMATensorNormalizer: estimates over batches
match NumPy's, integer leaves keep their dtype, misfit input is named."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import tensor_spec
from policylib.utils import tensor_normalizer


def test_streaming_normalizer_matches_numpy_over_several_batches() -> None:
    spec = {
        "a": tensor_spec.TensorSpec([3], tf.float32),
        "b": tensor_spec.TensorSpec([], tf.int64),
    }
    normalizer = tensor_normalizer.StreamingTensorNormalizer(spec)
    rng = np.random.default_rng(0)
    batches = [
        {
            "a": rng.normal(2.0, 3.0, size=(n, 3)).astype(np.float32),
            "b": rng.integers(0, 9, n),
        }
        for n in (5, 17, 40)
    ]
    for batch in batches:
        normalizer.update(tf.nest.map_structure(tf.constant, batch))
    every_a = np.concatenate([b["a"] for b in batches])
    normalized = normalizer.normalize(
        {"a": tf.constant(every_a), "b": tf.constant(batches[0]["b"])},
        clip_value=0,
        variance_epsilon=0.0,
    )
    expected = (every_a - every_a.mean(0)) / every_a.std(0)
    np.testing.assert_allclose(normalized["a"].numpy(), expected, rtol=1e-4, atol=1e-5)
    assert normalized["b"].dtype == tf.int64
    with pytest.raises(ValueError, match="tensor"):
        normalizer.update({"a": tf.zeros([2, 4]), "b": tf.zeros([2], tf.int64)})


def test_ema_normalizer_moves_by_its_update_rate_and_resets_nothing_else() -> None:
    spec = tensor_spec.TensorSpec([2], tf.float32)
    normalizer = tensor_normalizer.EMATensorNormalizer(spec, norm_update_rate=0.5)
    normalizer.update(tf.constant([[2.0, 4.0], [2.0, 4.0]]))
    mean, var = normalizer.variables
    np.testing.assert_allclose(mean.numpy(), [1.0, 2.0])
    # The spread is measured around the previous mean (0): var <- 1 + 0.5 * (x^2 - 1).
    np.testing.assert_allclose(var.numpy(), [2.5, 8.5])


def test_streaming_reset_forgets_what_was_seen() -> None:
    normalizer = tensor_normalizer.StreamingTensorNormalizer(
        tensor_spec.TensorSpec([], tf.float32)
    )
    normalizer.update(tf.constant([1.0, 2.0, 3.0]))
    normalizer.reset()
    count, avg, m2, carry = normalizer.variables
    assert float(count) == pytest.approx(1e-8)
    assert float(avg) == float(m2) == float(carry) == 0.0

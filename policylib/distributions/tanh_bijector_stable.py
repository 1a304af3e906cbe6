"""A `tanh` bijector whose inverse stays finite at the edges of (-1, 1)."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["Tanh"]

# The largest float32 below 1: atanh of it is finite (about 9.01).
_EDGE = 0.99999997


class Tanh(tfp.bijectors.Bijector):
    """`y = tanh(x)`, with `atanh` clipped just inside (-1, 1).

    Squashed action distributions evaluate `log_prob` at actions on the spec
    bounds (after clipping); TFP's own `Tanh` returns inf there.
    """

    def __init__(self, validate_args: bool = False, name: str = "tanh"):
        parameters = dict(locals())
        super().__init__(
            forward_min_event_ndims=0,
            validate_args=validate_args,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype):
        return dict()

    def _forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.tanh(x)

    def _inverse(self, y: tf.Tensor) -> tf.Tensor:
        inside = tf.less_equal(tf.abs(y), 1.0)
        return tf.atanh(tf.where(inside, tf.clip_by_value(y, -_EDGE, _EDGE), y))

    def _forward_log_det_jacobian(self, x: tf.Tensor) -> tf.Tensor:
        # log(1 - tanh(x)^2) = 2 * (log 2 - x - softplus(-2x)), stable for large |x|.
        log2 = tf.math.log(tf.constant(2.0, dtype=x.dtype))
        return 2.0 * (log2 - x - tf.nn.softplus(-2.0 * x))

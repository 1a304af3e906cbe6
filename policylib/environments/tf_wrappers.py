"""Wrappers that change what a `TFEnvironment` takes or returns."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.environments import tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["OneHotActionWrapper", "TFEnvironmentBaseWrapper"]


class TFEnvironmentBaseWrapper(tf_environment.TFEnvironment):
    """Forwards everything to the wrapped environment; subclasses override parts."""

    def __init__(self, env: tf_environment.TFEnvironment):
        super().__init__()
        self._env = env

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_env"], name)

    def time_step_spec(self) -> ts.TimeStep:
        return self._env.time_step_spec()

    def action_spec(self) -> types.NestedTensorSpec:
        return self._env.action_spec()

    def observation_spec(self) -> types.NestedTensorSpec:
        return self._env.observation_spec()

    @property
    def batched(self) -> bool:
        return self._env.batched

    @property
    def batch_size(self) -> int:
        return self._env.batch_size

    def _current_time_step(self) -> ts.TimeStep:
        return self._env.current_time_step()

    def _reset(self) -> ts.TimeStep:
        return self._env.reset()

    def _step(self, action: types.NestedTensor) -> ts.TimeStep:
        return self._env.step(action)

    def render(self) -> types.NestedTensor:
        return self._env.render()


class OneHotActionWrapper(TFEnvironmentBaseWrapper):
    """Takes one-hot actions for the integer action specs; passes others through.

    An integer spec of shape S with n values becomes a {0, 1} spec of shape
    S + (n,); `step` takes the argmax of the last axis.

    Raises:
      ValueError: an integer action spec has more than one dimension.
    """

    def __init__(self, env: tf_environment.TFEnvironment):
        super().__init__(env)
        for spec in tf.nest.flatten(env.action_spec()):
            if spec.dtype.is_integer and spec.shape.rank > 1:
                raise ValueError(
                    "OneHotActionWrapper only supports actions with at most one "
                    f"dimension! action_spec: {spec}"
                )

    def action_spec(self) -> types.NestedTensorSpec:
        def one_hot(spec: tf.TensorSpec) -> tf.TensorSpec:
            if not spec.dtype.is_integer:
                return spec
            num_actions = int(spec.maximum - spec.minimum + 1)
            return tensor_spec.BoundedTensorSpec(
                shape=spec.shape.concatenate([num_actions]),
                dtype=spec.dtype,
                minimum=0,
                maximum=1,
                name="one_hot_action_spec",
            )

        return tf.nest.map_structure(one_hot, self._env.action_spec())

    def _step(self, action: types.NestedTensor) -> ts.TimeStep:
        def from_one_hot(spec: tf.TensorSpec, value: tf.Tensor) -> tf.Tensor:
            if not spec.dtype.is_integer:
                return value
            return tf.argmax(value, axis=-1, output_type=spec.dtype) + tf.cast(
                spec.minimum, spec.dtype
            )

        return self._env.step(
            tf.nest.map_structure(from_one_hot, self._env.action_spec(), action)
        )

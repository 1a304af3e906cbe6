"""`EpsilonGreedyPolicy`: a greedy policy that explores uniformly with probability epsilon.

Each batch entry independently takes the greedy action (the mode of the
wrapped policy) with probability `1 - epsilon`, else a uniformly random one.
The random branch honours the wrapped policy's action mask and returns
actions of the same shape as the greedy branch.

Epsilon may change after the policy is traced into a `tf.function`: pass a
`tf.Variable` (assign to it between calls), or a callable that computes
epsilon with TensorFlow ops from variables, such as `LinearEpsilonSchedule`.
A callable that returns a Python number is evaluated once per trace (as in
TF-Agents), so it is frozen in a traced function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.policies import greedy_policy, policy_specs, random_tf_policy, tf_policy
from policylib.policies import utils as policy_utilities
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["EpsilonGreedyPolicy", "LinearEpsilonSchedule"]


class LinearEpsilonSchedule(tf.Module):
    """Epsilon decaying linearly with a step variable, evaluated in-graph.

    Args:
      initial_epsilon: epsilon at step 0.
      final_epsilon: epsilon from `decay_steps` on.
      decay_steps: number of steps of the linear decay.
      step: an integer `tf.Variable` (e.g. the train step) read at every call.
    """

    def __init__(
        self,
        initial_epsilon: float,
        final_epsilon: float,
        decay_steps: int,
        step: tf.Variable,
        name: str | None = None,
    ):
        super().__init__(name=name)
        for label, value in (
            ("initial_epsilon", initial_epsilon),
            ("final_epsilon", final_epsilon),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {value}.")
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be positive, got {decay_steps}.")
        self._initial = float(initial_epsilon)
        self._final = float(final_epsilon)
        self._decay_steps = int(decay_steps)
        self.step = step

    def __call__(self) -> tf.Tensor:
        progress = tf.minimum(
            tf.cast(self.step, tf.float32) / float(self._decay_steps), 1.0
        )
        return self._initial + (self._final - self._initial) * progress


@gin.configurable(module="policylib")
class EpsilonGreedyPolicy(tf_policy.TFPolicy):
    """Mixes the greedy version of `policy` with uniform exploration.

    Args:
      policy: the `TFPolicy` whose mode is the greedy action.
      epsilon: exploration probability: a float, a scalar tensor or
        `tf.Variable`, or a zero-argument callable returning one.
      exploration_mask: optional fixed 0/1 mask of the actions exploration may
        pick (combined with the policy's dynamic mask).
      info_fields_to_inherit_from_greedy: info fields always taken from the
        greedy step, even where the random branch acted.
      name: module name.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        epsilon: types.FloatOrReturningFloat,
        exploration_mask: Sequence[int] | None = None,
        info_fields_to_inherit_from_greedy: Sequence[str] = (),
        name: str | None = None,
    ):
        if isinstance(epsilon, (int, float)) and not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}.")
        splitter = policy.observation_and_action_constraint_splitter
        self._greedy_policy = greedy_policy.GreedyPolicy(policy)
        self._epsilon = epsilon
        self._random_policy = random_tf_policy.RandomTFPolicy(
            time_step_spec=policy.time_step_spec,
            action_spec=policy.action_spec,
            emit_log_probability=policy.emit_log_probability,
            observation_and_action_constraint_splitter=splitter,
            accepts_per_arm_features=getattr(policy, "accepts_per_arm_features", False),
            stationary_mask=exploration_mask,
            info_spec=policy.info_spec,
        )
        self._info_fields_to_inherit_from_greedy = tuple(
            info_fields_to_inherit_from_greedy
        )
        super().__init__(
            **policy_specs.wrapped_specs(policy),
            emit_log_probability=policy.emit_log_probability,
            observation_and_action_constraint_splitter=splitter,
            name=name,
        )

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._greedy_policy.wrapped_policy

    @property
    def info_fields_to_inherit_from_greedy(self) -> tuple[str, ...]:
        return self._info_fields_to_inherit_from_greedy

    def _get_epsilon(self) -> tf.Tensor:
        epsilon = self._epsilon() if callable(self._epsilon) else self._epsilon
        return tf.cast(epsilon, tf.float32)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ):
        seed_stream = tfp.util.SeedStream(seed=seed, salt="epsilon_greedy")
        greedy_step = self._greedy_policy.action(time_step, policy_state)
        random_step = self._random_policy.action(time_step, (), seed_stream())
        outer_shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
        if outer_shape.shape[0] is not None and int(outer_shape.shape[0]) >= 2:
            raise ValueError(
                "EpsilonGreedyPolicy supports at most one outer (batch) dimension."
            )
        epsilon = self._get_epsilon()
        uniform = tf.random.uniform(
            outer_shape, maxval=1.0, seed=seed_stream(), name="epsilon_rng"
        )
        use_greedy = tf.greater_equal(uniform, epsilon)
        action = nest_utils.where(use_greedy, greedy_step.action, random_step.action)
        info = self._merge_info(use_greedy, epsilon, greedy_step.info, random_step.info)
        return policy_step.PolicyStep(action, greedy_step.state, info)

    def _merge_info(
        self,
        use_greedy: tf.Tensor,
        epsilon: tf.Tensor,
        greedy: Any,  # infos: namedtuples whose fields are read
        random: Any,
    ):
        if not greedy:
            if random:
                raise ValueError(
                    "The greedy and random steps have incompatible info fields."
                )
            return ()
        if not random:
            raise ValueError(
                "The greedy and random steps have incompatible info fields."
            )
        if self._emit_log_probability:
            # Both branches report one log probability per batch entry and action
            # leaf (its spec is scalar): sum any per-element terms, e.g. of a
            # (1,)-shaped action, so the branches line up.
            greedy = policy_step.set_log_probability(
                greedy, tf.nest.map_structure(_per_entry, greedy.log_probability)
            )
            random = policy_step.set_log_probability(
                random, tf.nest.map_structure(_per_entry, random.log_probability)
            )
        info = tf.nest.map_structure(
            lambda g, r: nest_utils.where(use_greedy, g, r), greedy, random
        )
        if self._emit_log_probability:
            # log P(action) = log P(branch) + log P(action | branch).
            branch = tf.where(
                use_greedy, tf.math.log(1.0 - epsilon), tf.math.log(epsilon)
            )
            log_prob = tf.nest.map_structure(
                lambda lp: lp + tf.reshape(branch, tf.shape(lp)), info.log_probability
            )
            info = policy_step.set_log_probability(info, log_prob)
        if policy_utilities.has_bandit_policy_type(info, check_for_tensor=True):
            explored = tf.reshape(
                tf.logical_not(use_greedy), tf.shape(info.bandit_policy_type)
            )
            info = policy_utilities.set_bandit_policy_type(
                info,
                policy_utilities.bandit_policy_uniform_mask(
                    info.bandit_policy_type, mask=explored
                ),
            )
        if self._info_fields_to_inherit_from_greedy:
            info = info._replace(
                **{
                    f: getattr(greedy, f)
                    for f in self._info_fields_to_inherit_from_greedy
                }
            )
        return info

    def _distribution(self, time_step: ts.TimeStep, policy_state: types.NestedTensor):
        raise NotImplementedError(
            "EpsilonGreedyPolicy has no distribution(); use action()."
        )


def _per_entry(log_probability: types.Tensor) -> tf.Tensor:
    """Sums a `[B, ...]` log probability over everything but the batch dim."""
    log_probability = tf.convert_to_tensor(log_probability)
    rank = log_probability.shape.rank
    if rank is None or rank <= 1:
        return log_probability
    return tf.reduce_sum(log_probability, axis=list(range(1, rank)))

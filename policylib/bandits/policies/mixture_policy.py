"""`MixturePolicy`: each batch entry acts as one of several policies, drawn at random.

    mixture = mixture_policy.MixturePolicy(
        tfp.distributions.Categorical(probs=[0.9, 0.1]), [greedy, random]
    )

At each step every batch entry draws the index of a policy from
`mixture_distribution` and takes that policy's action; the index and the
chosen policy's info are returned in the info (`mixture_agent_id`,
`subpolicy_info`), so a learner knows which policy acted. TF-Agents keeps it
under `bandits.policies`, and so does policylib.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "MIXTURE_AGENT_ID",
    "SUBPOLICY_INFO",
    "InconsistentSpecsError",
    "MixturePolicy",
]

MIXTURE_AGENT_ID = "mixture_agent_id"
SUBPOLICY_INFO = "subpolicy_info"


class InconsistentSpecsError(ValueError, AssertionError):
    """The policies of a mixture differ in their specs.

    A `ValueError`, and an `AssertionError` as TF-Agents raises (it asserts).
    """


@gin.configurable
class MixturePolicy(tf_policy.TFPolicy):
    """Acts, per batch entry, as the policy whose index a categorical draw picks.

    Args:
      mixture_distribution: a `tfp.distributions.Categorical` over
        `[0, len(policies) - 1]`; its variables (e.g. trainable logits) are
        the mixture's.
      policies: TF policies with equal time step, action and info specs. They
        share the policy state, so they should be stateless or share a state
        spec.
      name: the policy's name.

    Raises:
      TypeError: `mixture_distribution` is not a `Categorical`.
      ValueError: no policies, or a distribution over another number of
        policies.
      InconsistentSpecsError: policies whose specs differ (names which two,
        and both specs).
    """

    def __init__(
        self,
        mixture_distribution: tfp.distributions.Categorical,
        policies: Sequence[tf_policy.TFPolicy],
        name: str | None = None,
    ):
        if not isinstance(mixture_distribution, tfp.distributions.Categorical):
            raise TypeError(
                "mixture_distribution must be a tfp.distributions.Categorical; got "
                f"{type(mixture_distribution).__name__}."
            )
        policies = list(policies)
        if not policies:
            raise ValueError("MixturePolicy needs at least one policy.")
        size = tf.compat.dimension_value(
            mixture_distribution.logits_parameter().shape[-1]
        )
        if size is not None and size != len(policies):
            raise ValueError(
                f"mixture_distribution is over {size} policies, but {len(policies)} "
                "policies were given."
            )
        first = policies[0]
        for i, other in enumerate(policies[1:], start=1):
            for what in ("action_spec", "time_step_spec", "info_spec"):
                if getattr(first, what) != getattr(other, what):
                    raise InconsistentSpecsError(
                        f"Inconsistent {what.replace('_', ' ')}s: policies 0 and {i} of "
                        f"the mixture differ: {getattr(first, what)} vs "
                        f"{getattr(other, what)}."
                    )
        self._policies = policies
        self._mixture_distribution = mixture_distribution
        info_spec = {
            MIXTURE_AGENT_ID: tensor_spec.BoundedTensorSpec(
                shape=(), dtype=tf.int32, minimum=0, maximum=len(policies) - 1
            ),
            SUBPOLICY_INFO: first.info_spec,
        }
        super().__init__(
            time_step_spec=first.time_step_spec,
            action_spec=first.action_spec,
            policy_state_spec=first.policy_state_spec,
            info_spec=info_spec,
            name=name,
        )

    @property
    def policies(self) -> list[tf_policy.TFPolicy]:
        return list(self._policies)

    def _variables(self) -> list[tf.Variable]:
        variables = [v for p in self._policies for v in p.variables()]
        return variables + list(self._mixture_distribution.variables)

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError(
            "MixturePolicy has no distribution (a mixture of the policies' "
            "distributions is not computed); use action()."
        )

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        batch_size = nest_utils.get_outer_shape(time_step, self._time_step_spec)[0]
        choice = tf.cast(
            self._mixture_distribution.sample(batch_size, seed=seed), tf.int32
        )
        steps = [p.action(time_step, policy_state) for p in self._policies]

        def pick(*per_policy: tf.Tensor) -> tf.Tensor:
            # [B, N, ...] -> [B, ...]: entry b takes policy choice[b]'s value.
            return tf.gather(tf.stack(per_policy, axis=1), choice, axis=1, batch_dims=1)

        action = tf.nest.map_structure(pick, *[s.action for s in steps])
        info = tf.nest.map_structure(pick, *[s.info for s in steps])
        return policy_step.PolicyStep(
            action, policy_state, {MIXTURE_AGENT_ID: choice, SUBPOLICY_INFO: info}
        )

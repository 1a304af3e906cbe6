"""Ranking policies: fill `num_slots` slots with items scored by a network.

TF-Agents' `bandits.policies.ranking_policy`. A scoring network maps the global
and per-item features to one score per item (`[batch_size, num_items]`); an
item sampler turns the scores into an ordered slate of `num_slots` distinct
items. The samplers:

- `NoPenaltyPlackettLuce`: Plackett-Luce over the scores (softmax, without
  replacement), cut to the first `num_slots` items.
- `CosinePenalizedPlackettLuce`: draws slot by slot and, after each draw,
  lowers the logits of the remaining items by their cosine similarity to the
  items already chosen, for diverse slates.
- `DescendingScoreSampler`: the `num_slots` best-scored items, in order.

With a `num_actions` observation feature only the first `num_actions` items
are candidates; when fewer than `num_slots` are, the trailing slots hold
filler indices, so readers of the action must look at `num_actions` too.
The action is `int32 [num_slots]`; the policy info carries the network's
scores for all items as `predicted_rewards_mean`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import network as network_lib
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "CosinePenalizedPlackettLuce",
    "DescendingScoreRankingPolicy",
    "DescendingScoreSampler",
    "NoPenaltyPlackettLuce",
    "NoPenaltyRankingPolicy",
    "PenalizeCosineDistanceRankingPolicy",
    "PenalizedPlackettLuce",
    "RankingPolicy",
]

tfd = tfp.distributions

# `item_sampler(features, num_slots, logits, penalty_mixture_coefficient)`: an
# object whose `sample(seed=...)` gives `[batch_size, num_slots]` item indices.
ItemSampler = Callable[..., Any]


def _stable_scores(logits: tf.Tensor) -> tf.Tensor:
    """`exp(logits)` scaled per row so the largest finite entry is 1.

    Plackett-Luce is unchanged by scaling a row's scores; scaling first keeps a
    low temperature (large logits) from overflowing to inf, where ties between
    infinite scores would decide the order. Masked (-inf) logits give 0.
    """
    finite = tf.math.is_finite(logits)
    row_max = tf.reduce_max(
        tf.where(finite, logits, tf.fill(tf.shape(logits), -np.inf)),
        axis=-1,
        keepdims=True,
    )
    row_max = tf.where(tf.math.is_finite(row_max), row_max, tf.zeros_like(row_max))
    return tf.exp(logits - tf.stop_gradient(row_max))


def _slate_parameter_properties() -> dict:
    """Tensor parameters of the slate distributions; the rest are Python values."""
    return dict(
        features=tfp.util.ParameterProperties(event_ndims=2),
        logits=tfp.util.ParameterProperties(event_ndims=1),
    )


class PenalizedPlackettLuce(tfp.distributions.PlackettLuce):
    """Plackett-Luce drawn slot by slot, re-scoring the remaining items each time.

    Subclasses define `_penalizer_fn(logits, features, slots)`, which returns
    the logits for the next draw given the items already chosen. Chosen items
    get -inf, so each slate holds distinct items. `log_prob` replays the same
    sequence of draws for a given slate.
    """

    def __init__(
        self,
        features: types.Tensor,
        num_slots: int,
        logits: types.Tensor,
        penalty_mixture_coefficient: float = 1.0,
    ) -> None:
        """Args:
        features: `[batch_size, num_items, feature_dim]` item features, which
          the penalty compares.
        num_slots: how many items a sample holds.
        logits: `[batch_size, num_items]` unnormalized log-probabilities.
        penalty_mixture_coefficient: how much the penalty weighs against the
          logits (0: no penalty).
        """
        parameters = dict(locals())
        self._features = tf.convert_to_tensor(features)
        self._num_slots = num_slots
        self._penalty_mixture_coefficient = penalty_mixture_coefficient
        self._logits = tf.convert_to_tensor(logits)
        super().__init__(scores=_stable_scores(self._logits))
        # TFP rebuilds distributions from these (copy, slicing, CompositeTensor).
        self._parameters = parameters

    @classmethod
    def _parameter_properties(cls, dtype: Any, num_classes: Any = None) -> dict:
        return _slate_parameter_properties()

    @property
    def num_slots(self) -> int:
        return self._num_slots

    def _penalizer_fn(
        self, logits: tf.Tensor, features: tf.Tensor, slots: list[tf.Tensor]
    ) -> tf.Tensor:
        """The next draw's logits after `slots` (`[batch_size]` each) were chosen."""
        raise NotImplementedError(
            f"{type(self).__name__} must define _penalizer_fn(logits, features, slots)."
        )

    def _draws(self, seed: types.Seed, slate: tf.Tensor | None):
        """Yields `(logits, item)` per slot: sampled, or read from `slate`."""
        stream = tfp.util.SeedStream(seed, salt="PenalizedPlackettLuce")
        logits = self._logits
        num_items = tf.shape(logits)[-1]
        slots: list[tf.Tensor] = []
        for slot in range(self._num_slots):
            if slate is None:
                item = tfd.Categorical(logits=logits).sample(seed=stream())
            else:
                item = tf.cast(slate[..., slot], tf.int32)
            yield logits, item
            slots.append(item)
            logits = logits - tf.one_hot(
                item, num_items, on_value=np.inf, dtype=logits.dtype
            )
            if slot + 1 < self._num_slots:
                logits = self._penalizer_fn(logits, self._features, slots)

    def _sample_n(self, n: tf.Tensor, seed: types.Seed = None) -> tf.Tensor:
        # One slate per batch row; the leading `n` axis is 1 (`sample()` shape).
        items = [item for _, item in self._draws(seed, None)]
        return tf.expand_dims(tf.stack(items, axis=-1), axis=0)

    def _log_prob(self, x: tf.Tensor) -> tf.Tensor:
        total = 0.0
        for logits, item in self._draws(None, tf.convert_to_tensor(x)):
            log_p = tf.nn.log_softmax(logits, axis=-1)
            total += tf.gather(log_p, item, batch_dims=1)
        return total

    def _event_shape(self) -> tf.TensorShape:
        return tf.TensorShape([self._num_slots])

    def _event_shape_tensor(self) -> tf.Tensor:
        return tf.constant([self._num_slots], dtype=tf.int32)


class CosinePenalizedPlackettLuce(PenalizedPlackettLuce):
    """Lowers each remaining item's logit by its cosine similarity to the chosen ones.

    The penalty is `coefficient * (1 + max cosine similarity to a chosen item)`,
    from 0 (opposite to every chosen item) to `2 * coefficient` (a duplicate).
    """

    def _penalizer_fn(
        self, logits: tf.Tensor, features: tf.Tensor, slots: list[tf.Tensor]
    ) -> tf.Tensor:
        num_items = tf.shape(features)[1]
        # Filler draws (every logit -inf: fewer candidates than slots) can be
        # `num_items`; read the last item's features for them.
        chosen = tf.minimum(tf.stack(slots, axis=-1), num_items - 1)
        unit = tf.math.l2_normalize(tf.cast(features, logits.dtype), axis=-1)
        chosen_unit = tf.gather(unit, chosen, batch_dims=1)
        cosine = tf.matmul(unit, chosen_unit, transpose_b=True)  # [B, items, chosen]
        penalty = 1.0 + tf.reduce_max(cosine, axis=-1)
        return logits - self._penalty_mixture_coefficient * penalty


class NoPenaltyPlackettLuce(tfp.distributions.PlackettLuce):
    """Plackett-Luce over `exp(logits)`, keeping the first `num_slots` items.

    `log_prob` scores a slate of `num_slots` items: the probability of drawing
    exactly those items first, in that order.
    """

    def __init__(
        self,
        features: types.Tensor,
        num_slots: int,
        logits: types.Tensor,
        penalty_mixture_coefficient: float = 1.0,
    ) -> None:
        """Args:
        features: unused (the samplers share one signature); may be None.
        num_slots: how many items a sample holds.
        logits: `[batch_size, num_items]` unnormalized log-probabilities.
        penalty_mixture_coefficient: unused.
        """
        parameters = dict(locals())
        self._num_slots = num_slots
        self._logits = tf.convert_to_tensor(logits)
        super().__init__(scores=_stable_scores(self._logits))
        self._parameters = parameters

    @classmethod
    def _parameter_properties(cls, dtype: Any, num_classes: Any = None) -> dict:
        return _slate_parameter_properties()

    @property
    def num_slots(self) -> int:
        return self._num_slots

    def _sample_n(self, n: tf.Tensor, seed: types.Seed = None) -> tf.Tensor:
        # Plackett-Luce by Gumbel-top-k on the logits themselves: exact, and no
        # ties where far-apart logits would round the scores to 0.
        shape = tf.concat([[n], tf.shape(self._logits)], axis=0)
        gumbel = tfp.distributions.Gumbel(
            tf.zeros([], self._logits.dtype), tf.ones([], self._logits.dtype)
        ).sample(shape, seed=seed)
        perturbed = self._logits[tf.newaxis] + gumbel
        return tf.math.top_k(perturbed, k=self._num_slots).indices

    def _log_prob(self, x: tf.Tensor) -> tf.Tensor:
        # Draw k takes item x_k among the items not drawn before it.
        x = tf.cast(x, tf.int32)
        logits = self._logits
        num_items = tf.shape(logits)[-1]
        total = 0.0
        for slot in range(self._num_slots):
            item = x[..., slot]
            total += tf.gather(tf.nn.log_softmax(logits, axis=-1), item, batch_dims=1)
            logits = logits - tf.one_hot(
                item, num_items, on_value=np.inf, dtype=logits.dtype
            )
        return total

    def _event_shape(self) -> tf.TensorShape:
        return tf.TensorShape([self._num_slots])

    def _event_shape_tensor(self) -> tf.Tensor:
        return tf.constant([self._num_slots], dtype=tf.int32)


class DescendingScoreSampler(tf.Module):
    """Deterministic 'sampler': the `num_slots` highest scores, best first."""

    def __init__(
        self,
        unused_features: types.Tensor,
        num_slots: int,
        scores: types.Tensor,
        unused_penalty_mixture_coefficient: float = 1.0,
    ) -> None:
        super().__init__()
        self._scores = tf.convert_to_tensor(scores)
        self._num_slots = num_slots

    def sample(self, sample_shape: Any = (), seed: types.Seed = None) -> tf.Tensor:
        del sample_shape, seed
        return tf.math.top_k(self._scores, k=self._num_slots).indices


def _checked_sizes(num_items: int, num_slots: int, time_step_spec: ts.TimeStep) -> None:
    """Raises ValueError unless the slate fits the items the observation holds."""
    if num_slots < 1 or num_slots > num_items:
        raise ValueError(
            f"num_slots must be between 1 and num_items ({num_items}); got {num_slots}."
        )
    observation = time_step_spec.observation
    if not isinstance(observation, dict) or (
        bandit_spec_utils.PER_ARM_FEATURE_KEY not in observation
    ):
        raise ValueError(
            "A ranking policy needs a per-arm observation spec (a dict with "
            f"{bandit_spec_utils.GLOBAL_FEATURE_KEY!r} and "
            f"{bandit_spec_utils.PER_ARM_FEATURE_KEY!r}, e.g. from "
            "bandit_spec_utils.create_per_arm_observation_spec); got "
            f"{observation!r}."
        )
    per_arm = observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
    if per_arm.shape.rank != 2 or per_arm.shape[0] != num_items:
        raise ValueError(
            f"observation[{bandit_spec_utils.PER_ARM_FEATURE_KEY!r}] must be "
            f"[num_items={num_items}, feature_dim]; the spec has shape "
            f"{per_arm.shape}."
        )


@gin.configurable
class RankingPolicy(tf_policy.TFPolicy):
    """Scores the items with a network; an item sampler orders `num_slots` of them."""

    def __init__(
        self,
        num_items: int,
        num_slots: int,
        time_step_spec: ts.TimeStep,
        network: network_lib.Network,
        item_sampler: ItemSampler,
        penalty_mixture_coefficient: float = 1.0,
        logits_temperature: float = 1.0,
        name: str | None = None,
    ) -> None:
        """Args:
        num_items: the items to choose from (the per-arm observation's first dim).
        num_slots: the slate's length, at most `num_items`.
        time_step_spec: a per-arm observation spec (global, per_arm and
          optionally num_actions features).
        network: maps an observation to `[batch_size, num_items]` scores.
        item_sampler: `(features, num_slots, logits, penalty_mixture_coefficient)`
          -> an object with `sample(seed=...)` (e.g. the distributions above).
        penalty_mixture_coefficient: passed to the sampler: the weight of the
          diversity penalty.
        logits_temperature: scores are divided by it before sampling; higher
          is more random. Must be positive.
        name: the policy's name.

        Raises:
          ValueError: `num_slots` out of `[1, num_items]`, an observation spec
            without per-arm features for `num_items` items, or a temperature
            that is not positive.
        """
        _checked_sizes(num_items, num_slots, time_step_spec)
        if logits_temperature <= 0:
            raise ValueError(
                f"logits_temperature must be positive; was {logits_temperature}"
            )
        action_spec = tensor_spec.BoundedTensorSpec(
            shape=(num_slots,), dtype=tf.int32, minimum=0, maximum=num_items - 1
        )
        info_spec = policy_utilities.PolicyInfo(
            predicted_rewards_mean=tensor_spec.TensorSpec(
                shape=(num_items,), dtype=tf.float32
            )
        )
        network.create_variables()
        self._network = network
        self._num_items = num_items
        self._num_slots = num_slots
        self._item_sampler = item_sampler
        self._penalty_mixture_coefficient = penalty_mixture_coefficient
        self._logits_temperature = logits_temperature
        self._use_num_actions = (
            bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY in time_step_spec.observation
        )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            info_spec=info_spec,
            name=name,
        )

    @property
    def num_slots(self) -> int:
        return self._num_slots

    @property
    def num_items(self) -> int:
        return self._num_items

    def _variables(self) -> list[tf.Variable]:
        return list(self._network.variables)

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation = time_step.observation
        scores, _ = self._network(observation, time_step.step_type, policy_state)
        logits = scores
        if self._use_num_actions:
            available = tf.sequence_mask(
                observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY],
                maxlen=self._num_items,
            )
            logits = tf.where(available, scores, tf.fill(tf.shape(scores), -np.inf))
        logits = logits / self._logits_temperature
        sampler = self._item_sampler(
            observation[bandit_spec_utils.PER_ARM_FEATURE_KEY],
            self._num_slots,
            logits,
            self._penalty_mixture_coefficient,
        )
        info = policy_utilities.PolicyInfo(predicted_rewards_mean=scores)
        return policy_step.PolicyStep(sampler, policy_state, info)


@gin.configurable
class PenalizeCosineDistanceRankingPolicy(RankingPolicy):
    """Samples diverse slates: `CosinePenalizedPlackettLuce` over the scores."""

    def __init__(
        self,
        num_items: int,
        num_slots: int,
        time_step_spec: ts.TimeStep,
        network: network_lib.Network,
        penalty_mixture_coefficient: float = 1.0,
        logits_temperature: float = 1.0,
        name: str | None = None,
    ) -> None:
        super().__init__(
            num_items=num_items,
            num_slots=num_slots,
            time_step_spec=time_step_spec,
            network=network,
            item_sampler=CosinePenalizedPlackettLuce,
            penalty_mixture_coefficient=penalty_mixture_coefficient,
            logits_temperature=logits_temperature,
            name=name,
        )


@gin.configurable
class NoPenaltyRankingPolicy(RankingPolicy):
    """Samples slates by Plackett-Luce over the scores, without a diversity term."""

    def __init__(
        self,
        num_items: int,
        num_slots: int,
        time_step_spec: ts.TimeStep,
        network: network_lib.Network,
        logits_temperature: float = 1.0,
        name: str | None = None,
    ) -> None:
        super().__init__(
            num_items=num_items,
            num_slots=num_slots,
            time_step_spec=time_step_spec,
            network=network,
            item_sampler=NoPenaltyPlackettLuce,
            logits_temperature=logits_temperature,
            name=name,
        )


@gin.configurable
class DescendingScoreRankingPolicy(RankingPolicy):
    """Ranks deterministically: the best-scored `num_slots` items, best first."""

    def __init__(
        self,
        num_items: int,
        num_slots: int,
        time_step_spec: ts.TimeStep,
        network: network_lib.Network,
        name: str | None = None,
    ) -> None:
        super().__init__(
            num_items=num_items,
            num_slots=num_slots,
            time_step_spec=time_step_spec,
            network=network,
            item_sampler=DescendingScoreSampler,
            name=name,
        )

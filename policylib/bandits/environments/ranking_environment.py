"""Ranking bandit environments: recommend `num_slots` of `num_items` items.

Each step shows, per batch entry, a global feature vector and `num_items` item
feature vectors (the usual per-arm observation dict). The action fills the
slots with item indices, `[batch_size, num_slots]`, and a simulated user
clicks on what it sees:

- `RankingPyEnvironment` scores an item as `item @ scores_weight_matrix @
  global` and clicks at most one slot. How "no click" happens is the
  `ClickModel`: extra unit-vector "ghost" items that compete with the slotted
  ones (`GHOST_ACTIONS`), or no slot scoring above a threshold
  (`DISTANCE_BASED`). The `FeedbackModel` says how the click is reported.
- `ExplicitPositionalBiasRankingEnvironment` clicks each slot independently,
  with probability `relevance * observation_prob[slot]`: the user sees lower
  slots less often (positional bias).

    env = RankingPyEnvironment(
        lambda: np.random.randint(-3, 4, [4]),   # global features
        lambda: np.random.randint(-2, 3, [3]),   # one item's features
        num_items=10,
        num_slots=3,
        scores_weight_matrix=np.eye(3, 4),       # [item_dim, global_dim]
        click_model=ClickModel.DISTANCE_BASED,
        distance_threshold=2.0,
    )
    env.reset()
    env.step(np.array([[4, 0, 7]])).reward  # {"chosen_index": ..., "chosen_value": ...}
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec, bandit_spec_utils
from policylib.typing import types

__all__ = [
    "GLOBAL_KEY",
    "PER_ARM_KEY",
    "ClickModel",
    "ExplicitPositionalBiasRankingEnvironment",
    "FeedbackModel",
    "RankingPyEnvironment",
]

GLOBAL_KEY = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM_KEY = bandit_spec_utils.PER_ARM_FEATURE_KEY

# Reward keys of the cascading feedback model (the ranking agent reads them).
CHOSEN_INDEX = "chosen_index"
CHOSEN_VALUE = "chosen_value"


class FeedbackModel(enum.IntEnum):
    """How `RankingPyEnvironment` reports the user's click."""

    UNKNOWN = 0
    # `{"chosen_index": slot or num_slots for no click, "chosen_value": 0/1}`.
    CASCADING = 1
    # One value per slot: 1.0 on the clicked slot, 0.0 elsewhere.
    SCORE_VECTOR = 2


class ClickModel(enum.IntEnum):
    """How the user of `RankingPyEnvironment` decides not to click at all."""

    UNKNOWN = 0
    # One unit-vector "ghost" item per item dimension joins the slotted items;
    # if the user picks a ghost, nothing is clicked.
    GHOST_ACTIONS = 1
    # Nothing is clicked unless some slotted item scores at least
    # `distance_threshold`.
    DISTANCE_BASED = 2


def _as_member(value: Any, enum_cls: type[Any], arg: str) -> Any:
    """`value` (int, this enum, or another enum such as the agent's) as `enum_cls`."""
    raw = value.value if isinstance(value, enum.Enum) else value
    try:
        member = enum_cls(raw)
    except ValueError:
        names = ", ".join(f"{m.name}={m.value}" for m in enum_cls)
        raise ValueError(
            f"{arg} must be one of {enum_cls.__name__} ({names}); got {value!r}."
        ) from None
    if member == enum_cls.UNKNOWN:
        raise NotImplementedError(f"{arg} {value!r} is not implemented.")
    return member


def _check_count(value: Any, arg: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{arg} must be an int; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{arg} must be >= {minimum}; got {value}.")
    return int(value)


class _RankingBase(bandit_py_environment.BanditPyEnvironment):
    """Per-arm observations and slot actions shared by the ranking environments.

    Args:
      global_sampling_fn: returns one global feature array (fixed shape/dtype).
      item_sampling_fn: returns one item's feature array (fixed shape/dtype).
      num_items: items shown per batch entry.
      num_slots: item indices per action.
      reward_spec: spec of one batch entry's reward.
      batch_size: batch entries per step.
      name: the environment's name.
    """

    def __init__(
        self,
        global_sampling_fn: Callable[[], types.Array],
        item_sampling_fn: Callable[[], types.Array],
        num_items: int,
        num_slots: int,
        reward_spec: types.NestedArraySpec,
        batch_size: int,
        name: str | None,
    ):
        self._global_sampling_fn = global_sampling_fn
        self._item_sampling_fn = item_sampling_fn
        self._num_items = _check_count(num_items, "num_items")
        self._num_slots = _check_count(num_slots, "num_slots")
        if self._num_slots > self._num_items:
            raise ValueError(
                f"num_slots must be <= num_items (each slot holds a distinct "
                f"item); got num_slots={num_slots}, num_items={num_items}."
            )
        self._batch_size = _check_count(batch_size, "batch_size")

        global_spec = array_spec.ArraySpec.from_array(np.asarray(global_sampling_fn()))
        item_spec = array_spec.ArraySpec.from_array(np.asarray(item_sampling_fn()))
        self._global_spec = global_spec
        self._item_spec = item_spec
        observation_spec = {
            GLOBAL_KEY: global_spec,
            PER_ARM_KEY: array_spec.add_outer_dims_nest(item_spec, (num_items,)),
        }
        action_spec = array_spec.BoundedArraySpec(
            shape=(num_slots,),
            dtype=np.int32,
            minimum=0,
            maximum=num_items - 1,
            name="action",
        )
        self._observation: dict[str, np.ndarray] = {}
        super().__init__(observation_spec, action_spec, reward_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def num_items(self) -> int:
        return self._num_items

    @property
    def num_slots(self) -> int:
        return self._num_slots

    def _draw(
        self, fn: Callable[[], types.Array], spec: array_spec.ArraySpec, what: str
    ) -> np.ndarray:
        """One sample of `fn`, checked against the shape seen at construction."""
        sample = np.asarray(fn())
        if sample.shape != spec.shape:
            raise ValueError(
                f"{what} must keep the shape it had at construction: expected "
                f"{spec.shape}, got {sample.shape}."
            )
        return sample.astype(spec.dtype, copy=False)

    def _observe(self) -> types.NestedArray:
        batch, items = self._batch_size, self._num_items
        global_obs = np.stack(
            [
                self._draw(
                    self._global_sampling_fn, self._global_spec, "global_sampling_fn"
                )
                for _ in range(batch)
            ]
        )
        item_obs = np.stack(
            [
                self._draw(self._item_sampling_fn, self._item_spec, "item_sampling_fn")
                for _ in range(batch * items)
            ]
        ).reshape((batch, items) + self._item_spec.shape)
        self._observation = {GLOBAL_KEY: global_obs, PER_ARM_KEY: item_obs}
        return self._observation

    def _slotted_items(self, action: types.NestedArray) -> np.ndarray:
        """The item features in each slot, `[batch_size, num_slots, *item_shape]`.

        Raises:
          ValueError: an action not shaped `[batch_size, num_slots]`, or an item
            index that is not an int in `[0, num_items - 1]`.
        """
        action = np.asarray(action)
        expected = (self._batch_size, self._num_slots)
        if action.shape != expected:
            raise ValueError(
                "Number of actions must match batch size, and each action must fill "
                f"every slot: expected an action of shape {expected} (batch_size, "
                f"num_slots), got {action.shape}."
            )
        if action.dtype.kind not in "iu" or (
            action.size and not (action.min() >= 0 and action.max() < self._num_items)
        ):
            raise ValueError(
                f"Item indices must be ints in [0, {self._num_items - 1}]; got "
                f"{action.tolist()} (dtype {action.dtype})."
            )
        rows = np.arange(self._batch_size)[:, None]
        return self._observation[PER_ARM_KEY][rows, action]


class RankingPyEnvironment(_RankingBase):
    """A ranking bandit whose user clicks at most one slot.

    An item's score is `item @ scores_weight_matrix @ global`. Which slot gets
    the click, if any, follows `click_model`:

    - `GHOST_ACTIONS`: `item_dim` unit-vector ghost items are appended to the
      slotted items; each candidate gets weight `sigmoid(score + N(0, 1))` and
      the user picks one in proportion. A ghost pick means no click.
    - `DISTANCE_BASED` (deterministic given the observation): the top-scoring
      slot is clicked if its score is at least `distance_threshold`; with
      `real_cascade`, the first such slot from the top is clicked instead.

    The reward follows `feedback_model`: `CASCADING` gives `{"chosen_index":
    int32 [batch_size] in [0, num_slots], "chosen_value": float32 [batch_size]}`
    (`num_slots` and value 0.0 mean no click, else value 1.0); `SCORE_VECTOR`
    gives float32 `[batch_size, num_slots]`, 1.0 on the clicked slot.

    Args:
      global_sampling_fn: returns one global feature vector, `[global_dim]`.
      item_sampling_fn: returns one item feature vector, `[item_dim]`.
      num_items: items shown per batch entry; at least `num_slots`.
      num_slots: items recommended per action.
      scores_weight_matrix: `[item_dim, global_dim]` weights of the score.
      feedback_model: a `FeedbackModel`, its int value, or an enum with the
        same values (such as the ranking agent's `FeedbackModel`).
      click_model: a `ClickModel` or its int value.
      real_cascade: with `DISTANCE_BASED`, click the first slot scoring at
        least the threshold rather than the best one. Ignored otherwise.
      distance_threshold: the least score that gets a click; required with
        `DISTANCE_BASED`.
      batch_size: batch entries per step.
      name: the environment's name.

    Raises:
      ValueError: feature samples that are not vectors, a weight matrix not
        shaped `[item_dim, global_dim]`, bad counts, an unknown model, or a
        missing `distance_threshold`.
      NotImplementedError: the `UNKNOWN` feedback or click model.
    """

    def __init__(
        self,
        global_sampling_fn: Callable[[], types.Array],
        item_sampling_fn: Callable[[], types.Array],
        num_items: int,
        num_slots: int,
        scores_weight_matrix: types.Float,
        feedback_model: int | enum.Enum = FeedbackModel.CASCADING,
        click_model: int | enum.Enum = ClickModel.GHOST_ACTIONS,
        real_cascade: bool = False,
        distance_threshold: float | None = None,
        batch_size: int = 1,
        name: str | None = "ranking_environment",
    ):
        self._feedback_model = _as_member(
            feedback_model, FeedbackModel, "feedback_model"
        )
        self._click_model = _as_member(click_model, ClickModel, "click_model")
        if (
            self._click_model == ClickModel.DISTANCE_BASED
            and distance_threshold is None
        ):
            raise ValueError(
                "click_model DISTANCE_BASED needs a distance_threshold; got None."
            )
        self._distance_threshold = distance_threshold
        self._real_cascade = bool(real_cascade)

        num_slots = _check_count(num_slots, "num_slots")
        if self._feedback_model == FeedbackModel.CASCADING:
            reward_spec: types.NestedArraySpec = {
                CHOSEN_INDEX: array_spec.BoundedArraySpec(
                    shape=(),
                    dtype=np.int32,
                    minimum=0,
                    maximum=num_slots,
                    name=CHOSEN_INDEX,
                ),
                CHOSEN_VALUE: array_spec.ArraySpec(
                    shape=(), dtype=np.float32, name=CHOSEN_VALUE
                ),
            }
        else:
            reward_spec = array_spec.ArraySpec(
                shape=(num_slots,), dtype=np.float32, name="score_vector"
            )
        super().__init__(
            global_sampling_fn,
            item_sampling_fn,
            num_items,
            num_slots,
            reward_spec,
            batch_size,
            name,
        )

        if len(self._global_spec.shape) != 1 or len(self._item_spec.shape) != 1:
            raise ValueError(
                "global_sampling_fn and item_sampling_fn must return vectors: "
                f"expected 1-D samples, got shapes {self._global_spec.shape} and "
                f"{self._item_spec.shape}."
            )
        self._global_dim = self._global_spec.shape[0]
        self._item_dim = self._item_spec.shape[0]
        weights = np.asarray(scores_weight_matrix, dtype=np.float64)
        if weights.shape != (self._item_dim, self._global_dim):
            raise ValueError(
                "scores_weight_matrix must be [item_dim, global_dim]: expected shape "
                f"{(self._item_dim, self._global_dim)}, got {weights.shape}."
            )
        self._scores_weight_matrix = weights

    @property
    def feedback_model(self) -> FeedbackModel:
        return self._feedback_model

    @property
    def click_model(self) -> ClickModel:
        return self._click_model

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        slotted = self._slotted_items(action)
        global_obs = self._observation[GLOBAL_KEY]
        if self._click_model == ClickModel.GHOST_ACTIONS:
            chosen = self._choose_items_ghost_actions(global_obs, slotted)
        else:
            chosen = self._choose_items_distance_based(global_obs, slotted)
        clicked = (chosen < self._num_slots).astype(np.float32)
        if self._feedback_model == FeedbackModel.CASCADING:
            return {
                CHOSEN_INDEX: chosen.astype(np.int32),
                CHOSEN_VALUE: clicked,
            }
        return self._cascading_to_scorevector(chosen, clicked)

    def _cascading_to_scorevector(
        self, chosen_items: types.Array, chosen_values: types.Array
    ) -> np.ndarray:
        """Per-slot scores: `chosen_values[b]` on slot `chosen_items[b]`, else 0.

        A chosen index of `num_slots` (no click) leaves the row all zeros.
        """
        # An extra last column absorbs the no-click index, then is dropped.
        scores = np.zeros((self._batch_size, self._num_slots + 1), np.float32)
        scores[np.arange(self._batch_size), np.asarray(chosen_items)] = chosen_values
        return scores[:, :-1]

    def _scores(self, global_obs: np.ndarray, items: np.ndarray) -> np.ndarray:
        """`items[b, i] @ W @ global_obs[b]` for each batch entry and item."""
        weighted_globals = global_obs.astype(np.float64) @ self._scores_weight_matrix.T
        return np.einsum("bid,bd->bi", items.astype(np.float64), weighted_globals)

    def _choose_items_ghost_actions(
        self, global_obs: np.ndarray, slotted_items: np.ndarray
    ) -> np.ndarray:
        """Clicked slot per batch entry; `num_slots` when a ghost item wins."""
        ghosts = np.broadcast_to(
            np.eye(self._item_dim), (self._batch_size, self._item_dim, self._item_dim)
        )
        candidates = np.concatenate([slotted_items, ghosts], axis=1)
        noisy = np.random.normal(loc=self._scores(global_obs, candidates), scale=1.0)
        weights = 1.0 / (1.0 + np.exp(-noisy))
        cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        draws = np.random.random_sample((self._batch_size, 1))
        picked = np.minimum((cumulative < draws).sum(axis=1), candidates.shape[1] - 1)
        return np.minimum(picked, self._num_slots)

    def _choose_items_distance_based(
        self, global_obs: np.ndarray, slotted_items: np.ndarray
    ) -> np.ndarray:
        """Clicked slot per batch entry; `num_slots` when none reaches the threshold."""
        threshold = float(self._distance_threshold)  # type: ignore[arg-type]
        scores = self._scores(global_obs, slotted_items)
        # A last column at the threshold makes "no click" the fallback choice.
        scores = np.concatenate(
            [scores, np.full((self._batch_size, 1), threshold)], axis=1
        )
        if self._real_cascade:
            return np.argmax(scores >= threshold, axis=1)
        return np.argmax(scores, axis=1)


class ExplicitPositionalBiasRankingEnvironment(_RankingBase):
    """A ranking bandit with a fixed examination probability per slot.

    The user examines slot `k` with probability `observation_probs[k]`,
    whatever the context, and clicks an examined item with probability
    `relevance_fn(global, item)` (clipped to `[0, 1]`). Slots are independent,
    so several (or no) slots can be clicked. The reward is float32
    `[batch_size, num_slots]`: 1.0 for a clicked slot, 0.0 otherwise.

    Args:
      global_sampling_fn: returns one global feature array (fixed shape/dtype).
      item_sampling_fn: returns one item's feature array (fixed shape/dtype).
      relevance_fn: `(global, item) -> probability of a click if examined`.
      num_items: items shown per batch entry.
      observation_probs: per-slot examination probabilities in `[0, 1]`; its
        length is the number of slots.
      batch_size: batch entries per step.
      name: the environment's name.

    Raises:
      ValueError: probabilities outside `[0, 1]`, no slots, or more slots than
        items.
    """

    def __init__(
        self,
        global_sampling_fn: Callable[[], types.Array],
        item_sampling_fn: Callable[[], types.Array],
        relevance_fn: Callable[[types.Array, types.Array], float],
        num_items: int,
        observation_probs: Sequence[float],
        batch_size: int = 1,
        name: str | None = None,
    ):
        probs = np.asarray(observation_probs, dtype=np.float64)
        if probs.ndim != 1 or probs.size == 0:
            raise ValueError(
                "observation_probs must be a non-empty list, one probability per "
                f"slot; got shape {probs.shape}."
            )
        if np.any(probs > 1) or np.any(probs < 0) or np.any(np.isnan(probs)):
            raise ValueError(
                f"Observation probabilities need to be in [0, 1]; got {probs.tolist()}."
            )
        self._observation_probs = probs
        self._relevance_fn = relevance_fn
        reward_spec = array_spec.ArraySpec(
            shape=(probs.size,), dtype=np.float32, name="score_vector"
        )
        super().__init__(
            global_sampling_fn,
            item_sampling_fn,
            num_items,
            probs.size,
            reward_spec,
            batch_size,
            name,
        )

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        slotted = self._slotted_items(action)
        relevances = self._get_relevances(self._observation[GLOBAL_KEY], slotted)
        click_probs = relevances * self._observation_probs
        return np.random.binomial(1, click_probs).astype(np.float32)

    def _get_relevances(
        self, global_obs: np.ndarray, slotted_items: np.ndarray
    ) -> np.ndarray:
        """`relevance_fn` per batch entry and slot, clipped to `[0, 1]`."""
        relevances = np.array(
            [
                [
                    float(self._relevance_fn(global_obs[b], slotted_items[b, k]))
                    for k in range(self._num_slots)
                ]
                for b in range(self._batch_size)
            ],
            dtype=np.float64,
        )
        clipped = np.clip(relevances, 0.0, 1.0)
        if not np.array_equal(relevances, clipped):
            logging.warning(
                "%s: relevance_fn returned values outside [0, 1]; clipped them.",
                type(self).__name__,
            )
        return clipped

"""Policy-info plumbing shared by random and epsilon-greedy policies (bandit fields).

Bandit policies record in their info which sub-policy chose an action
(`bandit_policy_type`) and, with per-arm features, the chosen arm's features.
Non-bandit policies only pass these fields through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import tensorflow as tf

from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.typing import types

__all__ = [
    "BanditPolicyType",
    "InfoFields",
    "PerArmPolicyInfo",
    "PolicyInfo",
    "bandit_policy_uniform_mask",
    "check_no_mask_with_arm_features",
    "checked_info_fields",
    "create_bandit_policy_type_tensor_spec",
    "create_chosen_arm_features_info_spec",
    "get_model_index",
    "get_num_actions_from_tensor_spec",
    "has_bandit_policy_type",
    "has_chosen_arm_features",
    "masked_argmax",
    "populate_policy_info",
    "set_bandit_policy_type",
]


class InfoFields:
    """Names of the fields of bandit policy infos."""

    LOG_PROBABILITY = policy_step.CommonFields.LOG_PROBABILITY
    PREDICTED_REWARDS_MEAN = "predicted_rewards_mean"
    MULTIOBJECTIVE_SCALARIZED_PREDICTED_REWARDS_MEAN = (
        "multiobjective_scalarized_predicted_rewards_mean"
    )
    PREDICTED_REWARDS_OPTIMISTIC = "predicted_rewards_optimistic"
    PREDICTED_REWARDS_SAMPLED = "predicted_rewards_sampled"
    BANDIT_POLICY_TYPE = "bandit_policy_type"
    CHOSEN_ARM_FEATURES = "chosen_arm_features"


_INFO_FIELDS = frozenset(
    value for name, value in vars(InfoFields).items() if not name.startswith("_")
)


def checked_info_fields(emit_policy_info: Sequence[str] | str) -> tuple[str, ...]:
    """A bandit policy's `emit_policy_info` as a tuple of known `InfoFields` names.

    A bare name stands for itself alone: TF-Agents' example scripts pass
    `emit_policy_info=InfoFields.PREDICTED_REWARDS_MEAN`, which TF-Agents
    accepts (it tests `name in emit_policy_info`).

    Raises:
      ValueError: an unknown name.
    """
    if isinstance(emit_policy_info, str):
        emit_policy_info = (emit_policy_info,)
    fields = tuple(emit_policy_info)
    unknown = [field for field in fields if field not in _INFO_FIELDS]
    if unknown:
        raise ValueError(
            f"emit_policy_info has unknown fields {unknown}; known fields: "
            f"{sorted(_INFO_FIELDS)}."
        )
    return fields


class PolicyInfo(NamedTuple):
    """The info of bandit policies (field names are `InfoFields`)."""

    log_probability: types.NestedSpecTensorOrArray = ()
    predicted_rewards_mean: types.NestedSpecTensorOrArray = ()
    multiobjective_scalarized_predicted_rewards_mean: types.NestedSpecTensorOrArray = ()
    predicted_rewards_optimistic: types.NestedSpecTensorOrArray = ()
    predicted_rewards_sampled: types.NestedSpecTensorOrArray = ()
    bandit_policy_type: types.NestedSpecTensorOrArray = ()


class PerArmPolicyInfo(NamedTuple):
    """`PolicyInfo` plus the features of the chosen arm (per-arm bandits)."""

    log_probability: types.NestedSpecTensorOrArray = ()
    predicted_rewards_mean: types.NestedSpecTensorOrArray = ()
    multiobjective_scalarized_predicted_rewards_mean: types.NestedSpecTensorOrArray = ()
    predicted_rewards_optimistic: types.NestedSpecTensorOrArray = ()
    predicted_rewards_sampled: types.NestedSpecTensorOrArray = ()
    bandit_policy_type: types.NestedSpecTensorOrArray = ()
    chosen_arm_features: types.NestedSpecTensorOrArray = ()


class BanditPolicyType:
    """Which kind of sub-policy chose a bandit action."""

    UNKNOWN = 0
    GREEDY = 1
    UNIFORM = 2
    BOLTZMANN = 3
    FALCON = 4


def get_num_actions_from_tensor_spec(action_spec: types.BoundedTensorSpec) -> int:
    """The number of actions of a scalar integer bounded spec starting at 0."""
    if action_spec.shape.rank != 0:
        raise ValueError(
            f"Action spec must be a scalar; got shape {action_spec.shape}."
        )
    if action_spec.dtype not in (tf.int32, tf.int64):
        raise ValueError(
            f"Action spec must be int32 or int64, got {action_spec.dtype}."
        )
    if int(action_spec.minimum) != 0:
        raise ValueError(f"Action spec minimum must be 0, got {action_spec.minimum}.")
    return int(action_spec.maximum) + 1


def populate_policy_info(
    arm_observations: types.NestedTensor,
    chosen_actions: types.Tensor,
    rewards_for_argmax: types.Tensor,
    est_rewards: types.Tensor,
    emit_policy_info: Sequence[str],
    accepts_per_arm_features: bool,
) -> PolicyInfo | PerArmPolicyInfo:
    """A bandit info with the requested reward fields (and chosen arm features)."""
    fields = {
        InfoFields.PREDICTED_REWARDS_OPTIMISTIC: rewards_for_argmax
        if InfoFields.PREDICTED_REWARDS_OPTIMISTIC in emit_policy_info
        else (),
        InfoFields.PREDICTED_REWARDS_SAMPLED: rewards_for_argmax
        if InfoFields.PREDICTED_REWARDS_SAMPLED in emit_policy_info
        else (),
        InfoFields.PREDICTED_REWARDS_MEAN: est_rewards
        if InfoFields.PREDICTED_REWARDS_MEAN in emit_policy_info
        else (),
    }
    if not accepts_per_arm_features:
        return PolicyInfo(**fields)
    chosen = tf.nest.map_structure(
        lambda t: tf.gather(t, chosen_actions, batch_dims=1), arm_observations
    )
    return PerArmPolicyInfo(chosen_arm_features=chosen, **fields)


def create_bandit_policy_type_tensor_spec(
    shape: types.Shape,
) -> types.BoundedTensorSpec:
    """The spec of a `bandit_policy_type` field."""
    return tensor_spec.BoundedTensorSpec(
        shape=shape,
        dtype=tf.int32,
        minimum=BanditPolicyType.UNKNOWN,
        maximum=BanditPolicyType.FALCON,
    )


def masked_argmax(
    input_tensor: types.Tensor, mask: types.Tensor, output_type: tf.DType = tf.int32
) -> tf.Tensor:
    """Row-wise argmax over the entries allowed by `mask`; -1 for rows with none."""
    input_tensor = tf.convert_to_tensor(input_tensor)
    input_tensor.shape.assert_is_compatible_with(tf.convert_to_tensor(mask).shape)
    allowed = tf.cast(mask, tf.bool)
    scores = tf.where(
        allowed, input_tensor, tf.constant(-float("inf"), input_tensor.dtype)
    )
    argmax = tf.argmax(scores, axis=-1, output_type=output_type)
    return tf.where(
        tf.reduce_any(allowed, axis=-1), argmax, tf.constant(-1, output_type)
    )


def _has_field(info: types.NestedTensor, field: str, check_for_tensor: bool) -> bool:
    if not info:
        return False
    fields = getattr(info, "_fields", None)
    if fields is None or field not in fields:
        return False
    return isinstance(getattr(info, field), tf.Tensor) if check_for_tensor else True


def has_bandit_policy_type(
    info: types.NestedTensor, check_for_tensor: bool = False
) -> bool:
    """True if `info` is a namedtuple with a `bandit_policy_type` field (holding a tensor)."""
    return _has_field(info, InfoFields.BANDIT_POLICY_TYPE, check_for_tensor)


def has_chosen_arm_features(
    info: types.NestedTensor, check_for_tensor: bool = False
) -> bool:
    """True if `info` is a namedtuple with a `chosen_arm_features` field (holding a tensor)."""
    return _has_field(info, InfoFields.CHOSEN_ARM_FEATURES, check_for_tensor)


def set_bandit_policy_type(info: Any, bandit_policy_type: types.Tensor) -> Any:
    """`info` with its `bandit_policy_type` set, where `info` can hold one."""
    if not info:
        return PolicyInfo(bandit_policy_type=bandit_policy_type)
    fields = getattr(info, "_fields", None)
    if fields is not None and InfoFields.BANDIT_POLICY_TYPE in fields:
        return info._replace(bandit_policy_type=bandit_policy_type)
    if isinstance(info, dict):
        info[InfoFields.BANDIT_POLICY_TYPE] = bandit_policy_type
    return info


def bandit_policy_uniform_mask(values: types.Tensor, mask: types.Tensor) -> tf.Tensor:
    """`values` with UNIFORM wherever `mask` is True."""
    return tf.where(mask, tf.fill(tf.shape(values), BanditPolicyType.UNIFORM), values)


def get_model_index(arm_index: int, accepts_per_arm_features: bool) -> int:
    """Per-arm-feature policies share one model; others have one per arm."""
    return 0 if accepts_per_arm_features else arm_index


def create_chosen_arm_features_info_spec(
    observation_spec: Mapping[str, types.NestedTensorSpec],
) -> types.NestedTensorSpec:
    """The spec of one arm's features, from a per-arm observation spec."""
    arm_spec = observation_spec[bandit_spec_utils.PER_ARM_FEATURE_KEY]
    return tensor_spec.remove_outer_dims_nest(arm_spec, 1)


def bandit_info_spec(
    fields: Mapping[str, Any], time_step_spec: Any, accepts_per_arm_features: bool
) -> Any:
    """`PolicyInfo(**fields)`, or with per-arm features `PerArmPolicyInfo` that
    also holds the spec of the chosen arm's features."""
    if not accepts_per_arm_features:
        return PolicyInfo(**fields)
    return PerArmPolicyInfo(
        chosen_arm_features=create_chosen_arm_features_info_spec(
            time_step_spec.observation
        ),
        **fields,
    )


def check_no_mask_with_arm_features(
    accepts_per_arm_features: bool,
    observation_and_action_constraint_splitter: types.Splitter,
) -> None:
    """Per-arm policies take the number of actions from a feature, not from a mask."""
    if (
        accepts_per_arm_features
        and observation_and_action_constraint_splitter is not None
    ):
        raise NotImplementedError(
            "Action masks are not supported with per-arm features; give the number of "
            f"actions in the '{bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY}' feature instead."
        )

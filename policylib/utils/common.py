"""TF-Agents' `utils.common`: the same names, each from its focused module.

TF-Agents code and tests import these helpers from `utils.common`; policylib
keeps each concern in its own module and re-exports the names here:

- `tracing`: `function`, TF1 graph-mode checks and decorators
- `variables`: `create_variable`, `soft_variables_update`
- `target_networks`: copying, checking and updating target networks
- `summaries`: scalar and tensor summaries
- `spec_ops`: scaling and clipping to bounded specs
- `tensor_ops`: `replicate`, `transpose_batch_time`, `join_scope`
- `contracts`: `assert_members_are_not_overridden`, `safe_has_state`
- `checkpoints`: `Checkpointer`, `save_spec`, `load_spec`
- `ou_noise`: `OUProcess`, `ornstein_uhlenbeck_process`
- `q_values`, `distribution_ops`: Q-value indexing, log-probabilities, entropy
- `periodic`: run a callable every N-th call
- `concurrency`: `exclusive`
- `returns`, `losses`: discounted returns, episode masks, TD losses, loss aggregation
"""

from __future__ import annotations

from policylib.base.contracts import assert_members_are_not_overridden, safe_has_state
from policylib.utils.checkpoints import Checkpointer, load_spec, save_spec
from policylib.utils.concurrency import exclusive
from policylib.utils.distribution_ops import entropy, log_probability
from policylib.utils.losses import (
    AggregatedLosses,
    aggregate_losses,
    element_wise_huber_loss,
    element_wise_squared_loss,
)
from policylib.utils.ou_noise import OUProcess, ornstein_uhlenbeck_process
from policylib.utils.periodic import EagerPeriodically, Periodically, periodically
from policylib.utils.q_values import convert_q_logits_to_values, index_with_actions
from policylib.utils.returns import (
    compute_returns,
    discounted_future_sum,
    discounted_future_sum_masked,
    get_contiguous_sub_episodes,
    get_episode_mask,
    shift_values,
)
from policylib.utils.spec_ops import (
    clip_to_spec,
    scale_to_spec,
    spec_means_and_magnitudes,
)
from policylib.utils.summaries import generate_tensor_summaries, summarize_scalar_dict
from policylib.utils.target_networks import (
    check_matching_networks,
    check_no_shared_variables,
    deduped_network_variables,
    get_target_updater,
    maybe_copy_target_network_with_checks,
)
from policylib.utils.tensor_ops import join_scope, replicate, transpose_batch_time
from policylib.utils.tracing import (
    check_tf1_allowed,
    function,
    function_in_tf1,
    has_eager_been_enabled,
    in_legacy_tf1,
    resource_variables_enabled,
    set_default_tf_function_parameters,
)
from policylib.utils.variables import create_variable, soft_variables_update

__all__ = [
    "AggregatedLosses",
    "Checkpointer",
    "EagerPeriodically",
    "OUProcess",
    "Periodically",
    "aggregate_losses",
    "assert_members_are_not_overridden",
    "check_matching_networks",
    "check_no_shared_variables",
    "check_tf1_allowed",
    "clip_to_spec",
    "compute_returns",
    "convert_q_logits_to_values",
    "create_variable",
    "deduped_network_variables",
    "discounted_future_sum",
    "discounted_future_sum_masked",
    "element_wise_huber_loss",
    "element_wise_squared_loss",
    "entropy",
    "exclusive",
    "function",
    "function_in_tf1",
    "generate_tensor_summaries",
    "get_contiguous_sub_episodes",
    "get_episode_mask",
    "get_target_updater",
    "has_eager_been_enabled",
    "in_legacy_tf1",
    "index_with_actions",
    "join_scope",
    "load_spec",
    "log_probability",
    "maybe_copy_target_network_with_checks",
    "ornstein_uhlenbeck_process",
    "periodically",
    "replicate",
    "resource_variables_enabled",
    "safe_has_state",
    "save_spec",
    "scale_to_spec",
    "set_default_tf_function_parameters",
    "shift_values",
    "soft_variables_update",
    "spec_means_and_magnitudes",
    "summarize_scalar_dict",
    "transpose_batch_time",
]

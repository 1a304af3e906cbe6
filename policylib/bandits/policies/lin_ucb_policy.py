"""`LinearUCBPolicy`: picks the arm with the largest upper confidence bound.

The score of arm `a` for context `x` is `x^T theta_a + alpha * sqrt(x^T
(A_a + lambda I)^-1 x)` (Li, Chu, Langford & Schapire, "A Contextual-Bandit
Approach to Personalized News Article Recommendation", WWW 2010). See
`linear_bandit_policy` for the model quantities.
"""

from __future__ import annotations

from collections.abc import Sequence

from policylib.bandits.policies import linear_bandit_policy as lin_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["LinearUCBPolicy"]


class LinearUCBPolicy(lin_policy.LinearBanditPolicy):
    """`LinearBanditPolicy` with optimistic (UCB) exploration, one model per arm.

    Args:
      action_spec: a scalar int32/int64 `BoundedTensorSpec` with minimum 0.
      cov_matrix: per arm, the `[d, d]` matrix `A` (tensors or variables).
      data_vector: per arm, the `[d]` vector `b`.
      num_samples: per arm, the number of examples seen.
      time_step_spec: the `TimeStep` spec.
      alpha: width of the confidence bonus.
      eig_vals: per arm, eigenvalues of `A` (to solve by eigen-decomposition).
      eig_matrix: per arm, eigenvectors of `A`.
      tikhonov_weight: the ridge weight `lambda`.
      add_bias: append a constant 1 feature to the context.
      emit_policy_info: `InfoFields` names of the predicted rewards to emit.
      emit_log_probability: emit the (zero) log probability of the action.
      observation_and_action_constraint_splitter: `obs -> (context, mask)`.
      name: the policy's name.
    """

    def __init__(
        self,
        action_spec: types.BoundedTensorSpec,
        cov_matrix: Sequence[types.Float],
        data_vector: Sequence[types.Float],
        num_samples: Sequence[types.Int],
        time_step_spec: ts.TimeStep | None = None,
        alpha: types.Float = 1.0,
        eig_vals: Sequence[types.Float] = (),
        eig_matrix: Sequence[types.Float] = (),
        tikhonov_weight: float = 1.0,
        add_bias: bool = False,
        emit_policy_info: Sequence[str] = (),
        emit_log_probability: bool = False,
        observation_and_action_constraint_splitter: types.Splitter = None,
        name: str | None = None,
    ):
        super().__init__(
            action_spec=action_spec,
            cov_matrix=cov_matrix,
            data_vector=data_vector,
            num_samples=num_samples,
            time_step_spec=time_step_spec,
            exploration_strategy=lin_policy.ExplorationStrategy.optimistic,
            alpha=alpha,
            eig_vals=eig_vals,
            eig_matrix=eig_matrix,
            tikhonov_weight=tikhonov_weight,
            add_bias=add_bias,
            emit_policy_info=emit_policy_info,
            emit_log_probability=emit_log_probability,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            name=name,
        )

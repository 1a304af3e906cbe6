"""`LinearThompsonSamplingPolicy`: acts greedily on rewards drawn from the posterior.

For each arm it draws `Normal(x^T theta_a, alpha^2 x^T (A_a + lambda I)^-1 x)`
and takes the largest draw: Algorithm 3 of the supplementary material of
Agrawal & Goyal, "Thompson Sampling for Contextual Bandits with Linear
Payoffs", ICML 2013. See `linear_bandit_policy` for the model quantities.
"""

from __future__ import annotations

from collections.abc import Sequence

from policylib.bandits.policies import linear_bandit_policy as lin_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["LinearThompsonSamplingPolicy"]


class LinearThompsonSamplingPolicy(lin_policy.LinearBanditPolicy):
    """`LinearBanditPolicy` with sampling exploration, one model per arm.

    It emits no log probability: the probability of a sampled argmax has no
    closed form.

    Args:
      action_spec: a scalar int32/int64 `BoundedTensorSpec` with minimum 0.
      cov_matrix: per arm, the `[d, d]` matrix `A` (tensors or variables).
      data_vector: per arm, the `[d]` vector `b`.
      num_samples: per arm, the number of examples seen.
      time_step_spec: the `TimeStep` spec.
      alpha: scale of the sampling standard deviation.
      eig_vals: per arm, eigenvalues of `A` (to solve by eigen-decomposition).
      eig_matrix: per arm, eigenvectors of `A`.
      tikhonov_weight: the ridge weight `lambda`.
      add_bias: append a constant 1 feature to the context.
      emit_policy_info: `InfoFields` names of the predicted rewards to emit.
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
        observation_and_action_constraint_splitter: types.Splitter = None,
        name: str | None = None,
    ):
        super().__init__(
            action_spec=action_spec,
            cov_matrix=cov_matrix,
            data_vector=data_vector,
            num_samples=num_samples,
            time_step_spec=time_step_spec,
            exploration_strategy=lin_policy.ExplorationStrategy.sampling,
            alpha=alpha,
            eig_vals=eig_vals,
            eig_matrix=eig_matrix,
            tikhonov_weight=tikhonov_weight,
            add_bias=add_bias,
            emit_policy_info=emit_policy_info,
            emit_log_probability=False,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            name=name,
        )

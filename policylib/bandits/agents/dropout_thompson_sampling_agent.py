"""`DropoutThompsonSamplingAgent`: approximate Thompson sampling through dropout.

The agent builds its own feed-forward reward network whose dropout stays on
when acting ("permanent" dropout): each forward pass is a draw from an
approximate posterior over reward functions (Gal & Ghahramani, 2016), and
acting greedily on that draw approximates Thompson sampling. Training is
`GreedyRewardPredictionAgent`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.bandits.agents import greedy_reward_prediction_agent
from policylib.bandits.networks import heteroscedastic_q_network
from policylib.bandits.policies import constraints as constr
from policylib.networks import q_network
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import summaries

__all__ = ["DropoutThompsonSamplingAgent"]


@gin.configurable
class DropoutThompsonSamplingAgent(
    greedy_reward_prediction_agent.GreedyRewardPredictionAgent
):
    """A reward-prediction agent exploring through permanent dropout.

    Arguments not listed here are `GreedyRewardPredictionAgent`'s.

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: one scalar bounded int spec with minimum 0.
      optimizer: a Keras (2 or 3) or `tf.compat.v1.train` optimizer, or None.
      dropout_rate: dropout rate in (0, 1), or a callable returning one.
      network_layers: widths of the network's hidden dense layers.
      dropout_only_top_layer: dropout after the last hidden layer only
        (default); False: after every hidden layer.
      heteroscedastic: build a `HeteroscedasticQNetwork`, which also
        predicts each arm's reward variance and weighs the loss by it.

    Raises:
      ValueError: as `GreedyRewardPredictionAgent`, or `network_layers` is
        empty (dropout needs a hidden layer).
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        optimizer: types.Optimizer | None,
        dropout_rate: types.FloatOrReturningFloat,
        network_layers: tuple[int, ...],
        dropout_only_top_layer: bool = True,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        constraints: Iterable[constr.BaseConstraint] = (),
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        gradient_clipping: float | None = None,
        heteroscedastic: bool = False,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        emit_policy_info: tuple[str, ...] = (),
        train_step_counter: tf.Variable | None = None,
        laplacian_matrix: types.Float | None = None,
        laplacian_smoothing_weight: float = 0.001,
        name: str | None = None,
    ):
        network_layers = tuple(network_layers)
        if not network_layers:
            raise ValueError(
                "network_layers must list at least one hidden layer width for "
                "the dropout to act on; got an empty tuple."
            )
        self._dropout_rate = dropout_rate
        dropout = {"rate": dropout_rate, "permanent": True}
        dropout_layer_params: list[Any]
        if dropout_only_top_layer:
            dropout_layer_params = [None] * (len(network_layers) - 1) + [dropout]
        else:
            dropout_layer_params = [dropout] * len(network_layers)
        input_tensor_spec = time_step_spec.observation
        if observation_and_action_constraint_splitter is not None:
            input_tensor_spec, _ = observation_and_action_constraint_splitter(
                input_tensor_spec
            )
        network_class: Any = q_network.QNetwork
        if heteroscedastic:
            network_class = heteroscedastic_q_network.HeteroscedasticQNetwork
        reward_network = network_class(
            input_tensor_spec=input_tensor_spec,
            action_spec=action_spec,
            fc_layer_params=network_layers,
            dropout_layer_params=dropout_layer_params,
        )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            reward_network=reward_network,
            optimizer=optimizer,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            constraints=constraints,
            error_loss_fn=error_loss_fn,
            gradient_clipping=gradient_clipping,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            emit_policy_info=emit_policy_info,
            train_step_counter=train_step_counter,
            laplacian_matrix=laplacian_matrix,
            laplacian_smoothing_weight=laplacian_smoothing_weight,
            name=name,
        )

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        if self.summaries_enabled:
            rate = self._dropout_rate
            summaries.scalar(
                "dropout", rate() if callable(rate) else rate, self.train_step_counter
            )
        return super()._train(experience, weights)

"""Networks for tests: a Network that runs one Keras layer."""

from __future__ import annotations

from typing import Any

from policylib.networks import network

__all__ = ["KerasLayersNet"]


class KerasLayersNet(network.Network):
    """`call(inputs)` returns `layer(inputs)`; stateless.

    Args:
      observation_spec: input spec.
      action_spec: unused (kept for TF-Agents' signature).
      layer: the Keras layer (or model) to run.
    """

    def __init__(
        self,
        observation_spec: Any,
        action_spec: Any,
        layer: Any,
        name: str | None = None,
    ):
        super().__init__(observation_spec, state_spec=(), name=name)
        self._layer = layer

    def call(
        self, inputs: Any, step_type: Any = None, network_state: Any = ()
    ) -> tuple[Any, Any]:
        del step_type
        return self._layer(inputs), network_state

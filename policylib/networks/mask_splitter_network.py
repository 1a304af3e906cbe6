"""`MaskSplitterNetwork`: strips an action mask off the observation before a network.

For environments whose observation carries a mask of allowed actions:

    net = mask_splitter_network.MaskSplitterNetwork(
        splitter_fn=lambda obs: (obs["observation"], obs["mask"]),
        wrapped_network=actor_net,
        passthrough_mask=True)   # the wrapped network gets mask= (e.g. a
                                 # categorical projection that masks logits)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin

from policylib.base import nest_utils
from policylib.networks import network
from policylib.typing import types

__all__ = ["MaskSplitterNetwork"]


@gin.configurable
class MaskSplitterNetwork(network.DistributionNetwork):
    """Runs `wrapped_network` on the observation without its mask.

    Args:
      splitter_fn: `observation -> (observation_without_mask, mask)`.
      wrapped_network: the network to run.
      passthrough_mask: also pass the mask to it as `mask=`.
      input_tensor_spec: spec of the full observation (optional).
      name: network name.

    Raises:
      ValueError: the split spec does not match the wrapped network's input spec.
    """

    def __init__(
        self,
        splitter_fn: Callable[[Any], tuple[Any, Any]],
        wrapped_network: network.Network,
        passthrough_mask: bool = False,
        input_tensor_spec: types.NestedTensorSpec | None = None,
        name: str = "MaskSplitterNetwork",
    ):
        super().__init__(
            input_tensor_spec=input_tensor_spec,
            state_spec=wrapped_network.state_spec,
            output_spec=(
                wrapped_network.output_spec
                if isinstance(wrapped_network, network.DistributionNetwork)
                else None
            ),
            name=name,
        )
        if input_tensor_spec is not None:
            without_mask, _ = splitter_fn(input_tensor_spec)
            if wrapped_network.input_tensor_spec is not None:
                nest_utils.flatten_and_check_shape_nested_specs(
                    without_mask, wrapped_network.input_tensor_spec
                )
        self._wrapped_network = wrapped_network
        self._splitter_fn = splitter_fn
        self._passthrough_mask = passthrough_mask

    def call(
        self,
        observation: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        without_mask, mask = self._splitter_fn(observation)
        if self._passthrough_mask:
            kwargs["mask"] = mask
        return self._wrapped_network(
            without_mask,
            step_type=step_type,
            network_state=network_state,
            training=training,
            **kwargs,
        )

    def create_variables(
        self, input_tensor_spec: types.NestedTensorSpec | None = None, **kwargs: Any
    ) -> types.NestedTensorSpec:
        """Builds the wrapped network for the mask-less spec; returns its output spec."""
        self.built = True
        spec = input_tensor_spec or self.input_tensor_spec
        without_mask = None if spec is None else self._splitter_fn(spec)[0]
        return self._wrapped_network.create_variables(without_mask, **kwargs)

    def copy(self, **kwargs: Any) -> MaskSplitterNetwork:
        """A copy around a copy of the wrapped network (unless one is given)."""
        if "wrapped_network" not in kwargs:
            kwargs["wrapped_network"] = self._wrapped_network.copy()
        return type(self)(**dict(self._saved_kwargs, **kwargs))

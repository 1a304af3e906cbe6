"""Target networks: a copy of a network that trails it, for stable TD targets.

target = maybe_copy_target_network_with_checks(q_network, None, input_spec=obs_spec)
update_target = get_target_updater(q_network, target, tau=0.005, period=1)
update_target()        # after each training step
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from policylib.typing import types
from policylib.utils import periodic, variables

__all__ = [
    "check_matching_networks",
    "check_no_shared_variables",
    "create_target_network",
    "deduped_network_variables",
    "get_target_updater",
    "get_targets_updater",
    "initialize_targets",
    "maybe_copy_target_network_with_checks",
]


def check_matching_networks(network_1: types.Network, network_2: types.Network) -> None:
    """ValueError unless two networks have the same input spec and variable shapes."""
    if network_1.input_tensor_spec != network_2.input_tensor_spec:
        raise ValueError(
            "Input tensor specs of network and target network do not match: "
            f"{network_1.input_tensor_spec} vs. {network_2.input_tensor_spec}."
        )
    variables_1, variables_2 = network_1.variables, network_2.variables
    if len(variables_1) != len(variables_2):
        raise ValueError(
            "Variables lengths do not match between Q network and target network: "
            f"{variables_1} vs. {variables_2}"
        )
    for v1, v2 in zip(variables_1, variables_2):
        if v1.dtype != v2.dtype or v1.shape != v2.shape:
            raise ValueError(f"Variable dtypes or shapes do not match: {v1} vs. {v2}")


def check_no_shared_variables(
    network_1: types.Network, network_2: types.Network
) -> None:
    """ValueError if two networks (e.g. online and target) share trainable variables."""
    ids_2 = {id(v) for v in network_2.trainable_variables}
    shared = [v for v in network_1.trainable_variables if id(v) in ids_2]
    if shared:
        raise ValueError(
            f"After making a copy of network '{network_1.name}' to create a target network "
            f"'{network_2.name}', the target network shares weights with the original "
            "network.  This is not allowed: create every weight inside the Network (a copy "
            "is a new Network built from the same arguments), or pass a target network "
            f"that shares layers explicitly. Shared variables found: '{[v.name for v in shared]}'."
        )


def maybe_copy_target_network_with_checks(
    network: types.Network,
    target_network: types.Network | None = None,
    name: str | None = None,
    input_spec: types.NestedTensorSpec = None,
) -> types.Network:
    """`target_network`, or a fresh copy of `network` built for `input_spec`.

    Raises:
      ValueError: the two share variables, or do not match in input spec and
        variable shapes.
    """
    if target_network is None:
        target_network = network.copy(name=name)
        target_network.create_variables(input_spec)
    check_no_shared_variables(network, target_network)
    check_matching_networks(network, target_network)
    return target_network


def create_target_network(
    network: types.Network,
    target_network: types.Network | None,
    input_spec: types.NestedTensorSpec,
    name: str,
) -> types.Network:
    """Builds `network` (and a given target) for `input_spec`; returns the target.

    The target is `target_network`, or a fresh copy of `network` named `name`.
    """
    network.create_variables(input_spec)
    if target_network is not None:
        target_network.create_variables(input_spec)
    return maybe_copy_target_network_with_checks(
        network, target_network, name=name, input_spec=input_spec
    )


def deduped_network_variables(network: types.Network, *others: types.Network) -> list:
    """`network.variables` less those any of `others` holds (shared layers)."""
    seen = {id(v) for other in others for v in other.variables}
    return [v for v in network.variables if id(v) not in seen]


def _paired_variables(
    pairs: Sequence[tuple[types.Network, types.Network]],
) -> tuple[list, list]:
    """Source and target variables of `(network, target)` pairs, each pair's
    variables after dropping those an earlier pair already updates."""
    sources: list = []
    targets: list = []
    for i, (network, target) in enumerate(pairs):
        sources += deduped_network_variables(network, *(n for n, _ in pairs[:i]))
        targets += deduped_network_variables(target, *(t for _, t in pairs[:i]))
    return sources, targets


def get_targets_updater(
    pairs: Sequence[tuple[types.Network, types.Network]],
    tau: types.Float = 1.0,
    period: types.Int | None = 1,
) -> periodic.Periodically:
    """`get_target_updater` for several `(network, target)` pairs at once.

    A layer shared between networks (and between their targets) is updated
    once per call, not once per network that holds it.
    """
    pairs = list(pairs)

    def update() -> tf.Operation:
        sources, targets = _paired_variables(pairs)
        return variables.soft_variables_update(
            sources, targets, tau, tau_non_trainable=1.0
        )

    with tf.name_scope("update_targets"):
        return periodic.Periodically(update, period, "periodic_update_targets")


def initialize_targets(
    pairs: Sequence[tuple[types.Network, types.Network]],
) -> tf.Operation:
    """Copies every network of `(network, target)` pairs into its target."""
    sources, targets = _paired_variables(list(pairs))
    return variables.soft_variables_update(sources, targets, tau=1.0)


def get_target_updater(
    network: types.Network,
    target_network: types.Network,
    tau: types.Float = 1.0,
    period: int = 1,
) -> periodic.Periodically:
    """A callable that soft-updates `target_network` from `network` every `period` calls.

    `w_target <- (1 - tau) * w_target + tau * w` for trainable weights (tau 1:
    a copy); non-trainable ones (e.g. batch-norm statistics) are copied.
    """

    return get_targets_updater([(network, target_network)], tau, period)

"""Networks for policies: `Network` base and the standard TF-Agents networks."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        actor_distribution_network actor_distribution_rnn_network
        categorical_projection_network categorical_q_network dueling_q_network
        encoding_network expand_dims_layer layer_utils lstm_encoding_network
        mask_splitter_network nest_map network normal_projection_network
        q_network q_rnn_network rnn_utils sequential test_utils utils
        value_network value_rnn_network
    """,
    attributes="""
        network: Network DistributionNetwork
        nest_map: NestFlatten NestMap
        sequential: Sequential
    """,
)

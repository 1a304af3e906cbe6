"""`ReverbVariableContainer`: share nests of variables through Reverb tables.

A learner `push`es its variables' values into a table; actors `update` their
own variables from it. Each table holds one item (`max_size=1`, so a push
replaces the last) and has a signature: the nest's specs, which fix the
structure and dtypes a push must match. This is only a client: the server
and its tables are made elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import tensorflow as tf

from policylib import reverb
from policylib.typing import types
from policylib.utils import common, nest_utils

__all__ = [
    "DEFAULT_TABLE",
    "POLICY_KEY",
    "TRAIN_STEP_KEY",
    "ReverbVariableContainer",
]

# The table a container uses unless told otherwise.
DEFAULT_TABLE = "variables"
# Keys under which the train step and the policy's variables are usually pushed.
TRAIN_STEP_KEY = "train_step"
POLICY_KEY = "policy_variables"


class ReverbVariableContainer:
    """Pushes and pulls nests of tensors to and from Reverb tables.

    Args:
      server_address: "host:port" of the Reverb server.
      table_names: the tables to use; each must exist, have a signature and
        `max_size == 1`.

    Raises:
      KeyError: a table is not on the server.
      TypeError: a table has no signature.
      ValueError: a table's `max_size` is not 1.
    """

    def __init__(
        self, server_address: str, table_names: Iterable[str] = (DEFAULT_TABLE,)
    ) -> None:
        infos = reverb.Client(server_address).server_info()
        self._dtypes: dict[str, types.Nested] = {}
        for table in table_names:
            if table not in infos:
                raise KeyError(
                    f"The Reverb server at {server_address} has no table {table!r}; "
                    f"its tables are {sorted(infos)}."
                )
            info = infos[table]
            if info.max_size != 1:
                raise ValueError(
                    f"Table {table!r} has max_size {info.max_size}; a variable "
                    "container's table must hold exactly 1 item."
                )
            if not info.signature:
                raise TypeError(
                    f"Table {table!r} has no signature; a variable container's "
                    "table needs one (the specs of the pushed nest)."
                )
            self._dtypes[table] = tf.nest.map_structure(
                lambda spec: tf.as_dtype(spec.dtype), info.signature
            )
        self._tf_client = reverb.TFClient(server_address)

    def _check_table(self, table: str) -> None:
        if table not in self._dtypes:
            raise KeyError(
                f"Unknown table {table!r}: this container was made for "
                f"{sorted(self._dtypes)}."
            )

    def push(self, values: types.NestedTensor, table: str = DEFAULT_TABLE) -> None:
        """Writes `values` into `table`, replacing what it held.

        Sequence types are not compared (a list may stand where the signature
        has a tuple, as policies loaded from SavedModels have).

        Raises:
          KeyError: `table` is not one of this container's.
          tf.errors.InvalidArgumentError: `values` does not fit the table's
            signature (structure or dtypes).
        """
        self._check_table(table)
        self._tf_client.insert(
            data=tf.nest.flatten(values),
            tables=tf.constant([table]),
            priorities=tf.constant([1.0], dtype=tf.float64),
        )

    def pull(self, table: str = DEFAULT_TABLE) -> types.NestedTensor:
        """The values last pushed into `table`, nested as its signature.

        Raises:
          KeyError: `table` is not one of this container's.
        """
        self._check_table(table)
        sample = self._tf_client.sample(table, data_dtypes=[self._dtypes[table]])
        return sample.data[0]

    def update(
        self, variables: types.NestedVariable, table: str = DEFAULT_TABLE
    ) -> None:
        """Assigns the values last pushed into `table` to `variables`.

        Raises:
          KeyError: `table` is not one of this container's.
          ValueError: `variables` differs from the table's signature in
            structure (sequence types aside) or dtypes.
        """
        self._assign(variables, self.pull(table))

    @common.function
    def _assign(
        self,
        variables: types.NestedVariable,
        values: types.NestedTensor,
        check_types: bool = False,
    ) -> None:
        nest_utils.assert_same_structure(variables, values, check_types=check_types)
        for path_index, (variable, value) in enumerate(
            zip(tf.nest.flatten(variables), tf.nest.flatten(values))
        ):
            if variable.dtype.base_dtype != value.dtype:
                raise ValueError(
                    f"Variable {path_index} in flattening order has dtype "
                    f"{variable.dtype.base_dtype.name} but the pulled value has "
                    f"{value.dtype.name}."
                )
            variable.assign(value)

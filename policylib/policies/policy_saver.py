"""`PolicySaver`: exports a `TFPolicy` as a SavedModel in TF-Agents' format.

The export is what TF-Agents 0.19's `PolicySaver` writes, so either library
loads the other's saves:

    saver = policy_saver.PolicySaver(agent.policy, batch_size=None)
    saver.save("policy_0001000")            # saved_model.pb, variables/, specs
    saver.save_checkpoint("ckpt_0001000")   # variables only, for update_from_checkpoint

    loaded = tf.saved_model.load("policy_0001000")
    state = loaded.get_initial_state(batch_size=1)
    step = loaded.action(time_step, state)

The saved root module holds `action`, `distribution` and `get_initial_state`
(structured `tf.function`s), `get_train_step`, `get_metadata`,
`model_variables` (the policy's variables, Keras 3 weights included),
`train_step`, `metadata` and `_all_assets`; its flat serving signatures are
`action`, `get_initial_state`, `get_train_step` and `get_metadata`, with input
keys named by nest path (`0/step_type`, `0/observation/<key>`, `1/<state path>`).
`policy_specs.pbtxt` beside it records the collect-data and state specs.

Beyond TF-Agents: a stateless policy also gets an `action_from_observation`
signature that takes the observation alone; `get_metadata`'s signature keys
outputs by metadata key (TF-Agents keys them by dtype, losing values); and a
save is written beside the target and swapped into place, so an interrupted
save leaves the previous one loadable.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import tensorflow as tf

from policylib.base import atomic_dir, nest_utils, quiet
from policylib.policies import saved_functions, tf_policy
from policylib.policies.saved_functions import add_batch_dim
from policylib.policies.saved_policy_files import (
    POLICY_SPECS_PBTXT,
    specs_from_collect_data_spec,
)
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = [
    "OBSERVATION_SIGNATURE",
    "POLICY_SPECS_PBTXT",
    "PolicySaver",
    "add_batch_dim",
    "rename_spec_with_nest_paths",
    "specs_from_collect_data_spec",
]

OBSERVATION_SIGNATURE = "action_from_observation"

InputFnType = saved_functions.InputFnType
_Nest = TypeVar("_Nest")  # a nest of specs, returned with the same structure


# ----------------------------------------------------------------------------
# Spec helpers


def _true_if_missing_or_collision(spec: tf.TensorSpec, spec_names: set[str]) -> bool:
    """True if `spec` has no name or one already in `spec_names` (which it joins)."""
    if not spec.name or spec.name in spec_names:
        return True
    spec_names.add(spec.name)
    return False


def _check_spec(spec: types.NestedTensorSpec) -> None:
    """Raises ValueError unless every spec in the nest has a unique name."""
    names: set[str] = set()
    if any(_true_if_missing_or_collision(s, names) for s in tf.nest.flatten(spec)):
        named = tf.nest.map_structure(lambda s: s.name or "<MISSING>", spec)
        raise ValueError(
            "Specs contain either a missing name or a name collision.\n"
            f"  Spec names: {named}\n"
            "Name every spec uniquely, or keep use_nest_path_signatures=True."
        )


def rename_spec_with_nest_paths(spec: _Nest) -> _Nest:
    """The nest with every spec replaced by a `TensorSpec` named by its nest path."""
    renamed = [
        tf.TensorSpec(shape=s.shape, dtype=s.dtype, name=path)
        for path, s in nest_utils.flatten_with_joined_paths(spec)
    ]
    return tf.nest.pack_sequence_as(spec, renamed)


# ----------------------------------------------------------------------------
# The saver


class PolicySaver:
    """Saves a `TFPolicy` as a SavedModel (and its variables as checkpoints).

    Args:
      policy: the `TFPolicy` to save.
      batch_size: None for any batch size (then `get_initial_state` takes a
        `batch_size`), or a positive int to fix it.
      use_nest_path_signatures: name signature inputs and outputs by nest path
        (`0/observation/pos`); if False every spec needs a unique name.
      seed: seed passed to every `policy.action` call in the saved model.
      train_step: an int `tf.Variable` saved with the policy; a new one holding
        -1 if None.
      input_fn_and_spec: optional `(input_fn, spec)`: the saved `action` then
        takes one input matching `spec` and `input_fn` turns it into
        `(time_step, policy_state)`.
      metadata: optional dict of `str` to `tf.Variable`, saved with the policy.

    Raises:
      TypeError: `policy` is not a `TFPolicy`, or `metadata` is not a dict of
        variables.
      ValueError: a bad `batch_size` or `train_step`, or unnamed/colliding specs
        with `use_nest_path_signatures=False`.
    """

    @quiet.saved_model_io
    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        batch_size: int | None = None,
        use_nest_path_signatures: bool = True,
        seed: types.Seed = None,
        train_step: tf.Variable | None = None,
        input_fn_and_spec: tuple[InputFnType, types.NestedTensorSpec] | None = None,
        metadata: dict[str, tf.Variable] | None = None,
    ):
        _check_arguments(policy, batch_size, train_step, metadata)
        self._train_step = train_step if train_step is not None else _new_train_step()
        self._metadata = dict(metadata or {})

        rename = rename_spec_with_nest_paths if use_nest_path_signatures else _checked
        self._policy_step_spec = rename(policy.policy_step_spec)
        self._policy_state_spec = rename(policy.policy_state_spec)
        time_step_and_state_spec = rename(
            (policy.time_step_spec, policy.policy_state_spec)
        )

        root = tf.Module()
        # Copies: tracking wraps lists and dicts set on a module, the policy's own stay as they are.
        root.collect_data_spec = copy.copy(policy.collect_data_spec)
        root.policy_state_spec = copy.copy(policy.policy_state_spec)
        root.train_step = self._train_step
        root.metadata = self._metadata
        batch_dims = [batch_size]
        if input_fn_and_spec is not None and not (
            isinstance(input_fn_and_spec, (tuple, list))
            and len(input_fn_and_spec) == 2
            and callable(input_fn_and_spec[0])
        ):
            raise TypeError(
                "input_fn_and_spec must be a pair (input_fn, input_spec) with a callable "
                f"input_fn, got {input_fn_and_spec!r:.200}."
            )
        if input_fn_and_spec is None:
            root.action, root.distribution = (
                saved_functions.traced_action_and_distribution(
                    policy, seed, time_step_and_state_spec, batch_dims
                )
            )
            self._action_input_spec: tuple[types.NestedTensorSpec, ...] = (
                time_step_and_state_spec
            )
        else:
            root.action, root.distribution = saved_functions.traced_from_input_fn(
                policy, seed, input_fn_and_spec, time_step_and_state_spec, batch_dims
            )
            self._action_input_spec = (input_fn_and_spec[1],)
        root.get_initial_state, initial_state_inputs = (
            saved_functions.traced_initial_state(policy, batch_size)
        )
        root.get_train_step = common.function(
            lambda: root.train_step
        ).get_concrete_function()
        root.get_metadata = common.function(
            lambda: root.metadata
        ).get_concrete_function()
        root.model_variables = list(policy.variables())
        # Tables, assets and other trackables the policy holds besides variables.
        root._all_assets = _dependencies(policy)  # noqa: SLF001
        self._policy = root
        self._signatures = self._make_signatures(
            policy,
            initial_state_inputs,
            batch_dims,
            use_nest_path_signatures,
            takes_time_step=input_fn_and_spec is None,
        )

    def _make_signatures(
        self,
        policy: tf_policy.TFPolicy,
        initial_state_inputs: tuple,
        batch_dims: list,
        use_nest_path_signatures: bool,
        takes_time_step: bool,
    ) -> dict[str, saved_functions.SavedFunction]:
        """The flat serving signatures of the root module's functions."""
        root = self._policy
        signatures = {
            "action": saved_functions.flat_signature(
                root.action, self._action_input_spec, self._policy_step_spec, batch_dims
            ),
            "get_initial_state": saved_functions.flat_signature(
                root.get_initial_state, initial_state_inputs, self._policy_state_spec
            ),
            # One output, keyed by the variable's dtype name, as TF-Agents does.
            "get_train_step": saved_functions.flat_signature(
                root.get_train_step, (), self._train_step.dtype
            ),
            "get_metadata": saved_functions.flat_signature(
                root.get_metadata,
                (),
                {
                    k: tf.TensorSpec((), v.dtype, name=k)
                    for k, v in self._metadata.items()
                },
            ),
        }
        if (
            takes_time_step
            and not tf.nest.flatten(policy.policy_state_spec)
            and tf.nest.flatten(policy.time_step_spec.observation)
        ):
            observation_spec = policy.time_step_spec.observation
            if use_nest_path_signatures:
                observation_spec = rename_spec_with_nest_paths(
                    {"observation": observation_spec}
                )["observation"]
            signatures[OBSERVATION_SIGNATURE] = saved_functions.observation_signature(
                root.action,
                policy.time_step_spec,
                observation_spec,
                self._policy_step_spec,
                batch_dims,
            )
        return signatures

    # ------------------------------------------------------------------------
    # Properties

    @property
    def action_input_spec(self) -> tuple[types.NestedTensorSpec, ...]:
        """`(time_step_spec, policy_state_spec)` of the saved `action`, or `(input_spec,)`."""
        return self._action_input_spec

    @property
    def policy_step_spec(self) -> policy_step.PolicyStep:
        """The spec of the saved `action`'s output (renamed by nest path by default)."""
        return self._policy_step_spec

    @property
    def policy_state_spec(self) -> types.NestedTensorSpec:
        """The spec of the saved `get_initial_state`'s output."""
        return self._policy_state_spec

    @property
    def signatures(self) -> dict[str, Callable]:
        """The flat serving signatures, by name."""
        return self._signatures

    @property
    def policy(self) -> tf.Module:
        """The root module that `save` exports."""
        return self._policy

    def get_train_step(self) -> np.ndarray | tf.Tensor:
        """The train step's value (a NumPy scalar when eager)."""
        if tf.executing_eagerly():
            return self._train_step.numpy()
        return tf.identity(self._train_step)

    def get_metadata(self) -> dict[str, np.ndarray | tf.Variable]:
        """The metadata values (NumPy when eager, else the variables)."""
        if tf.executing_eagerly():
            return {k: v.numpy() for k, v in self._metadata.items()}
        return self._metadata

    # ------------------------------------------------------------------------
    # Extra functions

    @quiet.saved_model_io
    def register_function(
        self,
        name: str,
        fn: Callable,
        input_spec: types.NestedTensorSpec,
        outer_dims: Sequence[int | None] = (None,),
    ) -> None:
        """Adds `fn(input)`, traced for `input_spec` with `outer_dims`, to the saved model.

        Raises:
          ValueError: the saved module already has an attribute `name`.
        """
        self._check_free(name)
        batched = tf.nest.map_structure(
            lambda s: saved_functions.add_batch_dim(s, outer_dims), input_spec
        )
        function = common.function(fn)
        function.get_concrete_function(batched)
        setattr(self._policy, name, function)

    def register_concrete_function(
        self,
        name: str,
        fn: tf.types.experimental.PolymorphicFunction,
        assets: object = None,
    ) -> None:
        """Adds a `tf.function` with its traced concrete functions, as is.

        The variables each concrete function captures are saved with it, under
        `<name>__variables_<i>`; `assets` are extra trackables to keep alive.
        """
        self._check_free(name)
        setattr(self._policy, name, fn)
        for i, concrete in enumerate(fn._list_all_concrete_functions()):  # noqa: SLF001
            setattr(self._policy, f"{name}__variables_{i}", concrete.variables)
        if assets:
            setattr(self._policy, f"{name}__assets", assets)

    def _check_free(self, name: str) -> None:
        if getattr(self._policy, name, None) is not None:
            raise ValueError(f"Policy already has an attribute registered with: {name}")

    # ------------------------------------------------------------------------
    # Writing

    @quiet.saved_model_io
    def save(
        self, export_dir: str, options: tf.saved_model.SaveOptions | None = None
    ) -> None:
        """Writes the SavedModel and `policy_specs.pbtxt` to `export_dir`.

        The files are written to a directory beside `export_dir` and swapped in
        once complete: if the save fails or is interrupted, a previous save at
        `export_dir` stays as it was.
        """
        with atomic_dir.atomic_directory(export_dir) as directory:
            tf.saved_model.save(
                self._policy, directory, signatures=self._signatures, options=options
            )
            tf.io.gfile.makedirs(
                os.path.join(directory, tf.saved_model.ASSETS_DIRECTORY)
            )
            specs = {
                "collect_data_spec": self._policy.collect_data_spec,
                "policy_state_spec": self._policy.policy_state_spec,
            }
            tensor_spec.to_pbtxt_file(
                os.path.join(directory, POLICY_SPECS_PBTXT), specs
            )

    @quiet.saved_model_io
    def save_checkpoint(
        self, export_dir: str, options: tf.train.CheckpointOptions | None = None
    ) -> None:
        """Writes only the variables, to `export_dir/variables/variables`.

        The layout matches a full save's `variables/`, so a checkpoint can update
        a loaded policy (`update_from_checkpoint`) or be combined with a saved
        graph (`policy_loader.materialize_saved_model`). Written atomically,
        like `save`. The metadata variables are written too (TF-Agents leaves
        them out, so its materialized models with metadata do not load).
        """
        checkpoint = tf.train.Checkpoint(
            policy=self._policy,
            model_variables=self._policy.model_variables,
            train_step=self._train_step,
            metadata=self._metadata,
        )
        with atomic_dir.atomic_directory(export_dir) as directory:
            prefix = os.path.join(
                directory,
                tf.saved_model.VARIABLES_DIRECTORY,
                tf.saved_model.VARIABLES_FILENAME,
            )
            checkpoint.write(prefix, options=options)


# ----------------------------------------------------------------------------
# Saved function builders


def _dependencies(policy: tf_policy.TFPolicy) -> dict[str, object]:
    try:
        return keras_compat.saved_model_dependencies(policy)
    except AttributeError as e:
        # A policy whose tf.Module init did not run tracks nothing; this may be okay.
        if "_self_unconditional" not in str(e):
            raise
        logging.warning(
            "Unable to capture the trackable objects of policy %s: %s", policy, e
        )
        return {}


def _check_arguments(
    policy: object,
    batch_size: object,
    train_step: object,
    metadata: Mapping[str, tf.Variable] | None,
) -> None:
    """Raises TypeError or ValueError for arguments `PolicySaver` cannot save."""
    if not isinstance(policy, tf_policy.TFPolicy):
        raise TypeError(f"policy is not a TFPolicy. Saw: {type(policy)}")
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        raise ValueError(
            f"Expected batch_size == None or python int > 0, saw: {batch_size!r}"
        )
    if train_step is not None and not isinstance(train_step, tf.Variable):
        raise ValueError(f"train_step must be a TensorFlow variable: {train_step!r}")
    for key, value in (metadata or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"Keys of metadata must be strings: {key!r}")
        if not isinstance(value, tf.Variable):
            raise TypeError(f"Values of metadata must be tf.Variable: {value!r}")


def _new_train_step() -> tf.Variable:
    """The train step saved when none is given: an int64 variable holding -1."""
    return tf.Variable(
        -1,
        trainable=False,
        dtype=tf.int64,
        shape=(),
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        name="train_step",
    )


def _checked(spec: _Nest) -> _Nest:
    _check_spec(spec)
    return spec

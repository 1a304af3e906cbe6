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

import contextlib
import copy
import ctypes
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

# Imported for their side effect: every composite distribution a saved policy
# may return is registered under its TF-Agents name before anything loads.
from policylib.distributions import gumbel_softmax as _gumbel_softmax  # noqa: F401
from policylib.distributions import masked as _masked  # noqa: F401
from policylib.distributions import shifted_categorical as _shifted  # noqa: F401
from policylib.distributions import utils as _distribution_utils  # noqa: F401
from policylib.policies import greedy_policy as _greedy_policy  # noqa: F401
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, nest_utils

__all__ = [
    "OBSERVATION_SIGNATURE",
    "POLICY_SPECS_PBTXT",
    "PolicySaver",
    "add_batch_dim",
    "rename_spec_with_nest_paths",
    "specs_from_collect_data_spec",
]

POLICY_SPECS_PBTXT = "policy_specs.pbtxt"
OBSERVATION_SIGNATURE = "action_from_observation"
_OLD_SUFFIX = ".policylib-old"

InputFnType = Callable[
    [types.NestedTensor], tuple[types.NestedTensor, types.NestedTensor]
]


# ----------------------------------------------------------------------------
# Spec helpers


def _true_if_missing_or_collision(spec: Any, spec_names: set[str]) -> bool:
    """True if `spec` has no name or one already in `spec_names` (which it joins)."""
    if not spec.name or spec.name in spec_names:
        return True
    spec_names.add(spec.name)
    return False


def _check_spec(spec: Any) -> None:
    """Raises ValueError unless every spec in the nest has a unique name."""
    names: set[str] = set()
    if any(_true_if_missing_or_collision(s, names) for s in tf.nest.flatten(spec)):
        named = tf.nest.map_structure(lambda s: s.name or "<MISSING>", spec)
        raise ValueError(
            "Specs contain either a missing name or a name collision.\n"
            f"  Spec names: {named}\n"
            "Name every spec uniquely, or keep use_nest_path_signatures=True."
        )


def rename_spec_with_nest_paths(spec: Any) -> Any:
    """The nest with every spec replaced by a `TensorSpec` named by its nest path."""
    renamed = [
        tf.TensorSpec(shape=s.shape, dtype=s.dtype, name=path)
        for path, s in nest_utils.flatten_with_joined_paths(spec)
    ]
    return tf.nest.pack_sequence_as(spec, renamed)


def add_batch_dim(spec: Any, outer_dims: Sequence[int | None]) -> tf.TensorSpec:
    """A `TensorSpec` like `spec` with `outer_dims` in front of its shape."""
    shape = tf.TensorShape(list(outer_dims)).concatenate(spec.shape)
    return tf.TensorSpec(shape=shape, dtype=spec.dtype, name=spec.name)


def specs_from_collect_data_spec(loaded_policy_specs: Any) -> dict[str, Any]:
    """Array specs of a saved policy from the nest read out of `policy_specs.pbtxt`.

    Returns:
      A dict with `collect_data_spec`, `time_step_spec` (a `TimeStep`),
      `action_spec`, `policy_state_spec` and `info_spec`, as array specs.
    """
    specs = tensor_spec.to_nest_array_spec(loaded_policy_specs)
    collect = specs["collect_data_spec"]
    return {
        "collect_data_spec": collect,
        "time_step_spec": ts.TimeStep(
            step_type=collect.step_type,
            reward=collect.reward,
            discount=collect.discount,
            observation=collect.observation,
        ),
        "action_spec": collect.action,
        "policy_state_spec": specs["policy_state_spec"],
        "info_spec": collect.policy_info,
    }


def _check_composite_distribution(d: Any) -> Any:
    """Returns `d`; raises TypeError for a distribution that cannot be saved."""
    if isinstance(d, tfp.distributions.Distribution) and not hasattr(d, "_type_spec"):
        raise TypeError(f"{d} is not a composite tensor, so it cannot be saved.")
    return d


def _check_compatible(spec: Any, value: Any) -> None:
    """Raises ValueError unless `value` (with outer dims) fits `spec`."""
    shape = value.shape[value.shape.rank - spec.shape.rank :]
    if value.dtype != spec.dtype or not spec.shape.is_compatible_with(shape):
        raise ValueError(
            f"input_fn returned {value.dtype.name}{value.shape.as_list()}, which does "
            f"not match the policy's spec {spec}."
        )


# ----------------------------------------------------------------------------
# Flat signatures


def _flat_signature(
    fn: Callable,
    input_specs: Any,
    output_spec: Any,
    batch_dims: Sequence[int | None] = (),
) -> Any:
    """A `tf.function` over the flattened `input_specs` returning a dict of outputs.

    Output keys are the names of the flattened `output_spec`; inputs get
    `batch_dims` prepended.
    """
    flat_inputs = [add_batch_dim(s, batch_dims) for s in tf.nest.flatten(input_specs)]
    names = [s.name for s in tf.nest.flatten(output_spec)]

    @common.function(input_signature=flat_inputs)
    def with_signature(*flat: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = fn(*tf.nest.pack_sequence_as(input_specs, list(flat)))
        nest_utils.assert_same_structure(outputs, output_spec)
        return dict(zip(names, tf.nest.flatten(outputs)))

    return with_signature


# ----------------------------------------------------------------------------
# Atomic directory writes


def _exchange(a: str, b: str) -> bool:
    """Atomically swaps two paths with Linux `renameat2(RENAME_EXCHANGE)`."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return (
        renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
        == 0
    )


def _recover_interrupted_swap(target: str) -> None:
    """Puts back a previous save left aside by a swap that was interrupted."""
    old = target + _OLD_SUFFIX
    if os.path.isdir(old):
        if not os.path.exists(target):
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)


def existing_save_path(path: str) -> str:
    """`path`, or the previous save a swap interrupted between its two renames."""
    old = path + _OLD_SUFFIX
    if "://" not in path and not os.path.exists(path) and os.path.isdir(old):
        return old
    return path


@contextlib.contextmanager
def _atomic_directory(target: str) -> Iterator[str]:
    """Yields a fresh directory beside `target` that replaces it on success.

    Entries of an existing `target` that the new write did not produce (a
    SavedModel's graph when only a checkpoint is written, or a user's files)
    are copied over first, so the swap loses nothing. If the block raises, or
    the process dies, `target` is untouched. Remote file systems (`scheme://`)
    are written in place.
    """
    if "://" in target:
        yield target
        return
    target = os.path.abspath(target)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    _recover_interrupted_swap(target)
    staging = tempfile.mkdtemp(
        prefix=f".{os.path.basename(target)}.saving-", dir=parent
    )
    try:
        yield staging
        if os.path.isdir(target):
            for entry in os.listdir(target):
                src, dst = os.path.join(target, entry), os.path.join(staging, entry)
                if os.path.lexists(dst):
                    continue
                if os.path.isdir(src) and not os.path.islink(src):
                    shutil.copytree(src, dst, symlinks=True)
                else:
                    shutil.copy2(src, dst, follow_symlinks=False)
            if _exchange(staging, target):
                return  # `staging` now holds the previous save; removed below.
            os.rename(target, target + _OLD_SUFFIX)
            os.rename(staging, target)
            shutil.rmtree(target + _OLD_SUFFIX, ignore_errors=True)
        elif os.path.exists(target):
            raise FileExistsError(f"{target} exists and is not a directory.")
        else:
            os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        batch_size: int | None = None,
        use_nest_path_signatures: bool = True,
        seed: types.Seed = None,
        train_step: tf.Variable | None = None,
        input_fn_and_spec: tuple[InputFnType, Any] | None = None,
        metadata: dict[str, tf.Variable] | None = None,
    ):
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
        if train_step is None:
            train_step = tf.Variable(
                -1,
                trainable=False,
                dtype=tf.int64,
                shape=(),
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                name="train_step",
            )
        elif not isinstance(train_step, tf.Variable):
            raise ValueError(
                f"train_step must be a TensorFlow variable: {train_step!r}"
            )
        metadata = dict(metadata or {})
        for key, value in metadata.items():
            if not isinstance(key, str):
                raise TypeError(f"Keys of metadata must be strings: {key!r}")
            if not isinstance(value, tf.Variable):
                raise TypeError(f"Values of metadata must be tf.Variable: {value!r}")

        self._train_step = train_step
        self._metadata = metadata

        rename = rename_spec_with_nest_paths if use_nest_path_signatures else _checked
        batch_dims = [batch_size]
        action_fn_input_spec = rename((policy.time_step_spec, policy.policy_state_spec))
        policy_step_spec = rename(policy.policy_step_spec)
        policy_state_spec = rename(policy.policy_state_spec)

        root = tf.Module()
        # Copies: tracking wraps lists and dicts set on a module, the policy's own stay as they are.
        root.collect_data_spec = copy.copy(policy.collect_data_spec)
        root.policy_state_spec = copy.copy(policy.policy_state_spec)
        root.train_step = train_step
        root.metadata = metadata

        action_fn = policy.action
        if seed is not None:
            action_fn = functools.partial(policy.action, seed=seed)
        distribution_fn = self._distribution_fn(policy)

        if input_fn_and_spec is not None:
            input_fn, input_spec = input_fn_and_spec
            root_action = _with_input_fn(action_fn, input_fn, action_fn_input_spec)
            root_distribution = _with_input_fn(
                distribution_fn, input_fn, action_fn_input_spec
            )
            batched_input = tf.nest.map_structure(
                lambda s: add_batch_dim(s, batch_dims), input_spec
            )
            root_action.get_concrete_function(example=batched_input)
            root_distribution.get_concrete_function(example=batched_input)
            action_input_spec: Any = (input_spec,)
        else:
            batched_ts = tf.nest.map_structure(
                lambda s: add_batch_dim(s, batch_dims), action_fn_input_spec[0]
            )
            batched_state = tf.nest.map_structure(
                lambda s: add_batch_dim(s, batch_dims), action_fn_input_spec[1]
            )
            root_action = _polymorphic(action_fn, batched_ts, batched_state)
            root_distribution = _polymorphic(distribution_fn, batched_ts, batched_state)
            action_input_spec = action_fn_input_spec

        if batch_size is None:
            initial_state_fn = common.function(policy.get_initial_state)
            initial_state_inputs: tuple = (
                tf.TensorSpec(shape=(), dtype=tf.int32, name="batch_size"),
            )
        else:
            initial_state_fn = common.function(
                functools.partial(policy.get_initial_state, batch_size=batch_size)
            )
            initial_state_inputs = ()
        initial_state_fn.get_concrete_function(*initial_state_inputs)

        train_step_fn = common.function(lambda: root.train_step).get_concrete_function()
        metadata_fn = common.function(lambda: root.metadata).get_concrete_function()

        signatures = {
            "action": _flat_signature(
                root_action, action_input_spec, policy_step_spec, batch_dims
            ),
            "get_initial_state": _flat_signature(
                initial_state_fn, initial_state_inputs, policy_state_spec
            ),
            # One output, keyed by the variable's dtype name, as TF-Agents does.
            "get_train_step": _flat_signature(train_step_fn, (), train_step.dtype),
            "get_metadata": _flat_signature(
                metadata_fn,
                (),
                {k: tf.TensorSpec((), v.dtype, name=k) for k, v in metadata.items()},
            ),
        }
        if (
            input_fn_and_spec is None
            and not tf.nest.flatten(policy.policy_state_spec)
            and tf.nest.flatten(policy.time_step_spec.observation)
        ):
            observation_spec = policy.time_step_spec.observation
            if use_nest_path_signatures:
                observation_spec = rename({"observation": observation_spec})[
                    "observation"
                ]
            signatures[OBSERVATION_SIGNATURE] = _observation_signature(
                root_action,
                policy.time_step_spec,
                observation_spec,
                policy_step_spec,
                batch_dims,
            )

        root.action = root_action
        root.distribution = root_distribution
        root.get_initial_state = initial_state_fn
        root.get_train_step = train_step_fn
        root.get_metadata = metadata_fn
        root.model_variables = list(policy.variables())
        # Tables, assets and other trackables the policy holds besides variables.
        root._all_assets = _dependencies(policy)  # noqa: SLF001

        self._policy = root
        self._signatures = signatures
        self._action_input_spec = action_input_spec
        self._policy_step_spec = policy_step_spec
        self._policy_state_spec = policy_state_spec

    @staticmethod
    def _distribution_fn(policy: tf_policy.TFPolicy) -> Callable:
        """`policy.distribution` for saving, or an asserting stub if it cannot be saved."""

        def distribution_fn(time_step: Any, policy_state: Any) -> Any:
            try:
                step = policy.distribution(
                    time_step=time_step, policy_state=policy_state
                )
                return tf.nest.map_structure(_check_composite_distribution, step)
            except (TypeError, NotImplementedError) as e:
                logging.warning(
                    'Could not save policy.distribution() of policy "%s"; calling the '
                    "saved distribution() will fail with: %s",
                    policy,
                    e,
                )
                tf.debugging.Assert(False, [str(e)])
                return ()

        return distribution_fn

    # ------------------------------------------------------------------------
    # Properties

    @property
    def action_input_spec(self) -> Any:
        """`(time_step_spec, policy_state_spec)` of the saved `action`, or `(input_spec,)`."""
        return self._action_input_spec

    @property
    def policy_step_spec(self) -> Any:
        """The spec of the saved `action`'s output (renamed by nest path by default)."""
        return self._policy_step_spec

    @property
    def policy_state_spec(self) -> Any:
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

    def get_train_step(self) -> Any:
        """The train step's value (a NumPy scalar when eager)."""
        if tf.executing_eagerly():
            return self._train_step.numpy()
        return tf.identity(self._train_step)

    def get_metadata(self) -> dict[str, Any]:
        """The metadata values (NumPy when eager, else the variables)."""
        if tf.executing_eagerly():
            return {k: v.numpy() for k, v in self._metadata.items()}
        return self._metadata

    # ------------------------------------------------------------------------
    # Extra functions

    def register_function(
        self,
        name: str,
        fn: Callable,
        input_spec: Any,
        outer_dims: Sequence[int | None] = (None,),
    ) -> None:
        """Adds `fn(input)`, traced for `input_spec` with `outer_dims`, to the saved model.

        Raises:
          ValueError: the saved module already has an attribute `name`.
        """
        self._check_free(name)
        batched = tf.nest.map_structure(
            lambda s: add_batch_dim(s, outer_dims), input_spec
        )
        function = common.function(fn)
        function.get_concrete_function(batched)
        setattr(self._policy, name, function)

    def register_concrete_function(
        self, name: str, fn: Any, assets: Any = None
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

    def save(
        self, export_dir: str, options: tf.saved_model.SaveOptions | None = None
    ) -> None:
        """Writes the SavedModel and `policy_specs.pbtxt` to `export_dir`.

        The files are written to a directory beside `export_dir` and swapped in
        once complete: if the save fails or is interrupted, a previous save at
        `export_dir` stays as it was.
        """
        with _atomic_directory(export_dir) as directory:
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

    def save_checkpoint(
        self, export_dir: str, options: tf.train.CheckpointOptions | None = None
    ) -> None:
        """Writes only the variables, to `export_dir/variables/variables`.

        The layout matches a full save's `variables/`, so a checkpoint can update
        a loaded policy (`update_from_checkpoint`) or be combined with a saved
        graph (`policy_loader.materialize_saved_model`). Written atomically,
        like `save`.
        """
        checkpoint = tf.train.Checkpoint(
            policy=self._policy,
            model_variables=self._policy.model_variables,
            train_step=self._train_step,
        )
        with _atomic_directory(export_dir) as directory:
            prefix = os.path.join(
                directory,
                tf.saved_model.VARIABLES_DIRECTORY,
                tf.saved_model.VARIABLES_FILENAME,
            )
            checkpoint.write(prefix, options=options)


# ----------------------------------------------------------------------------
# Saved function builders


def _dependencies(policy: tf_policy.TFPolicy) -> dict[str, Any]:
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


def _checked(spec: Any) -> Any:
    _check_spec(spec)
    return spec


def _polymorphic(fn: Callable, batched_ts: Any, batched_state: Any) -> Any:
    """`fn(time_step, policy_state)` as a `tf.function` traced for the saved specs.

    A stateless policy's function is traced twice, so the loaded model accepts
    both `action(time_step)` and `action(time_step, ())`.
    """
    if tf.nest.flatten(batched_state):
        function = common.function(fn)
        function.get_concrete_function(time_step=batched_ts, policy_state=batched_state)
        return function

    def stateless(time_step: Any, policy_state: Any = batched_state) -> Any:
        return fn(time_step, policy_state)

    function = common.function(stateless)
    function.get_concrete_function(time_step=batched_ts, policy_state=batched_state)
    function.get_concrete_function(time_step=batched_ts)
    return function


def _with_input_fn(fn: Callable, input_fn: Callable, expected_spec: Any) -> Any:
    """`fn(*input_fn(example))` as a `tf.function`, checking `input_fn`'s output."""

    def from_example(example: Any) -> Any:
        inputs = input_fn(example)
        tf.nest.map_structure(_check_compatible, expected_spec, inputs)
        return fn(*inputs)

    return common.function(from_example)


def _observation_signature(
    action_fn: Callable,
    time_step_spec: Any,
    observation_spec: Any,
    policy_step_spec: Any,
    batch_dims: list,
) -> Any:
    """A signature taking observations only: each is a first step (reward 0, discount 1).

    For stateless policies, whose action does not depend on the step type, so a
    serving client need not send step type, reward and discount.
    """

    def filled(spec: Any, outer: tf.Tensor, value: Any) -> tf.Tensor:
        shape = tf.concat([outer, tf.constant(spec.shape.as_list(), tf.int32)], 0)
        return tf.fill(shape, tf.constant(value, spec.dtype))

    def from_observation(observation: Any) -> Any:
        outer = tf.shape(tf.nest.flatten(observation)[0], out_type=tf.int32)[:1]
        time_step = ts.TimeStep(
            step_type=filled(time_step_spec.step_type, outer, ts.StepType.FIRST),
            reward=filled(time_step_spec.reward, outer, 0),
            discount=filled(time_step_spec.discount, outer, 1),
            observation=observation,
        )
        return action_fn(time_step)

    return _flat_signature(
        from_observation, (observation_spec,), policy_step_spec, batch_dims
    )

"""Python (NumPy) policies backed by a `TFPolicy` or a saved policy, in eager TF.

    policy = py_tf_eager_policy.PyTFEagerPolicy(tf_policy)       # traced by default
    step = policy.action(numpy_time_step)                        # NumPy in, NumPy out

    saved = py_tf_eager_policy.SavedModelPyTFEagerPolicy(path, load_specs_from_pbtxt=True)
    saved.update_from_checkpoint(checkpoint_dir)                 # new weights, same graph

Per call the wrapper converts the time step to tensors once and makes a single
call of one traced concrete function (batch dim added and removed inside the
graph), which is what makes it cost about one bare `tf.function` call.
TF-Agents runs the policy eagerly by default, ~8x slower; pass
`use_tf_function=False` to do that here, e.g. to step through `_action` in a
debugger.

Device: `device=` names where to act (`"/CPU:0"`, `"/GPU:0"`). A loaded
SavedModel defaults to the CPU when its variables are small (the GPU only adds
transfer to a step that is all call overhead); `PyTFEagerPolicy` defaults to
where the wrapped policy's variables live.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.base import atomic_dir, quiet
from policylib.errors import NotAPolicyError
from policylib.policies import (
    py_policy,
    saved_functions,
    saved_graph_ops,
    saved_policy_files,
    tf_policy,
    time_step_leaves,
)
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["PyTFEagerPolicy", "PyTFEagerPolicyBase", "SavedModelPyTFEagerPolicy"]


class PyTFEagerPolicyBase(py_policy.PyPolicy):
    """NumPy API over a TF policy (or a loaded SavedModel policy) in eager mode.

    Time steps may come unbatched (one environment: a batch dim is added
    before the policy and removed from action and info after) or batched (a
    batched or parallel environment: passed through). Which one is read from
    the step type's rank on each call, so one wrapper serves both.

    Args:
      policy: a `TFPolicy`, or any object with `action(time_step, policy_state)`
        and `get_initial_state(batch_size)` taking batched tensors (a loaded
        SavedModel).
      time_step_spec: `TimeStep` of array specs of one (unbatched) time step.
      action_spec: nest of array specs of the actions.
      policy_state_spec: nest of array specs of the state.
      info_spec: nest of array specs of the info.
      use_tf_function: run `policy.action` as one traced function (default);
        False runs it eagerly, op by op.
      batch_time_steps: True (default): time steps may come without a batch
        dim, which is then added (batched ones pass through). False: time
        steps always carry a batch dim (TF-Agents' meaning).
      device: device to act on, e.g. `"/CPU:0"` or `"/GPU:0"`; None lets
        TensorFlow place the ops.
      batch_size: the fixed batch size of the policy's inputs, if it has one
        (a SavedModel saved with `batch_size=n`); None if any.
    """

    def __init__(
        self,
        policy: Any,  # a TFPolicy or a loaded SavedModel: duck-typed
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedArraySpec,
        policy_state_spec: types.NestedArraySpec,
        info_spec: types.NestedArraySpec,
        use_tf_function: bool = True,
        batch_time_steps: bool = True,
        device: str | None = None,
        batch_size: int | None = None,
    ):
        self._policy = policy
        self._use_tf_function = use_tf_function
        self._batch_time_steps = batch_time_steps
        self._device = device
        self._fixed_batch_size = batch_size
        super().__init__(time_step_spec, action_spec, policy_state_spec, info_spec)
        self._checks_inputs = False  # `_action` checks each leaf as it converts it.
        self._has_state = bool(tf.nest.flatten(self._policy_state_spec))
        self._leaves = time_step_leaves.TimeStepLeaves(self._time_step_spec)
        # Seeded calls retrace per seed; unseeded ones use one concrete function
        # per batching mode (key: is a batch dim added), fed the leaves it reads.
        self._seeded_fn = (
            common.function(self._batched_action) if use_tf_function else None
        )
        self._traced: dict[bool, time_step_leaves.Traced] = {}
        # Per batching mode: the time-step leaves the traced action does not read.
        self._unread: dict[bool, list[int]] = {}

    # ------------------------------------------------------------------------
    # Public

    def variables(self) -> types.NestedArray:
        """The wrapped policy's variables as NumPy arrays."""
        return tf.nest.map_structure(lambda v: v.numpy(), self._policy.variables())

    @property
    def device(self) -> str | None:
        return self._device

    # ------------------------------------------------------------------------
    # PyPolicy hooks

    def _get_initial_state(self, batch_size: int | None) -> types.NestedTensor:
        if batch_size is None:
            # One environment: `action` batches each time step to one row.
            batch_size = 1 if self._batch_time_steps else 0
        with self._on_device():
            return self._policy.get_initial_state(batch_size=batch_size)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        flat = tf.nest.flatten(time_step)
        leaves = self._leaves
        if len(flat) != len(leaves):
            raise self._mismatch_error(time_step, None, None)
        if not self._has_state:
            policy_state = ()  # A stateless policy ignores a state, as TFPolicy does.
        add_batch = self._batch_time_steps and np.ndim(flat[0]) == leaves.unbatched_rank
        if add_batch and self._fixed_batch_size not in (None, 1):
            raise ValueError(
                f"This policy takes batches of exactly {self._fixed_batch_size} time steps "
                "(it was saved with that batch_size), so it cannot batch single time steps: "
                "pass batched time steps."
            )
        inputs: list[tf.Tensor] | ts.TimeStep
        if self._use_tf_function and seed is None:
            # The hot path: one concrete function, fed the leaves it reads.
            traced = self._traced.get(add_batch) or self._trace(add_batch, policy_state)
            used, fn = traced
            inputs = [leaves.to_tensor(flat[i], i) for i in used]
            if self._unread[add_batch]:
                leaves.check_unread(flat, used[0], self._unread[add_batch], add_batch)
        else:
            fn = functools.partial(
                self._seeded_fn or self._batched_action, add_batch=add_batch
            )
            if seed is not None:
                if self._use_tf_function:
                    logging.warning(
                        "Passing `seed` to a traced policy retraces it for each new seed."
                    )
                fn = functools.partial(fn, seed=seed)
            inputs = tf.nest.pack_sequence_as(
                self._time_step_spec,
                [leaves.to_tensor(leaf, i) for i, leaf in enumerate(flat)],
            )
        try:
            with self._on_device():
                step = fn(inputs, policy_state)
        except (TypeError, ValueError, tf.errors.InvalidArgumentError) as e:
            raise self._mismatch_error(time_step, policy_state, e) from e
        return _numpy_action_and_info(step)

    # ------------------------------------------------------------------------
    # Internals

    def _on_device(self) -> contextlib.AbstractContextManager[object]:
        return tf.device(self._device) if self._device else contextlib.nullcontext()

    def _batched_action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
        add_batch: bool = False,
    ) -> policy_step.PolicyStep:
        """`policy.action`, adding and removing a batch dim if `add_batch`."""
        if add_batch:
            time_step = tf.nest.map_structure(lambda t: tf.expand_dims(t, 0), time_step)
        if seed is not None:
            step = self._policy.action(time_step, policy_state, seed=seed)
        else:
            step = self._policy.action(time_step, policy_state)
        if add_batch:
            step = step._replace(
                action=tf.nest.map_structure(lambda t: tf.squeeze(t, 0), step.action),
                info=tf.nest.map_structure(lambda t: tf.squeeze(t, 0), step.info),
            )
        return step

    def _trace(
        self, add_batch: bool, policy_state: types.NestedTensor
    ) -> time_step_leaves.Traced:
        """Traces the unseeded action on the leaves it reads (`time_step_leaves`)."""
        outer = [] if add_batch else [self._fixed_batch_size]
        flat_specs = self._leaves.input_specs(outer)
        state_spec = time_step_leaves.state_spec_of(policy_state)
        count = len(flat_specs)

        def traced(indices: list[int]) -> Callable[..., policy_step.PolicyStep]:
            return common.function(
                lambda leaves, state: self._action_from_leaves(
                    leaves, indices, state, add_batch
                )
            ).get_concrete_function([flat_specs[i] for i in indices], state_spec)

        result = time_step_leaves.trace_on_read(
            traced, count, time_step_leaves.loaded_action_reads(self._policy, count)
        )
        self._traced[add_batch] = result
        self._unread[add_batch] = [i for i in range(count) if i not in result[0]]
        return result

    def _action_from_leaves(
        self,
        leaves: list[tf.Tensor],
        indices: list[int],
        policy_state: types.NestedTensor,
        add_batch: bool,
    ) -> policy_step.PolicyStep:
        """Calls the action with the given time-step leaves and zeros for the rest."""
        outer = [] if add_batch else [tf.shape(leaves[0])[0]]
        time_step = self._leaves.fill(leaves, indices, outer)
        return self._batched_action(time_step, policy_state, add_batch=add_batch)

    def _mismatch_error(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor | None,
        cause: Exception | None,
    ) -> ValueError:
        got = tf.nest.map_structure(
            lambda t: f"{np.asarray(t).dtype}{list(np.shape(t))}", time_step
        )
        leaves = self._leaves.shape_problems(time_step)
        batch = "one time step, or a batch of them"
        if not self._batch_time_steps:
            batch = "with a leading batch dim"
        if self._fixed_batch_size is not None:
            batch = f"with a leading batch dim of {self._fixed_batch_size}"
        message = (
            f"The time step does not match the policy's spec{leaves}.\n"
            f"Expected time_step_spec ({batch}): {self._time_step_spec}\n"
            f"Got: {got}"
        )
        if policy_state is not None and tf.nest.flatten(self._policy_state_spec):
            message += f"\nExpected policy_state_spec: {self._policy_state_spec}"
        if cause is not None:
            message += f"\nCause: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}"
        return ValueError(message)


def _numpy_action_and_info(step: policy_step.PolicyStep) -> policy_step.PolicyStep:
    """The step with action and info as NumPy (the state stays tensors, to feed back)."""
    action = step.action
    action = (
        _to_numpy(action)
        if tf.is_tensor(action)
        else tf.nest.map_structure(_to_numpy, action)
    )
    info = step.info
    if tf.nest.flatten(info):
        info = tf.nest.map_structure(_to_numpy, info)
    return policy_step.PolicyStep(action, step.state, info)


def _to_numpy(t: object) -> object:
    return t.numpy() if hasattr(t, "numpy") else t


class PyTFEagerPolicy(PyTFEagerPolicyBase):
    """A `TFPolicy` behind a NumPy `PyPolicy` API.

    Args:
      policy: the `TFPolicy` to wrap.
      use_tf_function: trace the policy's `action` (default); False runs it
        eagerly (TF-Agents' default), for debugging.
      batch_time_steps: add and remove a batch dim around each call (one
        environment); False for batched time steps.
      device: device to act on (`"/CPU:0"`, `"/GPU:0"`); None: TF's placement.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        use_tf_function: bool = True,
        batch_time_steps: bool = True,
        device: str | None = None,
    ):
        missing = [
            name
            for name in ("time_step_spec", "action_spec", "policy_state_spec", "action")
            if not hasattr(policy, name)
        ]
        if isinstance(policy, py_policy.PyPolicy):
            raise TypeError(
                f"PyTFEagerPolicy wraps a TFPolicy; got {type(policy).__name__}, which is "
                "already a PyPolicy: use it directly."
            )
        if missing:
            raise TypeError(
                f"PyTFEagerPolicy wraps a TFPolicy; got {type(policy).__name__}, which has "
                f"no {', '.join(missing)}. For a saved policy use "
                "policy_loader.load(path) or SavedModelPyTFEagerPolicy(path, "
                "load_specs_from_pbtxt=True)."
            )
        super().__init__(
            policy,
            tensor_spec.to_nest_array_spec(policy.time_step_spec),
            tensor_spec.to_nest_array_spec(policy.action_spec),
            tensor_spec.to_nest_array_spec(policy.policy_state_spec),
            tensor_spec.to_nest_array_spec(policy.info_spec),
            use_tf_function=use_tf_function,
            batch_time_steps=batch_time_steps,
            device=device,
        )

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        """The TF policy this runs (what a worker exports to rebuild it)."""
        return self._policy


class SavedModelPyTFEagerPolicy(PyTFEagerPolicyBase):
    """A policy saved by `PolicySaver` (policylib's or TF-Agents') as a `PyPolicy`.

    Args:
      model_path: the SavedModel directory.
      time_step_spec: the policy's time step spec; or pass
        `load_specs_from_pbtxt=True` to read all specs from the save.
      action_spec: the action spec (when not loading specs).
      policy_state_spec: the state spec (when not loading specs).
      info_spec: the info spec (when not loading specs).
      load_specs_from_pbtxt: read the specs from `policy_specs.pbtxt`.
      use_tf_function: see `PyTFEagerPolicyBase`.
      batch_time_steps: see `PyTFEagerPolicyBase`.
      device: device to load and act on (`"/CPU:0"`, `"/GPU:0"`); None: TF's
        placement. `"auto"` (default): the CPU when a GPU is present but the
        saved variables are small (under 64 MB), since a small policy's step
        is call overhead, which a GPU only adds to; else TF's placement.
      allow_unsafe_ops: the graph is scanned before loading, and a model with
        file-system, Python-callback or remote ops (`saved_graph_ops.UNSAFE_OPS`)
        is refused; True (or the op names) loads it anyway, for a model you trust.

    Raises:
      ValueError: neither specs nor `load_specs_from_pbtxt` were given.
      NotAPolicyError: the path holds no loadable policy.
      UnsafeSavedModelError: the graph holds unsafe ops not allowed.
    """

    @quiet.saved_model_io
    def __init__(
        self,
        model_path: str,
        time_step_spec: ts.TimeStep | None = None,
        action_spec: types.NestedSpec | None = None,
        policy_state_spec: types.NestedSpec = (),
        info_spec: types.NestedSpec = (),
        load_specs_from_pbtxt: bool = False,
        use_tf_function: bool = True,
        batch_time_steps: bool = True,
        device: str | None = "auto",
        allow_unsafe_ops: bool | Sequence[str] = False,
    ):
        model_path = saved_policy_files.check_policy_dir(
            model_path, need_specs=load_specs_from_pbtxt and not time_step_spec
        )
        if not (time_step_spec or load_specs_from_pbtxt):
            raise ValueError(
                "To load a SavedModel policy you have to provide the specs, or "
                "enable loading from proto (load_specs_from_pbtxt=True)."
            )
        saved_graph_ops.check(model_path, allow_unsafe_ops)
        if device == "auto":
            device = saved_functions.default_device(model_path)
        with tf.device(device) if device else contextlib.nullcontext():
            loaded = saved_policy_files.load_saved_model(model_path)
        self._checkpoint = tf.train.Checkpoint(policy=loaded)
        self._model_path = model_path
        specs = None
        if not time_step_spec:
            specs = saved_policy_files.read_specs(model_path)
            time_step_spec = specs["time_step_spec"]
            action_spec = specs["action_spec"]
            policy_state_spec = specs["policy_state_spec"]
            info_spec = specs["info_spec"]
        super().__init__(
            loaded,
            tensor_spec.to_nest_array_spec(time_step_spec),
            tensor_spec.to_nest_array_spec(action_spec),
            tensor_spec.to_nest_array_spec(policy_state_spec),
            tensor_spec.to_nest_array_spec(info_spec),
            use_tf_function=use_tf_function,
            batch_time_steps=batch_time_steps,
            device=device,
            batch_size=saved_functions.saved_batch_size(loaded),
        )
        if specs is not None:
            self._collect_data_spec = specs["collect_data_spec"]
        self._train_step_from_last_restored_checkpoint_path: int | None = None
        self._warm_up()

    def _warm_up(self) -> None:
        """Runs one step of zeros, so that a broken load fails now, not mid-episode."""
        outer = self._fixed_batch_size or 1
        time_step = tf.nest.map_structure(
            lambda s: _zeros((outer,) + tuple(s.shape), s.dtype), self._time_step_spec
        )
        state = tf.nest.map_structure(
            lambda s: tf.zeros((outer,) + tuple(s.shape), s.dtype),
            self._policy_state_spec,
        )
        if outer == 1 and self._batch_time_steps:
            time_step = tf.nest.map_structure(lambda z: z[0], time_step)
        self.action(time_step, state)

    @property
    def model_path(self) -> str:
        """The SavedModel directory this policy was loaded from."""
        return self._model_path

    def get_train_step(self) -> np.ndarray:
        """The train step saved with the policy."""
        return self._policy.get_train_step().numpy()

    def get_train_step_from_last_restored_checkpoint_path(self) -> int | None:
        """The number after the last `_` of the last checkpoint path restored."""
        return self._train_step_from_last_restored_checkpoint_path

    def get_metadata(self) -> dict[str, Any]:
        """The metadata saved with the policy, by key."""
        return self._policy.get_metadata()

    def variables(self) -> types.NestedVariable:
        """The saved policy's variables (`model_variables`)."""
        return self._policy.model_variables

    @quiet.saved_model_io
    def update_from_checkpoint(self, checkpoint_path: str) -> None:
        """Loads variables from `PolicySaver.save` or `save_checkpoint` output.

        Every variable of the loaded policy must be in the checkpoint; the
        graph is unchanged, so no retrace happens.

        Raises:
          NotAPolicyError: the checkpoint is missing or does not fit (another
            network); the policy's variables are left as they were.
        """
        checkpoint_path = atomic_dir.existing_path(checkpoint_path)
        prefix = os.path.join(
            checkpoint_path,
            tf.saved_model.VARIABLES_DIRECTORY,
            tf.saved_model.VARIABLES_FILENAME,
        )
        if "://" not in prefix and not os.path.exists(prefix + ".index"):
            raise NotAPolicyError(
                f"{checkpoint_path}: no such file or directory (no "
                f"{tf.saved_model.VARIABLES_DIRECTORY}/{tf.saved_model.VARIABLES_FILENAME}.index)."
            )
        variables = list(self._policy.model_variables)
        before = [v.numpy() for v in variables]
        try:
            status = self._checkpoint.read(prefix)
            status.assert_existing_objects_matched().expect_partial()
        except Exception as e:  # put back what a partial restore changed
            for variable, value in zip(variables, before):
                variable.assign(value)
            detail = (
                str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            )
            raise NotAPolicyError(
                f"{checkpoint_path}: the checkpoint does not fit the loaded policy: {detail}"
            ) from e
        try:
            step: int | None = int(checkpoint_path.rstrip("/").split("_")[-1])
        except ValueError:
            step = None
        self._train_step_from_last_restored_checkpoint_path = step
        logging.info("Checkpoint path: %s, train step: %s", checkpoint_path, step)

    def __getattr__(self, name: str) -> Any:
        """Other attributes come from the loaded SavedModel (e.g. registered functions)."""
        if name.startswith("__") or name == "_policy":
            raise AttributeError(name)
        return getattr(self._policy, name)


def _zeros(shape: tuple[int, ...], dtype: tf.DType) -> np.ndarray:
    """A NumPy array of `dtype`'s zero: empty bytes for strings (np.zeros gives 0s)."""
    dtype = tf.as_dtype(dtype)
    if dtype == tf.string:
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype.as_numpy_dtype)

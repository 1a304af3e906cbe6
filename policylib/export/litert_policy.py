"""`LiteRTPolicy`: a `PyPolicy` that runs an exported TFLite policy, no TensorFlow.

    from policylib.export import litert
    litert.export(GreedyPolicy(agent.policy), "run/litert")      # needs TensorFlow

    policy = LiteRTPolicy("run/litert")                          # needs ai-edge-litert
    step = policy.action(time_step)                              # NumPy in, NumPy out

It takes the NumPy time steps that `SavedModelPyTFEagerPolicy` takes, batched
or not, validates them against the specs recorded at export, and carries the
policy state of a recurrent policy. The interpreter comes from the optional
`ai-edge-litert` package (`pip install 'policylib[litert]'`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import tree

from policylib.base import arg_checks, extras, native_stderr, nest_utils
from policylib.export import litert_files
from policylib.policies import py_policy
from policylib.trajectories import policy_step

if TYPE_CHECKING:
    from policylib.trajectories import time_step as ts
    from policylib.typing import types

__all__ = ["LiteRTPolicy"]

_XNNPACK_NOTICE = "Created TensorFlow Lite XNNPACK delegate"


def _not_delegate_notice(line: str) -> bool:
    return _XNNPACK_NOTICE not in line


class LiteRTPolicy(py_policy.PyPolicy):
    """Runs `export_dir/policy.tflite` (from `policylib.export.litert.export`).

    Args:
      export_dir: the directory `export` wrote.
      num_threads: interpreter threads; None lets LiteRT choose.

    Raises:
      NotAPolicyError: `export_dir` holds no LiteRT export.
      MissingExtraError: `ai-edge-litert` is not installed.
    """

    def __init__(self, export_dir: str | os.PathLike, num_threads: int | None = None):
        export_dir = arg_checks.check_path(export_dir, "LiteRTPolicy: export_dir")
        if num_threads is not None:
            arg_checks.check_int(num_threads, "LiteRTPolicy: num_threads", minimum=1)
        specs = litert_files.load_specs(export_dir)
        interpreter = extras.require(
            "ai_edge_litert.interpreter", extra="litert", feature="LiteRT policies"
        )
        super().__init__(
            specs["time_step_spec"],
            specs["action_spec"],
            policy_state_spec=specs["policy_state_spec"],
        )
        self._export_dir = export_dir
        self._interpreter = interpreter.Interpreter(
            model_path=os.path.join(export_dir, litert_files.MODEL_FILE),
            num_threads=num_threads,
        )
        runner = self._interpreter.get_signature_runner()
        self._first_run = True
        inputs, outputs = runner.get_input_details(), runner.get_output_details()
        self._input_index = [inputs[name]["index"] for name in specs["inputs"]]
        self._output_index = [outputs[name]["index"] for name in specs["outputs"]]
        self._flat_inputs = tree.flatten(self.time_step_spec) + tree.flatten(
            self.policy_state_spec
        )
        self._num_step_leaves = len(tree.flatten(self.time_step_spec))
        self._num_actions = len(tree.flatten(self.action_spec))
        self._nested_action = tree.is_nested(self.action_spec)
        self._dtypes = [np.dtype(s.dtype) for s in self._flat_inputs]
        self._inner = [tuple(s.shape) for s in self._flat_inputs]
        self._has_state = bool(self._flat_inputs[self._num_step_leaves :])
        self._read = _read_inputs(self._interpreter, self._input_index)
        self._read_index = [self._input_index[k] for k in self._read]
        self._fed_shapes: list[tuple[int, ...] | None] = [None] * len(self._read)

    @property
    def export_dir(self) -> str:
        """The export directory this policy runs."""
        return self._export_dir

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        values = tree.flatten(time_step)
        if len(values) != self._num_step_leaves:  # dict observations with extra keys
            values = tree.flatten(
                nest_utils.prune_extra_keys(self.time_step_spec, time_step)
            )
        if self._has_state:
            state = tree.flatten(policy_state)
            if len(state) != len(self._flat_inputs) - self._num_step_leaves:
                raise ValueError(
                    "LiteRTPolicy.action: the policy is recurrent; pass the policy_state "
                    "returned by the previous call (or get_initial_state(batch_size)), "
                    f"got {policy_state!r:.100}."
                )
            values += state
        batch = self._batch_dims(values)
        arrays = []
        for k in self._read:
            a = np.asarray(values[k], self._dtypes[k])
            if batch is None:
                a = a[None]
            elif a.ndim == len(self._inner[k]):
                a = np.broadcast_to(a, batch + self._inner[k])
            arrays.append(a)
        if self._first_run:
            # The first run applies the CPU delegate, which announces itself
            # on stderr; nothing else the interpreter says is dropped.
            self._first_run = False
            with native_stderr.filtered(keep=_not_delegate_notice):
                self._feed(arrays)
                self._interpreter.invoke()
        else:
            self._feed(arrays)
            self._interpreter.invoke()
        out = [self._interpreter.get_tensor(i) for i in self._output_index]
        if batch is None:
            out = [o[0] for o in out]
        action = (
            tree.unflatten_as(self.action_spec, out[: self._num_actions])
            if self._nested_action
            else out[0]
        )
        next_state = (
            tree.unflatten_as(self.policy_state_spec, out[self._num_actions :])
            if self._has_state
            else ()
        )
        return policy_step.PolicyStep(action, next_state, ())

    def _batch_dims(self, values: list[npt.ArrayLike]) -> tuple[int, ...] | None:
        """The one leading batch dim of the inputs, or None if none has one."""
        for value, inner in zip(values, self._inner):
            shape = np.shape(value)
            if len(shape) > len(inner):
                if len(shape) != len(inner) + 1:
                    raise ValueError(
                        f"LiteRTPolicy.action: inputs may have one batch dim; a leaf "
                        f"has shape {shape} for inner shape {inner}."
                    )
                return shape[:1]
        return None

    def _feed(self, arrays: list[np.ndarray]) -> None:
        """Sets the read inputs, resizing the interpreter when a shape changes."""
        interpreter = self._interpreter
        indices = self._read_index
        resized = False
        for k, (index, a) in enumerate(zip(indices, arrays)):
            if a.shape != self._fed_shapes[k]:
                interpreter.resize_tensor_input(index, a.shape, strict=False)
                self._fed_shapes[k] = a.shape
                resized = True
        if resized:
            interpreter.allocate_tensors()
        for index, a in zip(indices, arrays):
            interpreter.set_tensor(
                index, a if a.flags.c_contiguous else np.ascontiguousarray(a)
            )


def _read_inputs(interpreter: Any, indices: list[int]) -> list[int]:
    """Positions in `indices` of the input tensors some op of the model reads.

    The converter keeps every signature input, read or not (a greedy Q policy
    reads only the observation); feeding only the read ones saves a copy per
    leaf per step. Without the interpreter's op listing, all count as read.
    """
    try:
        ops = interpreter._get_ops_details()
    except AttributeError:
        return list(range(len(indices)))
    read = {int(i) for op in ops for i in op["inputs"]}
    return [k for k, index in enumerate(indices) if index in read]

"""Which inputs of a traced function its results actually depend on.

`PyTFEagerPolicy` feeds its traced `action` only the time-step leaves the
graph reads (most policies read the observation and the step type, not the
reward or discount), saving one tensor conversion per unread leaf and call.
This module finds those leaves by walking the graph backwards from the
outputs and from every stateful op.

Calls into other functions (`PartitionedCall`, `StatefulPartitionedCall`, as
a loaded SavedModel is made of) are followed into the callee's graph. Finding
the callee needs TensorFlow's private `FuncGraph._get_function`; where that is
missing or fails, every argument of the call counts as read. The answer is
then "all leaves": correct, only slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tensorflow.python.eager.polymorphic_function.concrete_function import (
        ConcreteFunction,
    )
    from tensorflow.python.framework.func_graph import FuncGraph
    from tensorflow.python.framework.ops import Operation

__all__ = ["read_inputs"]

# Stateful ops that are not side effects: reading a variable or a placeholder.
_NOT_EFFECTS = frozenset({"ReadVariableOp", "VarHandleOp", "Placeholder", "NoOp"})
_CALLS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
_MAX_CALL_DEPTH = 8


def read_inputs(concrete: ConcreteFunction, count: int) -> list[int]:
    """Indices among the first `count` inputs of `concrete` that it reads.

    Args:
      concrete: a `ConcreteFunction`.
      count: how many leading inputs to consider (the rest are captures).

    Returns:
      Sorted indices of inputs that an output or a side effect depends on.
    """
    read = _read_graph_inputs(
        concrete.graph, concrete.inputs, concrete.outputs, depth=0
    )
    return [i for i in read if i < count]


def _read_graph_inputs(
    graph: FuncGraph, inputs: list, outputs: list, depth: int
) -> list[int]:
    """Which `inputs` of `graph` reach `outputs` or a stateful op."""
    roots = [t.op for t in outputs]
    roots += [
        op
        for op in graph.get_operations()
        if op.op_def is not None
        and op.op_def.is_stateful
        and op.type not in _NOT_EFFECTS
    ]
    needed: set[Operation] = set()
    while roots:
        op = roots.pop()
        if op in needed:
            continue
        needed.add(op)
        roots.extend(op.control_inputs)
        arguments = list(op.inputs)
        if op.type in _CALLS:
            arguments = [arguments[i] for i in _read_call_arguments(graph, op, depth)]
        roots.extend(t.op for t in arguments)
    return [i for i, t in enumerate(inputs) if t.op in needed]


def _read_call_arguments(graph: FuncGraph, op: Operation, depth: int) -> list[int]:
    """The arguments of call `op` that its callee reads (all, if it cannot tell)."""
    everything = list(range(len(op.inputs)))
    body = _callee_graph(graph, op) if depth < _MAX_CALL_DEPTH else None
    if body is None or len(body.inputs) != len(op.inputs):
        return everything
    return _read_graph_inputs(body, body.inputs, body.outputs, depth + 1)


def _callee_graph(graph: FuncGraph, op: Operation) -> FuncGraph | None:
    """The graph of the function `op` calls, or None where TensorFlow hides it."""
    get_function = getattr(graph, "_get_function", None)  # private TF API
    if get_function is None:
        return None
    try:
        return get_function(op.get_attr("f").name).graph
    except Exception:  # noqa: BLE001 - any failure means "cannot inspect"
        return None

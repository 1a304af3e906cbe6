"""Finds the ops of a SavedModel that reach outside the graph, before it is loaded.

A policy computes actions from tensors. A SavedModel can also hold ops that
read or write files, start Python callbacks or call remote functions, and a
policy file from someone else runs them as soon as it acts. `unsafe_ops`
lists such ops in the functions a loaded model can run, read from
`saved_model.pb` without executing anything; `check` refuses them unless
allowed. The checkpoint functions TensorFlow writes itself (`_traced_save`,
`_traced_restore`, named by the saver) are not scanned: loading and saving
variables uses them, and no other function may call them unnoticed, since
any function reachable from another root is scanned.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Iterator
from typing import Any

from policylib.errors import NotAPolicyError, UnsafeSavedModelError

__all__ = ["UNSAFE_OPS", "check", "unsafe_ops"]

# Ops that touch the file system, run Python, or call out of the process.
UNSAFE_OPS = frozenset(
    {
        # Files.
        "ReadFile", "WriteFile", "MatchingFiles", "ImmutableConst",
        "Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice",
        "MergeV2Checkpoints", "LoadAndRemapMatrix",
        "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
        "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
        "TFRecordReader", "TFRecordReaderV2", "FixedLengthRecordReader",
        "FixedLengthRecordReaderV2",
        "MatchingFilesDataset", "TFRecordDataset", "TFRecordDatasetV2",
        "TextLineDataset", "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2",
        "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "SqlDataset",
        "ExperimentalSqlDataset", "LMDBDataset", "ExperimentalLMDBDataset",
        "LoadDataset", "SaveDataset", "SaveDatasetV2", "SnapshotDataset",
        "SnapshotDatasetV2", "CreateSummaryFileWriter", "CreateSummaryDbWriter",
        "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3",
        # Python callbacks (tf.py_function, tf.numpy_function).
        "PyFunc", "PyFuncStateless", "EagerPyFunc",
        # Calls into other processes.
        "RemoteCall",
    }
)  # fmt: skip


def _called(node: Any, functions: dict[str, Any]) -> Iterator[str]:
    """Names of the functions a node calls (as its op, or in its attributes)."""
    if node.op in functions:
        yield node.op
    stack = list(node.attr.values())
    while stack:
        value = stack.pop()
        kind = value.WhichOneof("value")
        if kind == "func":
            yield value.func.name
            stack.extend(value.func.attr.values())
        elif kind == "list":
            for func in value.list.func:
                yield func.name
                stack.extend(func.attr.values())


def unsafe_ops(path: str) -> dict[str, list[str]]:
    """Unsafe op type -> the functions (or `<graph>`) holding it, for `path`'s model.

    Raises:
      OSError: `saved_model.pb` cannot be read.
      google.protobuf.message.DecodeError: it is not a SavedModel proto.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    found: dict[str, set[str]] = collections.defaultdict(set)
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        functions = {f.signature.name: f for f in graph.library.function}
        saver = {
            meta_graph.saver_def.save_tensor_name.split(":")[0],
            meta_graph.saver_def.restore_op_name.split(":")[0],
        }
        pending: list[str] = list(meta_graph.object_graph_def.concrete_functions)
        for node in graph.node:
            if node.name in saver:
                continue
            if node.op in UNSAFE_OPS:
                found[node.op].add("<graph>")
            pending.extend(_called(node, functions))
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen or name not in functions:
                continue
            seen.add(name)
            for node in functions[name].node_def:
                if node.op in UNSAFE_OPS:
                    found[node.op].add(name)
                pending.extend(_called(node, functions))
    return {op: sorted(where) for op, where in sorted(found.items())}


def check(path: str, allow_unsafe_ops: bool | Iterable[str] = False) -> None:
    """Raises `UnsafeSavedModelError` if `path`'s model holds unsafe ops not allowed.

    Args:
      path: a SavedModel directory.
      allow_unsafe_ops: True to allow every op of `UNSAFE_OPS`, or the names
        of the ones to allow.

    Raises:
      UnsafeSavedModelError: ops that are not allowed were found.
      NotAPolicyError: `saved_model.pb` cannot be read or parsed.
    """
    if allow_unsafe_ops is True:
        return
    from google.protobuf import message

    allowed = set() if allow_unsafe_ops is False else set(allow_unsafe_ops)
    try:
        found = unsafe_ops(path)
    except (OSError, message.DecodeError) as e:
        raise NotAPolicyError(
            f"{path}: cannot load the SavedModel: saved_model.pb is unreadable ({e})"
        ) from e
    refused = {op: where for op, where in found.items() if op not in allowed}
    if refused:
        listing = "; ".join(
            f"{op} in {', '.join(where)}" for op, where in refused.items()
        )
        raise UnsafeSavedModelError(
            f"{path}: refusing to load a SavedModel whose functions reach outside the "
            f"graph ({listing}). If you trust it, pass allow_unsafe_ops=True (or the "
            "op names) to load it."
        )

"""Write experience to TFRecord files as encoded Examples, and read it back as a dataset.

`TFRecordObserver` is a driver observer that appends each (batch-of-one) item it
sees to a TFRecord file, encoded by `example_encoding`, and saves the data spec
beside it (`<file>.spec`, one `StructuredValue` record) so that
`load_tfrecord_dataset` can decode the file without being told the spec.
The files match TF-Agents' layout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf
from absl import logging
from tensorflow.core.protobuf import struct_pb2

from policylib.base import nest_utils
from policylib.specs import tensor_spec
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import example_encoding

__all__ = [
    "TFRecordObserver",
    "encode_spec_to_file",
    "load_tfrecord_dataset",
    "parse_encoded_spec_from_file",
]

# Suffix of the file that holds a dataset's spec, next to the dataset.
_SPEC_FILE_EXTENSION = ".spec"


def encode_spec_to_file(output_path: str, tensor_data_spec: types.NestedSpec) -> None:
    """Writes `tensor_data_spec` to `output_path` as a one-record TFRecord file.

    Args:
      output_path: the file to write.
      tensor_data_spec: a nest of `TensorSpec`s of one unbatched item.
    """
    proto = tensor_spec.to_proto(tensor_data_spec)
    with tf.io.TFRecordWriter(output_path) as writer:
        writer.write(proto.SerializeToString())


def _first_record(path: str) -> bytes | None:
    """The first record of a TFRecord file, or None if it holds none."""
    with tf.init_scope():
        if tf.executing_eagerly():
            records = tf.data.TFRecordDataset(path).take(1)
            return next((r.numpy() for r in records), None)
        # A TF1 graph: read it in a private graph rather than the caller's.
        with tf.Graph().as_default():
            records = tf.data.TFRecordDataset(path).take(1)
            record = tf.compat.v1.data.make_one_shot_iterator(records).get_next()
            with tf.compat.v1.Session() as session:
                try:
                    return session.run(record)
                except tf.errors.OutOfRangeError:
                    return None


def parse_encoded_spec_from_file(input_path: str) -> Any:
    """The spec nest that `encode_spec_to_file` wrote to `input_path`.

    Raises:
      IOError: there is no file at `input_path` (a `FileNotFoundError`).
      ValueError: the file holds no record.
    """
    if not tf.io.gfile.exists(input_path):
        raise FileNotFoundError(f"Could not find spec file at {input_path}.")
    record = _first_record(input_path)
    if record is None:
        raise ValueError(
            f"Spec file {input_path} is empty: expected one StructuredValue record."
        )
    return tensor_spec.from_proto(struct_pb2.StructuredValue.FromString(record))


class TFRecordObserver:
    """A driver observer that writes every item it sees to a TFRecord file.

        observer = TFRecordObserver("/tmp/data/experience.tfrecord", agent.collect_data_spec)
        driver = DynamicStepDriver(env, policy, observers=[observer], num_steps=100)
        driver.run()
        observer.close()

    In a TF driver (the default, `py_mode=False`) items are tensors with a batch
    dimension of 1, written through `tf.numpy_function`; some drivers need the
    observer wrapped in `common.function`. In a Python driver (`py_mode=True`)
    items are unbatched arrays, written directly. The spec is saved to
    `output_path + ".spec"` when the observer is created.
    """

    def __init__(
        self,
        output_path: str,
        tensor_data_spec: types.NestedSpec,
        py_mode: bool = False,
        compress_image: bool = False,
        image_quality: int = 95,
    ):
        """Opens `output_path` for writing and saves the spec beside it.

        Args:
          output_path: the TFRecord file to write; missing directories are made.
          tensor_data_spec: a nest of `TensorSpec`s of one unbatched item.
          py_mode: items come from a Python driver (unbatched arrays).
          compress_image: JPEG-compress `uint8` leaves of shape `(h, w, 1 or 3)`.
          image_quality: JPEG quality, 0 to 100.
        """
        self._py_mode = py_mode
        self._array_data_spec = tensor_spec.to_nest_array_spec(tensor_data_spec)
        self._encoder = example_encoding.get_example_serializer(
            self._array_data_spec,
            compress_image=compress_image,
            image_quality=image_quality,
        )
        self.output_path = output_path
        directory = os.path.dirname(output_path)
        if directory:
            tf.io.gfile.makedirs(directory)
        self._writer = tf.io.TFRecordWriter(output_path)
        logging.info("Writing dataset to TFRecord at %s", output_path)
        encode_spec_to_file(output_path + _SPEC_FILE_EXTENSION, tensor_data_spec)

    def write(self, *data: Any) -> None:
        """Encodes one item and appends it to the file.

        Args:
          *data: in py_mode, the item itself; otherwise its flattened leaves,
            each with a leading batch dimension of 1.
        """
        if self._py_mode:
            item = data
        else:
            leading = {getattr(leaf, "shape", ())[:1] for leaf in data}
            if leading != {(1,)}:
                raise ValueError(
                    "TFRecordObserver writes one item per call: expected every "
                    f"leaf to have a leading batch dimension of 1, got leading "
                    f"dimensions {sorted(leading)}."
                )
            item = tf.nest.pack_sequence_as(
                self._array_data_spec, nest_utils.unbatch_nested_array(list(data))
            )
        self._writer.write(self._encoder(item))

    def flush(self) -> None:
        """Flushes what was written so far to the file."""
        self._writer.flush()

    def close(self) -> None:
        """Closes the file; nothing can be written after this."""
        self._writer.close()
        logging.info("Closing TFRecord file at %s", self.output_path)

    def __enter__(self) -> TFRecordObserver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __call__(self, data: Any) -> None:
        """Writes `data` (see the class docstring for the two modes)."""
        if self._py_mode:
            self.write(data)
        else:
            tf.numpy_function(
                self.write, tf.nest.flatten(data), [], name="encoder_observer"
            )


def _spec_of_files(dataset_files: Sequence[str]) -> Any:
    """The spec saved beside each file; `IOError` unless all are the same."""
    first = None
    for path in dataset_files:
        spec = parse_encoded_spec_from_file(path + _SPEC_FILE_EXTENSION)
        if first is None:
            first = spec
        elif spec != first:
            raise OSError(
                f"The encoding specs of the dataset files do not match: "
                f"{dataset_files[0]} has {first}, but {path} has {spec}."
            )
    return first


def load_tfrecord_dataset(
    dataset_files: Sequence[str],
    buffer_size: int = 1000,
    as_experience: bool = False,
    as_trajectories: bool = False,
    add_batch_dim: bool = True,
    decoder: Callable[[types.Tensor], types.NestedTensor] | None = None,
    num_parallel_reads: int | None = None,
    compress_image: bool = False,
    spec: types.NestedSpec | None = None,
) -> tf.data.Dataset:
    """A dataset of the items written to TFRecord files by `TFRecordObserver`.

    Args:
      dataset_files: the TFRecord files to read.
      buffer_size: read buffer size in bytes (0: no buffering).
      as_experience: yield pairs of consecutive items (a leading dimension of
        2), shaped like a replay buffer sample with `num_steps=2`, for training.
      as_trajectories: turn each item into a `Trajectory`.
      add_batch_dim: give each item a leading batch dimension of 1 (ignored
        with `as_experience`).
      decoder: decodes one serialized Example; by default, built from `spec`.
      num_parallel_reads: files read in parallel; default: all of them.
      compress_image: the files were written with `compress_image=True`.
      spec: the items' spec; by default, read from the `.spec` file beside each
        dataset file.

    Raises:
      IOError: a `.spec` file is missing, or the files' specs differ.
    """
    if decoder is None:
        if spec is None:
            spec = _spec_of_files(dataset_files)
        decoder = example_encoding.get_example_decoder(
            spec, compress_image=compress_image
        )

    logging.info("Loading TFRecord dataset...")
    dataset = tf.data.TFRecordDataset(
        dataset_files,
        buffer_size=buffer_size,
        num_parallel_reads=num_parallel_reads or len(dataset_files),
    )

    def decode_with_batch_dim(serialized: tf.Tensor) -> types.NestedTensor:
        return nest_utils.batch_nested_tensors(decoder(serialized))

    autotune = tf.data.AUTOTUNE
    if as_experience:
        dataset = dataset.map(decoder, num_parallel_calls=autotune).batch(
            2, drop_remainder=True
        )
    elif add_batch_dim:
        dataset = dataset.map(decode_with_batch_dim, num_parallel_calls=autotune)
    else:
        dataset = dataset.map(decoder, num_parallel_calls=autotune)

    if as_trajectories:

        def to_trajectory(item: Any) -> trajectory.Trajectory:
            return trajectory.Trajectory(*item)

        dataset = dataset.map(to_trajectory, num_parallel_calls=autotune)
    return dataset

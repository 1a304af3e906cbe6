"""Test helpers: a `TestCase` base and small assertions used across test suites."""

from __future__ import annotations

import os
from collections.abc import Iterable

import gin
import numpy as np
import tensorflow as tf
from absl import flags

FLAGS = flags.FLAGS

__all__ = ["FLAGS", "TestCase", "contains", "main", "test_src_dir_path"]


def contains(list1: Iterable[object], list2: Iterable[object]) -> bool:
    """True if every item of `list2` equals some item of `list1` (arrays allowed)."""
    candidates = list(list1)
    return all(
        any(np.all(np.asarray(item) == np.asarray(other)) for other in candidates)
        for item in list2
    )


def test_src_dir_path(relative_path: str) -> str:
    """A path under the test source tree (``--test_srcdir``).

    Without a source tree it is the installed package's file, so shipped data
    (e.g. `environments/configs/*.gin`) is found from any working directory.
    """
    try:
        root = FLAGS.test_srcdir
    except (flags.UnparsedFlagAccessError, AttributeError):
        root = os.environ.get("TEST_SRCDIR", "")
    if not root:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return os.path.join(root, relative_path)
    return os.path.join(root, "policylib", relative_path)


class TestCase(tf.test.TestCase):
    """`tf.test.TestCase` that isolates gin configuration between tests."""

    def setUp(self) -> None:
        super().setUp()
        tf.compat.v1.enable_resource_variables()
        gin.clear_config()

    def tearDown(self) -> None:
        gin.clear_config()
        super().tearDown()

    def initialize_v1_variables(self) -> None:
        """Initializes global and local variables (graph-mode tests)."""
        variables = tf.compat.v1.global_variables() + tf.compat.v1.local_variables()
        self.evaluate(tf.compat.v1.variables_initializer(variables))


def main() -> None:
    """Runs the tests of the calling module."""
    tf.test.main()

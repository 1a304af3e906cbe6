"""The suite's scheduling across pytest-xdist workers (`tests/xdist_order.py`),
and what keeps any order of files safe on one worker (`tests/conftest.py`)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections import OrderedDict
from pathlib import Path

import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from tests import xdist_order

ROOT = Path(__file__).resolve().parents[1]


def test_split_files_build_nothing_shared_between_their_tests():
    # One unit per test is only safe where no fixture outlives a test: a module
    # or session fixture would be built again on every worker that runs a piece.
    for name in sorted(xdist_order.SPLIT):
        source = (ROOT / name).read_text()
        assert not re.search(r"scope\s*=\s*[\"'](module|session|package)", source), name


def test_every_estimate_names_a_test_file_of_the_suite():
    for scope in xdist_order.SECONDS:
        path = scope.split("::", 1)[0]
        assert (ROOT / path).is_file(), scope
        assert xdist_order.unit_of(scope) == scope  # a file, or a SPLIT file's test


def test_the_installed_xdist_has_what_the_scheduler_reorders():
    assert xdist_order.LongestFirst.supported()


def test_units_go_out_longest_first_and_split_files_test_by_test(monkeypatch):
    monkeypatch.setattr(
        xdist_order,
        "SECONDS",
        {"tests/b.py": 100.0, "tests/test_notebooks.py::test_x[slow]": 60.0},
    )
    scheduler = xdist_order.LongestFirst.__new__(xdist_order.LongestFirst)
    scheduler._ordered = False
    nodeids = [
        "tests/a.py::test_1",
        "tests/a.py::test_2",
        "tests/a.py::test_3",
        "tests/b.py::test_1",
        "tests/test_notebooks.py::test_x[quick]",
        "tests/test_notebooks.py::test_x[slow]",
    ]
    queue: OrderedDict[str, dict[str, bool]] = OrderedDict()
    for nodeid in nodeids:
        queue.setdefault(scheduler._split_scope(nodeid), {})[nodeid] = False
    scheduler.workqueue = queue
    handed = []
    monkeypatch.setattr(
        xdist_order.LoadFileScheduling,
        "_assign_work_unit",
        lambda self, node: handed.append(self.workqueue.popitem(last=False)[0]),
    )
    for _ in range(len(queue)):
        scheduler._assign_work_unit(node=None)
    assert handed == [
        "tests/b.py",  # 100 s
        "tests/test_notebooks.py::test_x[slow]",  # 60 s
        "tests/a.py",  # three tests at the default 0.25 s
        "tests/test_notebooks.py::test_x[quick]",  # one test
    ]


def test_table_sums_a_junit_report_per_unit(tmp_path):
    report = tmp_path / "run.xml"
    report.write_text(
        textwrap.dedent(
            """\
            <testsuites><testsuite>
              <testcase classname="tests.test_cli" name="test_a" time="2.5"/>
              <testcase classname="tests.test_cli" name="test_b" time="1.0"/>
              <testcase classname="tests.test_notebooks" name="test_x[n.ipynb]" time="9"/>
              <testcase classname="tests.test_cli.TestGroup" name="test_c" time="0.5"/>
            </testsuite></testsuites>
            """
        )
    )
    assert xdist_order.table(str(report)) == {
        "tests/test_notebooks.py::test_x[n.ipynb]": 9.0,
        "tests/test_cli.py": 4.0,
    }


def test_the_table_prints_as_python_to_paste(tmp_path):
    report = tmp_path / "run.xml"
    report.write_text(
        '<testsuite><testcase classname="tests.test_cli" name="t" time="3"/></testsuite>'
    )
    printed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "xdist_order.py"), str(report)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == '    "tests/test_cli.py": 3.0,\n'


# tests/conftest.py switches op determinism back off after a test that turned it
# on (the in-process examples do), so no file inherits it from another's test.
def test_a_test_may_turn_op_determinism_on():
    tf.config.experimental.enable_op_determinism()
    assert tf_config.is_op_determinism_enabled()


def test_the_next_test_starts_with_op_determinism_off():
    assert not tf_config.is_op_determinism_enabled()

"""The layering contract: imports point down the layers in pyproject.toml.

`lint-imports` (import-linter) checks it in CI; these tests run it on the real
tree and on a copy with one upward import added, so the contract is known to
fail on the arrow it exists to stop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("importlinter", reason="the layering contract needs import-linter")


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """Runs lint-imports with `policylib` imported from `package_parent`."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_tree_keeps_the_layering_contract() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "policylib",
        tmp_path / "policylib",
        ignore=shutil.ignore_patterns("data", "__pycache__"),
    )
    (tmp_path / "policylib" / "data").mkdir()
    (tmp_path / "policylib" / "data" / "__init__.py").write_text("")
    target = tmp_path / "policylib" / "specs" / "array_spec.py"
    target.write_text(
        target.read_text() + "\nfrom policylib.agents import tf_agent  # noqa\n"
    )
    done = _lint(tmp_path)
    assert done.returncode == 1, done.stdout[-4000:]
    assert "policylib.specs is not allowed to import policylib.agents" in done.stdout

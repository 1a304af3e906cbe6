"""The tutorial notebooks run top to bottom (with short training runs)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["dqn_cartpole.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    monkeypatch.setenv("DQN_ITERATIONS", "300")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "Average return over 20 held-out episodes" in outputs
    assert os.path.isdir(tmp_path / "dqn_cartpole_policy")

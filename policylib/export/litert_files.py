"""The files of a LiteRT export, read without TensorFlow.

`policylib.export.litert.export` writes them; `LiteRTPolicy` reads them in a
process that may have no TensorFlow installed.
"""

from __future__ import annotations

import json
import os
from typing import Any

from policylib.errors import NotAPolicyError
from policylib.export import spec_json

__all__ = ["FORMAT", "MODEL_FILE", "SPECS_FILE", "is_export", "load_specs"]

MODEL_FILE = "policy.tflite"
SPECS_FILE = "specs.json"
FORMAT = "policylib-litert-1"


def is_export(path: str | os.PathLike) -> bool:
    """Whether `path` is a directory holding a LiteRT export."""
    return os.path.isfile(os.path.join(path, SPECS_FILE)) and os.path.isfile(
        os.path.join(path, MODEL_FILE)
    )


def load_specs(export_dir: str) -> dict[str, Any]:
    """The specs file of an export, its spec nests decoded to NumPy specs.

    Raises:
      NotAPolicyError: `export_dir` holds no LiteRT export of a policy.
    """
    path = os.path.join(export_dir, SPECS_FILE)
    model = os.path.join(export_dir, MODEL_FILE)
    if not (os.path.isfile(path) and os.path.isfile(model)):
        raise NotAPolicyError(
            f"{export_dir} is not a LiteRT policy export: it needs {MODEL_FILE} and "
            f"{SPECS_FILE} (written by policylib.export.litert.export)."
        )
    with open(path) as f:
        specs = json.load(f)
    if specs.get("format") != FORMAT:
        raise NotAPolicyError(
            f"{path} has format {specs.get('format')!r}; this policylib reads {FORMAT!r}."
        )
    for key in ("time_step_spec", "action_spec", "policy_state_spec"):
        specs[key] = spec_json.decode(specs[key])
    return specs

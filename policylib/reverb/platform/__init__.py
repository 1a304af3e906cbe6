"""Reverb's `reverb.platform` names: `checkpointers_lib` is `policylib.reverb.checkpointers`."""

from __future__ import annotations

from policylib.reverb import checkpointers as checkpointers_lib

__all__ = ["checkpointers_lib"]

"""Metric values and losses written to the log, one line each, tagged with a step."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from absl import logging

__all__ = ["export_metrics"]


def export_metrics(
    step: Any, metrics: Iterable[Any], loss_info: Any | None = None
) -> None:
    """Logs `[step=S] name = value.` at INFO (absl, as TF-Agents) per metric, then the loss.

    Args:
      step: the round the values belong to (an int or a scalar tensor).
      metrics: objects with `name` and `result()` (TF or Python metrics).
      loss_info: a `LossInfo` whose `loss` is logged too; None logs no loss.
    """
    # format() shows a scalar tensor as its value ("48"), str() would not.
    for metric in metrics:
        logging.info(
            "[step=%s] %s = %s.", format(step), metric.name, format(metric.result())
        )
    if loss_info is not None:
        logging.info("[step=%s] loss = %s.", format(step), format(loss_info.loss))

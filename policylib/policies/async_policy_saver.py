"""`AsyncPolicySaver`: runs a `PolicySaver`'s saves on a background thread.

    saver = async_policy_saver.AsyncPolicySaver(policy_saver.PolicySaver(policy))
    for step in range(num_steps):
        train_step()
        if step % 1000 == 0:
            saver.save(f"policies/policy_{step:09d}")   # returns at once
    saver.close()                                       # waits for the last save

A non-blocking request made while a save is still running is skipped (the
training loop never waits); `blocking=True` waits for it, then saves in the
calling thread. An exception raised on the thread is raised again, chained,
by the next call.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from policylib.policies import policy_saver as policy_saver_lib

__all__ = ["AsyncPolicySaver"]


class AsyncPolicySaver:
    """Saves with a wrapped `PolicySaver` without blocking the caller.

    Other attributes (`signatures`, `get_train_step`, ...) come from the
    wrapped saver.

    Args:
      policy_saver: the `PolicySaver` to run.
    """

    def __init__(self, policy_saver: policy_saver_lib.PolicySaver):
        self._policy_saver = policy_saver
        # Guards the three fields below; never held while a save runs, so a
        # caller only ever waits for it for an instant.
        self._condition = threading.Condition()
        self._request: tuple[str, bool] | None = None  # (export_dir, checkpoint_only)
        self._busy = False  # a save is running (on the thread or a blocking caller)
        self._closing = False
        self._error: BaseException | None = None
        self._save_thread = threading.Thread(
            target=self._save_loop, name="AsyncPolicySaver", daemon=True
        )
        self._save_thread.start()

    def save(self, export_dir: str, blocking: bool = False) -> None:
        """Saves the policy (`PolicySaver.save`) in the background, or now if blocking."""
        self._save(export_dir, checkpoint_only=False, blocking=blocking)

    def save_checkpoint(self, export_dir: str, blocking: bool = False) -> None:
        """Saves a checkpoint (`PolicySaver.save_checkpoint`), like `save`."""
        self._save(export_dir, checkpoint_only=True, blocking=blocking)

    def flush(self) -> None:
        """Waits until no save is in progress."""
        with self._condition:
            self._wait_idle()
        self._raise_pending_error()

    def close(self) -> None:
        """Waits for a save in progress, then stops the thread."""
        with self._condition:
            self._wait_idle()
            self._closing = True
            self._condition.notify_all()
        self._save_thread.join()
        self._raise_pending_error()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_policy_saver":
            raise AttributeError(name)
        return getattr(self._policy_saver, name)

    # ------------------------------------------------------------------------

    def _save(self, export_dir: str, checkpoint_only: bool, blocking: bool) -> None:
        self._check_alive()
        with self._condition:
            if blocking:
                self._wait_idle()
                self._busy = True
            elif self._busy or self._request is not None:
                # Skipped exactly when a save runs or waits: never for a
                # momentarily held lock (the request is then taken).
                logging.info(
                    "AsyncPolicySaver: a save is in progress; skipping %s.", export_dir
                )
                return
            else:
                self._request = (export_dir, checkpoint_only)
                self._condition.notify_all()
                return
        try:
            self._run(export_dir, checkpoint_only)
        finally:
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    def _run(self, export_dir: str, checkpoint_only: bool) -> None:
        if checkpoint_only:
            logging.info("Saving checkpoint to %s", export_dir)
            self._policy_saver.save_checkpoint(export_dir)
        else:
            logging.info("Saving policy to %s", export_dir)
            self._policy_saver.save(export_dir)

    def _save_loop(self) -> None:
        while True:
            with self._condition:
                while self._request is None and not self._closing:
                    self._condition.wait()
                if self._request is None:
                    return
                export_dir, checkpoint_only = self._request
                self._request = None
                self._busy = True
            error: BaseException | None = None
            try:
                self._run(export_dir, checkpoint_only)
            except BaseException as e:  # noqa: BLE001 - reported to the caller
                logging.exception("AsyncPolicySaver: saving to %s failed.", export_dir)
                error = e
            with self._condition:
                self._busy = False
                self._condition.notify_all()
                if error is not None:
                    self._error = error
                    return

    def _wait_idle(self) -> None:
        """With the lock held: waits until no save runs or waits to run."""
        while self._busy or (
            self._request is not None and self._save_thread.is_alive()
        ):
            self._condition.wait()

    def _check_alive(self) -> None:
        self._raise_pending_error()
        if self._closing or not self._save_thread.is_alive():
            raise ValueError(
                "The AsyncPolicySaver's saving thread is not running: the saver was closed."
            )

    def _raise_pending_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise ValueError(
                "The AsyncPolicySaver's saving thread stopped on an error."
            ) from error

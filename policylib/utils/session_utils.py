"""`SessionUser`: a mixin for objects that run ops in a TF1 `tf.compat.v1.Session`."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["SessionUser"]


class SessionUser:
    """Gives a class a `session` property: the one set on it, else the default session.

    Set `obj.session = sess` (needed for monitored sessions, which do not
    install themselves as default), or run inside `with sess.as_default():`.
    """

    _session_user_internal_session: tf.compat.v1.Session | None = None

    @property
    def session(self) -> tf.compat.v1.Session:
        """The session to run ops in.

        Raises:
          AttributeError: none was set and there is no default session.
        """
        if self._session_user_internal_session is not None:
            return self._session_user_internal_session
        default = tf.compat.v1.get_default_session()
        if default is None:
            raise AttributeError(
                f"No TensorFlow session-like object was set on this "
                f"{type(self).__name__!r}, and none could be retrieved using "
                "'tf.get_default_session()'."
            )
        return default

    @session.setter
    def session(self, session: tf.compat.v1.Session | None) -> None:
        self._session_user_internal_session = session

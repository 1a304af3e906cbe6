"""Linear algebra for linear bandits: CG solves and Woodbury inverse updates.

Linear bandits keep, per model, `A = sum x x^T` (plus a ridge term) and need
`A^-1 x` for reward means and confidence widths. `conjugate_gradient` solves
`A X = B` without forming the inverse; `update_inverse` keeps an explicit
inverse up to date after new rows `X` arrive (`A + X^T X`), which for a
single row is the Sherman-Morrison formula.
"""

from __future__ import annotations

import tensorflow as tf

from policylib.typing import types
from policylib.utils import common

__all__ = [
    "batch_conjugate_gradient",
    "conjugate_gradient",
    "simplified_woodbury_update",
    "update_inverse",
]


def _static_dim(shape: tf.TensorShape, index: int) -> int | None:
    return tf.compat.dimension_value(shape[index])


def _check_cg_shapes(a_mat: tf.Tensor, b_mat: tf.Tensor) -> None:
    if a_mat.shape.rank is not None:
        rows, cols = (
            (_static_dim(a_mat.shape, 0), _static_dim(a_mat.shape, 1))
            if a_mat.shape.rank == 2
            else (None, None)
        )
        if a_mat.shape.rank != 2 or (
            rows is not None and cols is not None and rows != cols
        ):
            raise ValueError(
                f"conjugate_gradient: `a_mat` must be a square [n, n] matrix; got "
                f"shape {a_mat.shape}."
            )
    if b_mat.shape.rank is not None and b_mat.shape.rank != 2:
        raise ValueError(
            f"conjugate_gradient: `b_mat` must be a [n, k] matrix; got shape "
            f"{b_mat.shape}."
        )
    if a_mat.shape.rank == 2 and b_mat.shape.rank == 2:
        n_a = _static_dim(a_mat.shape, 1)
        n_b = _static_dim(b_mat.shape, 0)
        if n_a is not None and n_b is not None and n_a != n_b:
            raise ValueError(
                "conjugate_gradient: `a_mat` [n, n] and `b_mat` [n, k] do not match; "
                f"got shapes {a_mat.shape} and {b_mat.shape}."
            )


def conjugate_gradient(
    a_mat: types.Tensor, b_mat: types.Tensor, tol: float = 1e-10
) -> tf.Tensor:
    """Solves `a_mat @ X = b_mat` by conjugate gradients, column by column.

    All `k` right-hand sides iterate together; a column stops moving once its
    residual norm is at most `tol`. At most `n` iterations run (exact in exact
    arithmetic for an SPD matrix).

    Args:
      a_mat: a symmetric positive definite `[n, n]` matrix.
      b_mat: the `[n, k]` right-hand sides.
      tol: residual norm below which a column counts as solved.

    Returns:
      `X`, shaped `[n, k]` like `b_mat`.

    Raises:
      ValueError: `a_mat` is not square or does not match `b_mat`.
    """
    a_mat = tf.convert_to_tensor(a_mat)
    b_mat = tf.convert_to_tensor(b_mat, dtype=a_mat.dtype)
    # Checked here, before tracing: a traced function may relax the shapes.
    _check_cg_shapes(a_mat, b_mat)
    return _conjugate_gradient(a_mat, b_mat, tol)


def batch_conjugate_gradient(
    a_mats: types.Tensor, b_mats: types.Tensor, tol: float = 1e-10
) -> tf.Tensor:
    """`conjugate_gradient` for a stack of systems `a_mats[i] @ X[i] = b_mats[i]`.

    A policylib addition: a linear bandit solves one system per arm, and one
    batched solve costs one set of ops instead of one per arm (so tracing and
    saving a policy with many arms stays fast). Each system's columns stop
    exactly as `conjugate_gradient` stops them.

    Args:
      a_mats: `[m, n, n]` symmetric positive definite matrices.
      b_mats: `[m, n, k]` right-hand sides.
      tol: residual norm below which a column counts as solved.

    Returns:
      `X`, shaped `[m, n, k]`.

    Raises:
      ValueError: the shapes are not `[m, n, n]` and `[m, n, k]`.
    """
    a_mats = tf.convert_to_tensor(a_mats)
    b_mats = tf.convert_to_tensor(b_mats, dtype=a_mats.dtype)
    if a_mats.shape.rank != 3 or b_mats.shape.rank != 3:
        raise ValueError(
            "batch_conjugate_gradient: `a_mats` [m, n, n] and `b_mats` [m, n, k] "
            f"must have rank 3; got shapes {a_mats.shape} and {b_mats.shape}."
        )
    if not (
        a_mats.shape[:1].is_compatible_with(b_mats.shape[:1])
        and a_mats.shape[1:2].is_compatible_with(a_mats.shape[2:3])
        and a_mats.shape[2:3].is_compatible_with(b_mats.shape[1:2])
    ):
        raise ValueError(
            "batch_conjugate_gradient: `a_mats` [m, n, n] and `b_mats` [m, n, k] "
            f"do not match; got shapes {a_mats.shape} and {b_mats.shape}."
        )
    return _conjugate_gradient(a_mats, b_mats, tol)


@common.function
def _conjugate_gradient(a_mat: tf.Tensor, b_mat: tf.Tensor, tol: float) -> tf.Tensor:
    """CG on `[..., n, n]` and `[..., n, k]`; norms and steps are per column."""
    max_iterations = tf.shape(b_mat)[-2]
    tol_sq = tf.cast(tol, b_mat.dtype) ** 2

    def _sq_norms(m: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(m * m, axis=-2)  # [..., k]

    def _rows(v: tf.Tensor) -> tf.Tensor:
        return v[..., tf.newaxis, :]  # [..., k] -> [..., 1, k], over the rows

    def _keep_going(
        i: tf.Tensor, x: tf.Tensor, r: tf.Tensor, p: tf.Tensor, rr: tf.Tensor
    ) -> tf.Tensor:
        del x, r, p
        return tf.logical_and(i < max_iterations, tf.reduce_any(rr > tol_sq))

    def _step(
        i: tf.Tensor, x: tf.Tensor, r: tf.Tensor, p: tf.Tensor, rr: tf.Tensor
    ) -> tuple[tf.Tensor, ...]:
        active = rr > tol_sq  # [..., k]: columns still being solved.
        a_p = tf.matmul(a_mat, p)
        step = _rows(tf.math.divide_no_nan(rr, tf.reduce_sum(p * a_p, axis=-2)))
        x_next = x + step * p
        r_next = r - step * a_p
        rr_next = _sq_norms(r_next)
        p_next = r_next + _rows(tf.math.divide_no_nan(rr_next, rr)) * p
        moving = _rows(active)
        return (
            i + 1,
            tf.where(moving, x_next, x),
            tf.where(moving, r_next, r),
            tf.where(moving, p_next, p),
            tf.where(active, rr_next, rr),
        )

    x0 = tf.zeros_like(b_mat)
    residual = b_mat  # b - A @ 0
    _, x, _, _, _ = tf.while_loop(
        _keep_going,
        _step,
        (tf.constant(0), x0, residual, residual, _sq_norms(residual)),
        parallel_iterations=1,
    )
    return x


def _check_woodbury_shapes(a_inv: tf.Tensor, u: tf.Tensor) -> None:
    if a_inv.shape.rank != 2 or _static_dim(a_inv.shape, 0) != _static_dim(
        a_inv.shape, 1
    ):
        raise ValueError(
            f"`a_inv` must be a square [m, m] matrix; got shape {a_inv.shape}."
        )
    if u.shape.rank != 2:
        raise ValueError(f"`u` must be a [n, m] matrix; got shape {u.shape}.")
    if _static_dim(a_inv.shape, 1) != _static_dim(u.shape, 1):
        raise ValueError(
            "`a_inv` and `u` must be shaped [m, m] and [n, m]; got shapes "
            f"{a_inv.shape} and {u.shape}."
        )


def simplified_woodbury_update(a_inv: types.Float, u: types.Float) -> tf.Tensor:
    """`W` with `inverse(A + u^T u) = a_inv + W`, by the Woodbury identity.

    `W = -(u a_inv)^T (I + u a_inv u^T)^-1 (u a_inv)`; it costs one `[n, n]`
    solve instead of an `[m, m]` inversion. `a_inv` must be symmetric (not
    checked: the result is silently wrong otherwise).

    Args:
      a_inv: the symmetric `[m, m]` inverse of `A`.
      u: `[n, m]` new rows.

    Raises:
      ValueError: the shapes are not `[m, m]` and `[n, m]`.
    """
    a_inv = tf.convert_to_tensor(a_inv)
    u = tf.convert_to_tensor(u, dtype=a_inv.dtype)
    _check_woodbury_shapes(a_inv, u)
    u_a_inv = tf.matmul(u, a_inv)  # [n, m]
    capacitance = tf.eye(tf.shape(u)[0], dtype=u.dtype) + tf.matmul(
        u_a_inv, u, transpose_b=True
    )
    return -tf.matmul(u_a_inv, tf.linalg.solve(capacitance, u_a_inv), transpose_a=True)


def update_inverse(a_inv: types.Float, x: types.Float) -> tf.Tensor:
    """The increment of `inverse(A)` when rows `x` are added: `A + x^T x`.

    Args:
      a_inv: the current symmetric `[d, d]` inverse of `A`.
      x: `[k, d]` new rows; `k` may be 0.

    Returns:
      The `[d, d]` matrix to add to `a_inv`; zeros when `x` has no rows.
    """
    a_inv = tf.convert_to_tensor(a_inv)
    x = tf.convert_to_tensor(x, dtype=a_inv.dtype)
    return tf.cond(
        tf.equal(tf.shape(x)[0], 0),
        lambda: tf.zeros_like(a_inv),
        lambda: simplified_woodbury_update(a_inv, x),
    )

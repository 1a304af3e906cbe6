"""Loaders that turn public classification and rating data sets into bandit data.

The classification loaders return an endless, shuffled `tf.data.Dataset` of
`(context, label)` pairs for `ClassificationBanditEnvironment`; the MovieLens
loader returns the dense user x movie ratings matrix the MovieLens
environments factorize. Every loader reads a local file (a `tf.io.gfile` path;
`.gz` files are decompressed) and reports a missing or malformed file with its
path and, for bad rows, the line number.

    dataset = convert_covertype_dataset("/data/covtype.data")
    env = classification_environment.ClassificationBanditEnvironment(
        dataset, tfd.Independent(tfd.Deterministic(tf.eye(7)), 2), batch_size=8
    )
"""

from __future__ import annotations

import gzip
import io

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.typing import types

__all__ = [
    "COVERTYPE_NUM_CLASSES",
    "COVERTYPE_NUM_FEATURES",
    "MOVIELENS_NUM_MOVIES",
    "MOVIELENS_NUM_USERS",
    "MUSHROOM_NUM_COLUMNS",
    "convert_covertype_dataset",
    "convert_mushroom_csv_to_tf_dataset",
    "load_movielens_data",
    "mushroom_reward_distribution",
]

tfd = tfp.distributions
tfb = tfp.bijectors

# MovieLens 100K: users and movies are numbered from 1.
MOVIELENS_NUM_USERS = 943
MOVIELENS_NUM_MOVIES = 1682

# UCI Covertype: 54 integer features, then the cover type 1..7.
COVERTYPE_NUM_FEATURES = 54
COVERTYPE_NUM_CLASSES = 7

# UCI Mushroom: the label ('e'dible or 'p'oisonous), then 22 categorical features.
MUSHROOM_NUM_COLUMNS = 23
_MUSHROOM_LABELS = ("e", "p")

_COVERTYPE_HINT = (
    "download covtype.data.gz from the UCI Machine Learning Repository "
    "(https://archive.ics.uci.edu/ml/datasets/covertype) and pass its path"
)
_MUSHROOM_HINT = (
    "download agaricus-lepiota.data from the UCI Machine Learning Repository "
    "(https://archive.ics.uci.edu/ml/datasets/mushroom) and pass its path"
)
_MOVIELENS_HINT = (
    "download ml-100k.zip (https://grouplens.org/datasets/movielens/100k/) and "
    "pass the path of its tab-separated u.data file (with delimiter='\\t')"
)


def _read_text(file_path: str, data_set: str, hint: str) -> str:
    """The text of `file_path`; FileNotFoundError naming the data set if absent."""
    path = str(file_path)
    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
        raise FileNotFoundError(f"{data_set} data file not found at {path!r}; {hint}.")
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """`(line number, stripped fields)` of every non-blank line, numbered from 1."""
    return [
        (number, [field.strip() for field in line.split(delimiter)])
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _malformed(path: str, data_set: str, line: int, problem: str) -> ValueError:
    return ValueError(f"Malformed {data_set} file {path!r}, line {line}: {problem}.")


def _one_hot(data: types.Array) -> np.ndarray:
    """One-hot encodes each column of a 2-D categorical array, side by side.

    A column's values are numbered in sorted order, so the encoding does not
    depend on row order.

    Args:
      data: `[num_rows, num_columns]` categories (any sortable values).

    Returns:
      An int32 `[num_rows, sum of distinct values per column]` 0/1 array.
    """
    data = np.asarray(data)
    blocks = [np.zeros([data.shape[0], 0], dtype=np.int32)]
    for column in data.T:
        categories, codes = np.unique(column, return_inverse=True)
        blocks.append(np.eye(len(categories), dtype=np.int32)[codes.reshape(-1)])
    return np.concatenate(blocks, axis=1)


def _validate_mushroom_data(numpy_data: types.Array) -> None:
    """Raises ValueError unless `numpy_data` has 23 columns, label 'e'/'p' first."""
    data = np.asarray(numpy_data)
    if data.ndim != 2 or data.shape[1] != MUSHROOM_NUM_COLUMNS:
        raise ValueError(
            f"Mushroom data must be [rows, {MUSHROOM_NUM_COLUMNS}] (label, then 22 "
            f"features); got shape {data.shape}."
        )
    unknown = sorted(set(data[:, 0].tolist()) - set(_MUSHROOM_LABELS))
    if unknown:
        raise ValueError(
            f"Mushroom labels (first column) must be 'e' or 'p'; got {unknown}."
        )


def _load_mushroom_rows(file_path: str) -> np.ndarray:
    """The mushroom file as a `[rows, 23]` array of single-letter strings."""
    path = str(file_path)
    rows = _rows(_read_text(path, "mushroom", _MUSHROOM_HINT), ",")
    if not rows:
        raise ValueError(f"Mushroom data file {path!r} has no rows.")
    for number, fields in rows:
        if len(fields) != MUSHROOM_NUM_COLUMNS:
            raise _malformed(
                path,
                "mushroom",
                number,
                f"expected {MUSHROOM_NUM_COLUMNS} comma-separated fields (label, "
                f"then 22 features), got {len(fields)}",
            )
        if fields[0] not in _MUSHROOM_LABELS:
            raise _malformed(
                path,
                "mushroom",
                number,
                f"expected the label 'e' or 'p' first, got {fields[0]!r}",
            )
    return np.array([fields for _, fields in rows], dtype=str)


@gin.configurable
def convert_mushroom_csv_to_tf_dataset(
    file_path: str, buffer_size: int = 40000, seed: int | None = None
) -> tf.data.Dataset:
    """The UCI mushroom data as an endless shuffled dataset of `(context, label)`.

    Contexts are the one-hot encoded 22 features (float32); the int32 label is
    1 for edible ('e') and 0 for poisonous ('p') mushrooms, matching the rows
    of `mushroom_reward_distribution`.

    Args:
      file_path: path of `agaricus-lepiota.data` (comma-separated, label first).
      buffer_size: shuffle buffer size.
      seed: shuffle seed, for reproducible order.

    Raises:
      FileNotFoundError: no file at `file_path`.
      ValueError: a line without 23 fields or with a label other than 'e'/'p'.
    """
    data = _load_mushroom_rows(file_path)
    _validate_mushroom_data(data)
    contexts = _one_hot(data[:, 1:]).astype(np.float32)
    labels = (data[:, 0] == "e").astype(np.int32)
    return (
        tf.data.Dataset.from_tensor_slices((contexts, labels))
        .repeat()
        .shuffle(buffer_size=buffer_size, seed=seed)
    )


@gin.configurable
def mushroom_reward_distribution(
    r_noeat: float,
    r_eat_safe: float,
    r_eat_poison_bad: float,
    r_eat_poison_good: float,
    prob_poison_bad: float,
) -> types.Distribution:
    """The `[2, 2]` reward table of the mushroom bandit, as a distribution.

    Rows are classes (0 poisonous, 1 edible), columns actions (0 pass, 1 eat).
    Passing gives `r_noeat`; eating an edible mushroom `r_eat_safe`; eating a
    poisonous one `r_eat_poison_bad` with probability `prob_poison_bad`, else
    `r_eat_poison_good`.

    Raises:
      ValueError: `prob_poison_bad` outside [0, 1].
    """
    if not 0.0 <= prob_poison_bad <= 1.0:
        raise ValueError(f"prob_poison_bad must be in [0, 1]; got {prob_poison_bad}.")
    # Each entry is `loc + scale * poisoned`, where `poisoned` is a Bernoulli
    # draw that can only fire for (poisonous, eat).
    poisoned = tfd.Bernoulli(
        probs=tf.constant([[0.0, prob_poison_bad], [0.0, 0.0]], tf.float32),
        dtype=tf.float32,
    )
    loc = tf.constant([[r_noeat, r_eat_poison_good], [r_noeat, r_eat_safe]], tf.float32)
    scale = tf.constant(
        [[1.0, r_eat_poison_bad - r_eat_poison_good], [1.0, 1.0]], tf.float32
    )
    rewards = tfb.Chain([tfb.Shift(loc), tfb.Scale(scale)])(poisoned)
    return tfd.Independent(rewards, reinterpreted_batch_ndims=2)


def _parse_covertype(path: str, text: str) -> np.ndarray:
    """The covertype rows as an int64 `[rows, 55]` array (checked line by line on error)."""
    num_columns = COVERTYPE_NUM_FEATURES + 1
    try:
        data = np.loadtxt(io.StringIO(text), dtype=np.int64, delimiter=",", ndmin=2)
    except ValueError:
        data = None
    if data is not None and data.shape[1:] == (num_columns,):
        return data
    # Slow path: find the first bad line for the message.
    for number, fields in _rows(text, ","):
        if len(fields) != num_columns:
            raise _malformed(
                path,
                "covertype",
                number,
                f"expected {num_columns} comma-separated fields "
                f"({COVERTYPE_NUM_FEATURES} features and the class), got {len(fields)}",
            )
        for column, field in enumerate(fields, start=1):
            try:
                int(field)
            except ValueError:
                raise _malformed(
                    path,
                    "covertype",
                    number,
                    f"field {column} is not an integer: {field!r}",
                ) from None
    raise ValueError(f"Covertype data file {path!r} has no rows.")


def convert_covertype_dataset(
    file_path: str, buffer_size: int = 40000, seed: int | None = None
) -> tf.data.Dataset:
    """The UCI covertype data as an endless shuffled dataset of `(context, label)`.

    Contexts are the 54 features (float32); labels the cover types shifted to
    0..6 (int32).

    Args:
      file_path: path of `covtype.data` (or `covtype.data.gz`): comma-separated
        integers, 54 features then the class 1..7.
      buffer_size: shuffle buffer size.
      seed: shuffle seed, for reproducible order.

    Raises:
      FileNotFoundError: no file at `file_path`.
      ValueError: a line without 55 integer fields, or a class outside 1..7.
    """
    path = str(file_path)
    data = _parse_covertype(path, _read_text(path, "covertype", _COVERTYPE_HINT))
    classes = data[:, -1]
    bad = np.flatnonzero((classes < 1) | (classes > COVERTYPE_NUM_CLASSES))
    if bad.size:
        # Blank lines are skipped by the parser, so count rows, not lines.
        raise ValueError(
            f"Malformed covertype file {path!r}, data row {bad[0] + 1}: expected "
            f"a class in 1..{COVERTYPE_NUM_CLASSES} last, got {classes[bad[0]]}."
        )
    contexts = data[:, :-1].astype(np.float32)
    labels = (classes - 1).astype(np.int32)
    return (
        tf.data.Dataset.from_tensor_slices((contexts, labels))
        .repeat()
        .shuffle(buffer_size=buffer_size, seed=seed)
    )


def _movielens_id(path: str, number: int, field: str, what: str, limit: int) -> int:
    """A 1-based MovieLens id in [1, limit], as a 0-based index."""
    try:
        value = int(field)
    except ValueError:
        raise _malformed(
            path, "MovieLens", number, f"{what} is not an integer: {field!r}"
        ) from None
    if not 1 <= value <= limit:
        raise _malformed(
            path, "MovieLens", number, f"{what} must be in 1..{limit}, got {value}"
        )
    return value - 1


def load_movielens_data(data_file: str, delimiter: str = ",") -> np.ndarray:
    """The MovieLens 100K ratings as a dense `[943, 1682]` float64 matrix.

    Entry `[u - 1, m - 1]` is user `u`'s rating of movie `m`; unrated pairs
    are 0. A pair rated twice keeps the later line's rating.

    Args:
      data_file: the ratings file: one `user id, item id, rating, timestamp`
        line per rating. MovieLens 100K's `u.data` is tab-separated.
      delimiter: the field separator (`'\\t'` for `u.data`).

    Raises:
      FileNotFoundError: no file at `data_file`.
      ValueError: a line that does not split into those 4 fields, ids out of
        range or a non-numeric rating.
    """
    path = str(data_file)
    rows = _rows(_read_text(path, "MovieLens", _MOVIELENS_HINT), delimiter)
    ratings = np.zeros([MOVIELENS_NUM_USERS, MOVIELENS_NUM_MOVIES])
    for number, fields in rows:
        if len(fields) != 4:
            hint = ""
            if len(fields) == 1 and "\t" in fields[0] and delimiter != "\t":
                hint = (
                    " (MovieLens 100K's u.data is tab-separated: pass delimiter='\\t')"
                )
            raise _malformed(
                path,
                "MovieLens",
                number,
                f"expected 4 fields (user id, item id, rating, timestamp) "
                f"separated by {delimiter!r}, got {len(fields)}: "
                f"{delimiter.join(fields)!r:.80}{hint}",
            )
        user = _movielens_id(path, number, fields[0], "user id", MOVIELENS_NUM_USERS)
        movie = _movielens_id(path, number, fields[1], "item id", MOVIELENS_NUM_MOVIES)
        try:
            ratings[user, movie] = float(fields[2])
        except ValueError:
            raise _malformed(
                path, "MovieLens", number, f"rating is not a number: {fields[2]!r}"
            ) from None
    return ratings

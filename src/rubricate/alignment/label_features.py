"""Cheap text features for label sampling (``label_sampling.py``): hashed word unigrams and
bigrams of a row's input and output (no vocabulary to keep, no model to call), cosine
similarity between rows over them, and a ridge regression of the judge's error over
them, the output's length decile and the judge's score."""

from __future__ import annotations

import itertools
import random
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import lsqr

DIM = 2**16  # hashed n-gram columns: collisions are rare at a few hundred n-grams a row
MAX_CHARS = 20_000  # of each text read: the start of a very long output says enough
LEVELS = 11  # the judge's score, as one of 11 evenly spaced levels of the scale
DECILES = 10
LEVEL_SHIFT = 7919  # a level's copy of an n-gram's column: shifted by a prime
EXTRA = 3.0  # the one-hot columns' weight: a lighter penalty than one n-gram's
MIN_DF = 3  # an n-gram counts in the fit only when this many training rows have it
RIDGES = (1.0, 10.0, 100.0)  # penalties tried, the best by cross-validation
FOLDS = 5
CHUNK = 512  # reference rows compared at once (bounds the dense block)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def grams(input_text: str, output_text: str) -> set[int]:
    """The hashed n-grams of a row: the output's and the input's words and word pairs
    (lower case; the input's apart, so a word of the question is not one of the answer)."""
    found: set[int] = set()
    for tag, text in (("o", output_text), ("i", input_text)):
        words = _WORD.findall(text[:MAX_CHARS].casefold())
        for gram in (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))):
            found.add(zlib.crc32(f"{tag}:{gram}".encode()) % DIM)
    return found


@dataclass(frozen=True)
class Space:
    """Rows as unit vectors: a product of two rows is their cosine similarity."""

    unit: sparse.csr_matrix

    @classmethod
    def of(cls, matrix: sparse.csr_matrix) -> Space:
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = sparse.diags(1 / np.where(norms > 0, norms, 1.0))
        return cls(sparse.csr_matrix(scale @ matrix))

    def closest(self, rows: Sequence[int], others: Sequence[int]) -> np.ndarray:
        """Each of ``rows``' largest similarity to any of ``others`` (0 with none)."""
        best = np.zeros(len(rows))
        mine = self.unit[list(rows)]
        for start in range(0, len(others), CHUNK):
            block = mine @ self.unit[list(others[start : start + CHUNK])].T
            best = np.maximum(best, block.max(axis=1).toarray().ravel())
        return best

    def similarities(self, row: int, others: Sequence[int]) -> np.ndarray:
        if not others:
            return np.zeros(0)
        return np.asarray(self.unit[list(others)] @ self.unit[row].toarray().ravel())


@dataclass(frozen=True)
class Texts:
    """Rows' hashed n-grams: ``binary`` (one per n-gram present) and ``space`` (the same
    as unit vectors: cosine similarity of input and output together)."""

    binary: sparse.csr_matrix
    space: Space
    lengths: np.ndarray  # characters of output

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str]]) -> Texts:
        indptr, indices = [0], []
        for input_text, output_text in rows:
            indices.extend(sorted(grams(input_text, output_text)))
            indptr.append(len(indices))
        cols = np.array(indices, dtype=np.int64)
        ptr = np.array(indptr, dtype=np.int64)
        binary = sparse.csr_matrix((np.ones(len(cols)), cols, ptr), shape=(len(rows), DIM))
        return cls(binary, Space.of(binary), np.array([len(o) for _, o in rows], dtype=float))


def design(
    texts: Texts, judges: Sequence[float | None], low: float, span: float
) -> sparse.csr_matrix:
    """The regression's columns: the binary n-grams, the same again for each level of the
    judge's score (what a word means for the judge's error depends on the score it gave:
    a high score can only be too lenient), then, one-hot and weighted ``EXTRA``, the
    score's level, the output's length decile and the two together."""
    n = len(judges)
    levels = np.array(
        [
            0
            if j is None or span <= 0
            else min(LEVELS - 1, max(0, round((LEVELS - 1) * (j - low) / span)))
            for j in judges
        ],
        dtype=np.int64,
    )
    edges = np.quantile(texts.lengths, np.linspace(0, 1, DECILES + 1)[1:-1]) if n else []
    deciles = np.searchsorted(edges, texts.lengths, side="right")
    coo = texts.binary.tocoo()
    by_level = sparse.csr_matrix(
        (coo.data, (coo.row, (coo.col + levels[coo.row] * LEVEL_SHIFT) % DIM)), shape=(n, DIM)
    )
    columns = np.column_stack(
        [levels, LEVELS + deciles, LEVELS + DECILES + levels * DECILES + deciles]
    )
    extra = sparse.csr_matrix(
        (np.full(3 * n, EXTRA), (np.repeat(np.arange(n), 3), columns.ravel())),
        shape=(n, LEVELS + DECILES + LEVELS * DECILES),
    )
    return sparse.hstack([texts.binary, by_level, extra], format="csr")


@dataclass(frozen=True)
class Fitted:
    columns: np.ndarray  # the design's columns kept (frequent enough)
    weights: np.ndarray
    intercept: float
    rmse: float  # cross-validated

    def predict(self, matrix: sparse.csr_matrix, rows: Iterable[int]) -> np.ndarray:
        return np.asarray(matrix[list(rows)][:, self.columns] @ self.weights) + self.intercept

    def profiles(self, matrix: sparse.csr_matrix) -> Space:
        """Rows as the fit sees them: each feature weighted by how much it moves the
        prediction, so two rows are alike when the same things explain their errors."""
        return Space.of(
            sparse.csr_matrix(matrix[:, self.columns] @ sparse.diags(np.abs(self.weights)))
        )


def fit_ridge(matrix: sparse.csr_matrix, rows: Sequence[int], target: np.ndarray) -> Fitted | None:
    """Ridge regression of ``target`` over ``matrix``'s ``rows``, on the columns at least
    ``MIN_DF`` of them have; the penalty with the lowest cross-validated error of
    ``RIDGES``. None when the target does not vary (nothing to learn)."""
    if len(rows) < FOLDS or float(np.ptp(target)) == 0.0:
        return None
    train = matrix[list(rows)]
    columns = np.flatnonzero(np.asarray((train > 0).sum(axis=0)).ravel() >= MIN_DF)
    train = train[:, columns]
    order = list(range(len(rows)))
    random.Random(len(rows)).shuffle(order)
    folds = [order[k::FOLDS] for k in range(FOLDS)]
    best: tuple[float, float] | None = None
    for ridge in RIDGES:
        squared = 0.0
        for held in folds:
            keep = np.setdiff1d(order, held)
            mean = float(target[keep].mean())
            w = lsqr(train[keep], target[keep] - mean, damp=np.sqrt(ridge))[0]
            squared += float(((train[held] @ w + mean - target[held]) ** 2).sum())
        rmse = float(np.sqrt(squared / len(rows)))
        if best is None or rmse < best[0]:
            best = (rmse, ridge)
    assert best is not None
    mean = float(target.mean())
    weights = lsqr(train, target - mean, damp=np.sqrt(best[1]))[0]
    return Fitted(columns, weights, mean, best[0])

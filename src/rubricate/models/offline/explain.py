"""Explaining one direction of disagreement: first by a row feature, when one holds for most
of its rows; then the rest by reviewers' phrases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, Guideline, Trace
from rubricate.models.offline import wording
from rubricate.models.offline.contrast import MIN_ROWS, Contrast, contrasts
from rubricate.models.offline.features import (
    MIN_FEATURE_RATIO,
    MIN_SHARE,
    Feature,
)
from rubricate.models.offline.grouping import greedy_groups
from rubricate.models.offline.rows import Row


def _best_feature(
    direction: Direction,
    mine: Sequence[Row],
    agreeing: Sequence[Row],
    features: Sequence[Feature],
    existing: Sequence[str],
) -> tuple[Feature, Contrast, list[int]] | None:
    """The feature that explains the most of ``mine`` beyond chance, if one passes the
    discriminative test and holds for at least half of ``mine``."""
    flags = np.array([[f.has(r.trace) for f in features] for r in mine], dtype=bool)
    agree_flags = np.array([[f.has(r.trace) for f in features] for r in agreeing], dtype=bool)
    agree_flags = agree_flags.reshape(len(agreeing), len(features))
    found = contrasts(flags, agree_flags, [r.stratum for r in agreeing], [r.stratum for r in mine])
    best: tuple[Feature, Contrast, list[int]] | None = None
    for column, (feature, contrast) in enumerate(zip(features, found, strict=True)):
        strong = contrast.rate >= MIN_SHARE and contrast.ratio >= MIN_FEATURE_RATIO
        if not (contrast.passes and strong):
            continue
        if wording.repeats(existing, feature.key, feature.advice[direction]):
            continue
        if best is None or contrast.excess > best[1].excess:
            best = (feature, contrast, np.flatnonzero(flags[:, column]).tolist())
    return best


def _incidence(rows: Sequence[Row], columns: dict[str, int]) -> sparse.csr_matrix:
    """Rows × phrases, 1 where the row's comments hold the phrase."""
    indptr, indices = [0], []
    for row in rows:
        indices.extend(sorted(columns[p] for p in row.phrases if p in columns))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), len(columns)))


def _discriminative_phrases(
    rows: Sequence[Row], agreeing: Sequence[Row], existing: Sequence[str]
) -> tuple[dict[str, frozenset[int]], dict[str, Contrast]]:
    """The phrases that pass the discriminative test among ``rows``, with the positions of
    the rows whose comments hold them."""
    positions: dict[str, set[int]] = defaultdict(set)
    for i, row in enumerate(rows):
        for phrase in row.phrases:
            positions[phrase].add(i)
    # Only phrases in MIN_ROWS rows can pass: the others are no test, nor part of the family.
    tested = sorted(p for p, where in positions.items() if len(where) >= MIN_ROWS)
    if not tested:
        return {}, {}
    columns = {phrase: i for i, phrase in enumerate(tested)}
    found = contrasts(
        _incidence(rows, columns),
        _incidence(agreeing, columns),
        [r.stratum for r in agreeing],
        [r.stratum for r in rows],
    )
    rows_of: dict[str, frozenset[int]] = {}
    contrast_of: dict[str, Contrast] = {}
    for phrase, contrast in zip(tested, found, strict=True):
        if contrast.passes and not wording.repeats(existing, phrase):
            rows_of[phrase] = frozenset(positions[phrase])
            contrast_of[phrase] = contrast
    return rows_of, contrast_of


def _guideline(
    text: str, direction: Direction, traces: Sequence[Trace], evidence: str
) -> Guideline:
    return Guideline(text, direction, tuple(sorted(t.row_id for t in traces)), evidence)


def explain_direction(
    direction: Direction,
    mine: Sequence[Row],
    agreeing: Sequence[Row],
    features: Sequence[Feature],
    scale: Scale,
    limit: int,
    existing: Sequence[str],
) -> tuple[list[Guideline], list[str]]:
    """Guidelines and notes for the disagreements ``mine``, all of ``direction``, compared
    with ``agreeing``."""
    if len(mine) < MIN_ROWS:
        where = wording.where(direction, len(mine))
        return [], [f"Only {len(mine)} {where}: too few for a guideline ({MIN_ROWS} needed)."]

    guidelines: list[Guideline] = []
    claimed: set[int] = set()
    best = _best_feature(direction, mine, agreeing, features, existing)
    if best is not None:
        feature, contrast, positions = best
        traces = [mine[i].trace for i in positions]
        text = wording.feature_guideline(feature, direction, traces, scale)
        evidence = wording.feature_evidence(feature, contrast, direction, traces, scale)
        guidelines.append(_guideline(text, direction, traces, evidence))
        claimed.update(positions)

    # Reviewers' phrases explain what no feature did, compared on those rows alone.
    rest = [row for i, row in enumerate(mine) if i not in claimed]
    rows_of, contrast_of = _discriminative_phrases(rest, agreeing, existing)
    groups = greedy_groups(rows_of, contrast_of, limit)
    for group in groups:
        traces = [rest[i].trace for i in group.rows]
        text = wording.phrase_guideline(group.phrase, direction, traces, scale)
        evidence = wording.phrase_evidence(
            group.phrase, group.contrast, direction, bool(claimed), traces, scale
        )
        guidelines.append(_guideline(text, direction, traces, evidence))

    explained = sum(len(g.rows) for g in groups)
    where = wording.where(direction, len(rest))
    explains = " that no row feature explains" if claimed else ""
    among = f"the {len(rest)} {where}{explains}"
    if not rest:
        notes = []
    elif not any(row.commented for row in rest):
        none = "cannot explain it" if len(rest) == 1 else "explain none of them"
        notes = [f"Reviewers left no comments on {among}: their words {none}."]
    elif not explained:
        notes = [
            f"Reviewers' words do not explain {among}."
            if len(rest) == 1
            else f"Reviewers' words explain none of {among}."
        ]
    else:
        notes = [f"Reviewers' words explain {explained} of {among}."]
    return guidelines, notes

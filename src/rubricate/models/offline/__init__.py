"""The offline reflection engine, ``builtin:offline``: guidelines from reviewers' comments and
score patterns, without any language model.

Per direction of disagreement (judge too lenient, too harsh) it tests simple row features
and the phrases reviewers wrote against agreeing rows with the same human scores, groups the
disagreements by the phrase that explains them best (each row in one group at most), and
writes each group as a guideline with its direction, row count, score pattern and rows."""

from __future__ import annotations

from collections.abc import Sequence

from rubricate.domain.scale import Scale
from rubricate.domain.traces import Direction, Distillation, Guideline, Trace
from rubricate.models.offline import wording
from rubricate.models.offline.explain import explain_direction
from rubricate.models.offline.features import row_features
from rubricate.models.offline.rows import read_rows

OFFLINE_ENGINE = "builtin:offline"

ENGINE_NOTE = (
    "Distilled by the built-in offline engine (builtin:offline), without a language model: "
    "guidelines come from reviewers' comments, score patterns and simple row features."
)

__all__ = ["OFFLINE_ENGINE", "distill_offline"]


def distill_offline(
    disagreements: Sequence[Trace],
    agreeing: Sequence[Trace],
    *,
    scale: Scale,
    max_guidelines: int = 8,
    existing: Sequence[str] = (),
) -> Distillation:
    """Distill at most ``max_guidelines`` guidelines, none repeating ``existing``; the same
    traces in any order give the same result."""
    notes = [ENGINE_NOTE]
    directed = [r for r in read_rows(disagreements, scale) if r.trace.direction is not None]
    if len(directed) < len(disagreements):
        notes.append(
            f"{len(disagreements) - len(directed)} disagreement rows whose judge and human "
            "scores are equal were left out."
        )
    if not directed:
        notes.append("There are no disagreements: nothing to distill.")
        return Distillation(guidelines=(), engine=OFFLINE_ENGINE, notes=tuple(notes))

    comparison = read_rows(agreeing, scale)
    if not comparison:
        notes.append(
            "There are no agreeing rows to compare with, so nothing can show what sets the "
            "disagreements apart."
        )
    features = row_features([row.trace for row in (*directed, *comparison)])
    found: list[Guideline] = []
    for direction in Direction:
        mine = [row for row in directed if row.trace.direction is direction]
        if not mine:
            continue
        guidelines, direction_notes = explain_direction(
            direction, mine, comparison, features, scale, max_guidelines, existing
        )
        found.extend(g for g in guidelines if not wording.same_text(existing, g.text))
        notes.extend(direction_notes)

    # Most rows first; the direction and the text settle ties the same way every time.
    found.sort(key=lambda g: (-len(g.row_ids), g.direction.value, g.text))
    kept = tuple(found[: max(0, max_guidelines)])
    if len(found) > len(kept):
        notes.append(f"{len(found) - len(kept)} weaker guidelines were left out.")
    return Distillation(guidelines=kept, engine=OFFLINE_ENGINE, notes=tuple(notes))

"""Which rows of a part verification scores, and what each stands for in the whole
evaluation.

The row pass keeps every disagreement (by the stored judge results) up to a cap, then a
uniform reservoir sample of them, and a uniform reservoir sample of agreeing rows, so a
part is two strata, each known through what was kept and its exact count. A stratum's
rows are drawn at random (seeded), and each drawn row gets the inverse-probability weight
N_h / n_h (rows of the stratum in the part, over rows drawn from it); the part is itself a
random set of input groups, so weighted figures estimate the whole evaluation.

- ``random``: proportional allocation, every row of the part with the same chance (equal
  weights). The selection part uses it: guidelines are decided there by counting rows
  (a sign test), which is only fair to the whole evaluation when every row counts alike.
- ``stratified``: Neyman allocation for the test part's paired difference, assuming a
  row's change has a standard deviation of about 0.5 where the judge disagreed and 0.25
  where it agreed; disagreements are drawn about twice as often as their share, and the
  weights undo it. Reported as stratified whenever the weights differ by more than 5%."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from rubricate.alignment.collecting import Collected, KeptRow
from rubricate.alignment.split import Part
from rubricate.domain.alignment import Design

CHANGE_SD = (0.5, 0.25)  # assumed: disagreeing rows, agreeing rows (Neyman allocation)


@dataclass(frozen=True, slots=True)
class PartSample:
    rows: list[KeptRow]
    weights: list[float]
    design: Design
    population: float  # the part's estimated rows (disagreeing + agreeing)


def strata(found: Collected, part: Part) -> tuple[list[KeptRow], list[KeptRow], float, float]:
    """The part's disagreements and sampled agreeing rows, with each stratum's size."""
    disagreeing = sorted(
        (k for k in found.disagreements if k.part is part), key=lambda k: k.source.row_id
    )
    agreeing = sorted((k for k in found.agreeing if k.part is part), key=lambda k: k.source.row_id)
    kept = len(found.agreeing)
    agreeing_size = found.agreeing_count * len(agreeing) / kept if kept else 0.0
    # All of them are kept up to a cap, beyond it a uniform sample: scaled like the agreeing.
    sampled = len(found.disagreements)
    disagreeing_size = found.disagreements_total * len(disagreeing) / sampled if sampled else 0.0
    return disagreeing, agreeing, disagreeing_size, agreeing_size


def available(found: Collected, part: Part) -> int:
    disagreeing, agreeing, _, _ = strata(found, part)
    return len(disagreeing) + len(agreeing)


def draw(found: Collected, part: Part, size: int, seed: int, *, stratify: bool) -> PartSample:
    """At most ``size`` rows of ``part``, drawn at random within each stratum."""
    disagreeing, agreeing, n_dis, n_agr = strata(found, part)
    shares = (n_dis * CHANGE_SD[0], n_agr * CHANGE_SD[1]) if stratify else (n_dis, n_agr)
    want_dis = round(size * shares[0] / sum(shares)) if sum(shares) > 0 else 0
    take_dis = min(len(disagreeing), want_dis)
    take_agr = min(len(agreeing), size - take_dis)
    take_dis = min(len(disagreeing), size - take_agr)  # what the agreeing side left over
    rng = random.Random(f"{seed}:{part.value}")
    rows = rng.sample(disagreeing, take_dis) + rng.sample(agreeing, take_agr)
    weights = [n_dis / max(take_dis, 1)] * take_dis + [n_agr / max(take_agr, 1)] * take_agr
    order = sorted(range(len(rows)), key=lambda i: rows[i].source.row_id)
    weights = [weights[i] for i in order]
    spread = max(weights) / min(weights) if weights else 1.0
    return PartSample(
        rows=[rows[i] for i in order],
        weights=weights,
        design="random" if spread <= 1.05 else "stratified",
        population=n_dis + n_agr,
    )


def scaled(weights: Sequence[float]) -> list[float]:
    """Weights rescaled to average 1 (the figures only depend on their ratios)."""
    mean = sum(weights) / len(weights) if weights else 1.0
    return [w / mean for w in weights]

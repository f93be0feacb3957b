"""The held-out split: rows are grouped by input, so that the same input never sits on two
sides, and each group goes to the distillation, selection or test part by a seeded hash.
The hash depends only on the input and the seed, so a row's part never depends on which
other rows are present.

When reviewed rows were chosen by the label sampler (``label_sampling.py``), they are not
a random sample of the evaluation, so they cannot all stand for it. The *audit slice* is
then what verification reads: a fixed random share of every evaluation's input groups (a
hash with a fixed salt, so that the sampler and every run agree on it), from which the
sampler draws a share of each round uniformly at random and never targets. Its reviewed
rows are a random sample of the evaluation; its groups go to selection (``SLICE_SELECTION``)
or test, and every other group to distillation (``audited_part``)."""

from __future__ import annotations

import hashlib
from enum import StrEnum

SHARES = (0.5, 0.25, 0.25)  # distillation, selection, test
SLICE_SHARE = 0.55  # of the input groups: the audit slice (above the sampler's audit share)
SLICE_SELECTION = 0.7  # of the slice's groups: selection, which decides (the rest: test)


class Part(StrEnum):
    DISTILL = "distill"
    SELECTION = "selection"
    TEST = "test"


def group_key(input_text: str) -> str:
    """Rows with the same input (ignoring surrounding space and case) form one group."""
    return hashlib.sha256(" ".join(input_text.split()).casefold().encode()).hexdigest()[:16]


def part_of(group: str, seed: int) -> Part:
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < SHARES[0]:
        return Part.DISTILL
    if position < SHARES[0] + SHARES[1]:
        return Part.SELECTION
    return Part.TEST


def _position(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def in_audit_slice(group: str) -> bool:
    """Whether the input group belongs to the audit slice (the same for every seed)."""
    return _position(f"audit-slice:{group}") < SLICE_SHARE


def audited_part(group: str, seed: int) -> Part:
    """A group's part when the reviewed rows were chosen by the sampler: the audit slice
    is checked (selection, which decides, or test), everything else is distilled from."""
    if not in_audit_slice(group):
        return Part.DISTILL
    chosen = _position(f"{seed}:audit-part:{group}") < SLICE_SELECTION
    return Part.SELECTION if chosen else Part.TEST

"""The held-out split: rows are grouped by input, so that the same input never sits on two
sides, and each group goes to the distillation, selection or test part by a seeded hash.
The hash depends only on the input and the seed, so a row's part never depends on which
other rows are present."""

from __future__ import annotations

import hashlib
from enum import StrEnum

SHARES = (0.5, 0.25, 0.25)  # distillation, selection, test


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

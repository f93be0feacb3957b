"""What the statuses of alignment and evaluation runs share: both kinds are in flight
while Pending or Running, and finished in any other status."""

from __future__ import annotations

from enum import StrEnum

IN_FLIGHT = frozenset({"pending", "running"})


class RunState(StrEnum):
    """The base of RunStatus and EvaluationRunStatus (an enum without members of its own)."""

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def in_flight(self) -> bool:
        return self.value in IN_FLIGHT

    @property
    def finished(self) -> bool:
        return not self.in_flight

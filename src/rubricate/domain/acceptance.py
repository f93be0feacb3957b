"""What an accept may do with an Aligned run's result, as one rule for the CLI, the API and
the web: whether there is anything to accept, why a run is unverified (then an accept needs
the user's confirmation), and which proposed guidelines verification did not put forward."""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.domain.alignment import AlignmentResult, Figure, Verification
from rubricate.domain.errors import Conflict


class UnverifiedRun(Conflict):
    """An accept of an unverified run without the user's confirmation. ``reason`` says why
    the run is unverified, in a sentence a person can weigh."""

    def __init__(self, run_id: str, reason: str) -> None:
        self.run_id = run_id
        self.reason = reason
        super().__init__(
            f"run {run_id!r} is not verified: {reason}. Accepting it needs confirmation "
            "(confirm_unverified) that you want these guidelines anyway"
        )


@dataclass(frozen=True, slots=True)
class DroppedGuideline:
    """A proposed guideline that verification did not put forward, and why."""

    id: int
    text: str
    reason: str


def nothing_to_accept(run_id: str, result: AlignmentResult) -> str | None:
    """Why an accept of this result would create nothing new; None when it would."""
    effective = result.effective_guidelines()
    if not result.guidelines:
        proposed = [g for g in result.proposed if not g.existing]
        if proposed:
            return (
                f"nothing to accept: verification put none of run {run_id!r}'s "
                f"{len(proposed)} proposed guideline{'' if len(proposed) == 1 else 's'} "
                "forward (see why each was dropped); reject the run or start another"
            )
        return f"nothing to accept: run {run_id!r} found none (no guideline to propose)"
    if not effective:
        return (
            f"nothing to accept: run {run_id!r} has no guidelines (every guideline is "
            "struck); restore one to accept it, or reject the run"
        )
    edited = {e.guideline_id for e in result.review.edits if e.action == "edit"}
    unchanged = len(effective) == len(result.guidelines) and all(
        g.existing and g.id not in edited for g in effective
    )
    if unchanged:
        return (
            f"nothing to accept: run {run_id!r} puts forward only the guidelines the metric "
            "already has, unchanged; reject the run or start another"
        )
    return None


def unverified_reason(result: AlignmentResult) -> str | None:
    """Why the guidelines an accept would keep were not verified on held-out rows (or the
    held-out rows showed a drop); None for a verified run with no drop."""
    check = result.verification
    if check.status != "verified":
        return _status_reason(check)
    if check.test_drop:
        return f"the held-out test rows show a drop in agreement ({paired_difference(check)})"
    original = {g.id: g.text for g in result.guidelines}
    edited = [g.id for g in result.effective_guidelines() if g.text != original[g.id]]
    if edited:
        named = ", ".join(str(i) for i in edited)
        one = len(edited) == 1
        return (
            f"guideline{'' if one else 's'} {named} {'was' if one else 'were'} edited after "
            f"verification, so its figures do not cover {'it' if one else 'them'}"
        )
    return None


def _status_reason(check: Verification) -> str:
    message = check.message.strip().rstrip(".")
    if check.status == "not run":
        return message or "no judge model was given, so no guideline was checked on held-out rows"
    return f"{check.status}" + (f" ({message})" if message else "")


def paired_difference(check: Verification) -> str:
    """The test rows' paired difference in weighted kappa with its interval, in words."""
    return format_difference(check.difference)


def format_difference(d: Figure | None, *, after_minus_before: bool = True) -> str:
    """The paired difference in weighted kappa and its interval; ``after_minus_before``
    says which way it was taken (a sentence that says so already leaves it out)."""
    if d is None or d.value is None:
        return "no paired difference could be computed"
    way = " after minus before" if after_minus_before else ""
    text = f"weighted kappa {d.value:+.3f}{way}"
    if d.low is not None and d.high is not None:
        text += f", 95% interval {d.low:+.3f} to {d.high:+.3f}"
    return text


def dropped_guidelines(result: AlignmentResult) -> list[DroppedGuideline]:
    """Every proposed guideline that is not among the run's guidelines, with the reason
    verification gave (or a plain one when it gave none)."""
    put_forward = {g.id for g in result.guidelines}
    return [
        DroppedGuideline(
            g.id, g.text, g.dropped_reason or "not put forward by verification (no reason given)"
        )
        for g in result.proposed
        if g.id not in put_forward
    ]

"""How many judge calls verification makes, fixed before it starts, so that ``--dry-run``
can state an upper bound the run never exceeds and the default budget covers the usual
run.

The sizes, and why a statistician could accept them:

- ``SELECTION_ROWS = 150`` rows, scored with the current prompt and with every new
  guideline. Guidelines are decided on these rows only, one at a time, by a one-sided sign
  test on the rows each acted on. A guideline that fixes a blind spot on a fifth of the
  rows acts on ~30 of them; 21 improvements to 9 regressions give p = 0.02, and 24 to 6
  give p = 0.0007, below Holm's strictest level for 8 guidelines (0.05 / 8).
- ``TEST_ROWS = 150`` held-out rows, scored with the current and the chosen prompt, only
  to report the paired difference. Paired on the same rows, the difference in weighted
  kappa has a standard error of about 0.02-0.04 at this size (most rows do not change),
  so a 95% interval is some ±0.05-0.08 wide: enough to tell a real gain from none, and
  the interval is shown, so nobody reads more into it.
- ``ABLATION_ROWS = 40`` rows per guideline at most, for leaving it out. A guideline tried
  after another was dropped needs its rows scored again without the dropped one, and one
  kept before a later drop is tried again, so each guideline is given two trials' worth
  of calls, up to ``ABLATION_CALLS = 320`` in all (the one trial of each of 8 guidelines,
  ``merging.MAX_NEW``, the most a run proposes). Before a run distills, its estimate
  assumes the most; verification plans for the number there are.

Together: 2 x 150 + 2 x 150 + 320 = 920 judge calls, within the default budget of 1,000
calls with 80 to spare for the reflection model. A smaller budget (or one partly spent on
reflection) shrinks all three in proportion; the ablation's share then may not reach every
guideline, and the result names the ones left unchecked."""

from __future__ import annotations

from dataclasses import dataclass

from rubricate.alignment.merging import MAX_NEW
from rubricate.alignment.split import Part

SELECTION_ROWS = 150
TEST_ROWS = 150
ABLATION_ROWS = 40  # per guideline
ABLATION_CALLS = ABLATION_ROWS * MAX_NEW
PART_ROWS = {Part.SELECTION: SELECTION_ROWS, Part.TEST: TEST_ROWS}


@dataclass(frozen=True, slots=True)
class Plan:
    """Rows drawn from each part, and the calls set aside for leaving guidelines out."""

    selection: int
    test: int
    ablation: int

    @property
    def calls(self) -> int:
        """The most judge calls verification makes (the current and a new prompt on both
        parts, plus the ablation's allowance)."""
        return 2 * self.selection + 2 * self.test + self.ablation


def plan(
    calls_left: int | None,
    selection_available: int,
    test_available: int,
    guidelines: int = MAX_NEW,
) -> Plan:
    """The plan for the rows there are, the new guidelines to decide (before distilling:
    the most there can be) and the calls the budget leaves (None: no cap)."""
    selection = min(SELECTION_ROWS, selection_available)
    test = min(TEST_ROWS, test_available)
    rows = min(ABLATION_ROWS, selection)
    full = Plan(selection, test, min(2 * guidelines, MAX_NEW) * rows)
    if calls_left is None or calls_left >= full.calls:
        return full
    share = max(calls_left, 0) / full.calls
    selection, test = int(selection * share), int(test * share)
    return Plan(selection, test, max(calls_left, 0) - 2 * selection - 2 * test)

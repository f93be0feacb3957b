"""`rubricate align show RUN` as a reviewer reads it: supporting rows by the user's ids (at
most 8, then "and N more"), the guidelines verification dropped with the reason, the ones
the budget left unchecked, and the figures as whole-evaluation estimates with the paired
difference and its interval."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.api.test_run_rows_api import demo_row_ids
from tests.service.test_accept_rules import DROPPED, run_with
from tests.web.run_pages_support import raised

from rubricate.demo import build_demo
from rubricate.domain.alignment import GuidelineItem, Verification

if TYPE_CHECKING:
    from conftest import Cli


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_show_names_rows_drops_and_the_paired_difference(cli: Cli) -> None:
    with cli.workspace() as rb:
        build_demo(rb)
        rows = demo_row_ids(rb)
        ids = list(rows)
        kept = GuidelineItem(id=1, text="Penalise refunds.", row_ids=ids[:11], verified=True)
        unchecked = GuidelineItem(id=3, text="Link the help article.", row_ids=ids[20:22])
        dropped = DROPPED.model_copy(update={"row_ids": [ids[40]]})
        check = raised(unchecked=[3])
        run_id = run_with(rb, [kept, unchecked], check, proposed=[kept, dropped, unchecked])
    out = plain(cli.ok("align", "show", run_id).stdout)
    first_eight = ", ".join(rows[i] for i in ids[:8])
    assert f"1. Penalise refunds. — rows {first_eight} and 3 more" in out
    assert "3. Link the help article. (unchecked: the budget ran out before it was tried)" in out
    assert "Dropped by verification (1): 2. Be stricter overall. — lowered agreement" in out
    assert "Estimates for the whole evaluation from 120 held-out test rows (a stratified" in out
    assert (
        "Paired difference: weighted kappa +0.081 after minus before, 95% interval +0.012 "
        "to +0.150: raised agreement." in out
    )


def test_show_says_a_run_was_accepted_unverified(cli: Cli) -> None:
    with cli.workspace() as rb:
        build_demo(rb)
        item = GuidelineItem(id=1, text="Penalise refunds.")
        run_id = run_with(rb, [item], Verification())
        rb.reviews.accept(run_id, confirm_unverified=True)
    out = plain(cli.ok("align", "show", run_id).stdout)
    assert "Accepted unverified, confirmed knowing that no judge model was given, so no " in out

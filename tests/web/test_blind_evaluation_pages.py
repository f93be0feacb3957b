"""The evaluation page, its plot and a row's page hide a blind review queue's rows from
its reviewers (the judge's score, others' scores and comments) until they have reviewed
them; the service decides, so the pages need no rule of their own."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, SignIn

from rubricate import Rubricate
from rubricate.demo import ALIGNED_METRIC, EVALUATION
from rubricate.domain.queues import QueueRequest, Selection
from rubricate.domain.users import Role, User

SECRET = "rex-found-this-one-off-topic"


def test_a_row_page_hides_a_blind_rows_scores_from_its_other_reviewer(
    accounts: Rubricate, sign_in: SignIn
) -> None:
    accounts.users.add("sol", "reviewer", PASSWORD)
    request = QueueRequest(
        "blind", EVALUATION, ALIGNED_METRIC, ("rex", "sol"),
        selection=Selection.RANDOM, sample_size=1, reviews_per_row=2, blind=True,
    )  # fmt: skip
    accounts.queues.create(request, by=User("ada", Role.ADMIN))
    rex = User("rex", Role.REVIEWER)
    row = accounts.queue_reviews.next("blind", rex)
    assert row is not None
    accounts.queue_reviews.submit("blind", rex, row.row_id, 2, SECRET)
    url = f"/evaluations/{EVALUATION}/row?id={row.row_id}&metric={ALIGNED_METRIC}"
    seen_by = {name: sign_in(name).get(url) for name in ("sol", "ada")}
    assert all(r.status_code == 200 for r in seen_by.values())
    assert SECRET not in seen_by["sol"].text and SECRET in seen_by["ada"].text
    page = sign_in("sol").get(f"/evaluations/{EVALUATION}?metric={ALIGNED_METRIC}")
    assert page.status_code == 200 and SECRET not in page.text

"""The web UI's admin-only forms: a reviewer's Edit prompt and pin are refused (403) and
change nothing; an admin's go through."""

from __future__ import annotations

from tests.web.conftest import SignIn, csrf_of

from rubricate import Rubricate

METRIC = "answer_helpfulness"
PAGE = f"/metrics/{METRIC}"


def test_a_reviewer_cannot_edit_a_prompt_or_pin(sign_in: SignIn, accounts: Rubricate) -> None:
    before = (accounts.metrics.get(METRIC), accounts.metrics.versions(METRIC))
    rex = sign_in("rex")
    html = rex.get(PAGE).text  # the admin-only controls are not offered to a reviewer
    assert "Edit prompt" not in html and "Make active" not in html
    token = csrf_of(rex, PAGE)
    edit = rex.post(f"{PAGE}/versions", data={"prompt": "Always answer 5", "csrf_token": token})
    pin = rex.post(f"{PAGE}/pin", data={"version": "1", "csrf_token": token})
    unpin = rex.post(f"{PAGE}/pin", data={"version": "", "csrf_token": token})
    for response in (edit, pin, unpin):
        assert response.status_code == 403, response.text
        assert "only an admin can do this" in response.text
    assert (accounts.metrics.get(METRIC), accounts.metrics.versions(METRIC)) == before


def test_an_admin_can(sign_in: SignIn, accounts: Rubricate) -> None:
    count = len(accounts.metrics.versions(METRIC))
    ada = sign_in("ada")
    assert "Edit prompt" in ada.get(PAGE).text
    token = csrf_of(ada, PAGE)
    edit = ada.post(f"{PAGE}/versions", data={"prompt": "Score {{ output }}", "csrf_token": token})
    assert edit.status_code == 303, edit.text
    assert len(accounts.metrics.versions(METRIC)) == count + 1

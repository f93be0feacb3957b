"""Import a file from the Evaluations page (issue 14): an admin's upload of a dataset zip
makes an evaluation, all of it or nothing; a wrong line is refused naming the file, line
and field, and changes nothing; a check only counts; a reviewer may not import. And the
Export links of a metric version download its prompt in another tool's form."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import SignIn, csrf_of
from tests.web.run_pages_support import text_of

from rubricate import Rubricate
from rubricate.demo import EVALUATION
from rubricate.domain.errors import NotFound
from rubricate.web.app import create_server_app

URL = "/evaluations/import"


@pytest.fixture
def web(demo: Rubricate) -> Iterator[TestClient]:
    app = create_server_app(demo, single_user=True)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client


def exported_zip(client: TestClient) -> bytes:
    """The demo evaluation as the dataset zip the API exports (import reads it back)."""
    response = client.get(f"/api/v1/evaluations/{EVALUATION}/export?layout=dataset")
    assert response.status_code == 200, response.text
    return response.content


def upload(
    client: TestClient, name: str, filename: str, content: bytes, **fields: str
) -> httpx2.Response:
    form = {"name": name, "csrf_token": csrf_of(client, "/evaluations"), **fields}
    return client.post(URL, data=form, files={"file": (filename, content)})


def test_the_form_is_on_the_list_for_an_admin(web: TestClient) -> None:
    page = web.get("/evaluations").text
    assert 'action="/evaluations/import"' in page and 'enctype="multipart/form-data"' in page


def test_a_dataset_zip_makes_an_evaluation(web: TestClient, demo: Rubricate) -> None:
    rows = demo.evaluations.show(EVALUATION).evaluation.row_count
    response = upload(web, "copied", "support.zip", exported_zip(web))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/evaluations/copied"
    assert demo.evaluations.show("copied").evaluation.row_count == rows
    shown = text_of(web.get("/evaluations/copied").text)
    assert f"Import into copied (a new evaluation) added {rows:,} rows" in shown
    # Again: the same data changes nothing, and says so.
    again = upload(web, "copied", "support.zip", exported_zip(web))
    assert again.status_code == 303
    assert f"added nothing new; {rows:,} rows already there" in text_of(
        web.get("/evaluations/copied").text
    )


def test_a_wrong_line_is_refused_by_file_line_and_field(web: TestClient, demo: Rubricate) -> None:
    good = json.dumps({"id": "r1", "input": "q", "output": "a"})
    bad = json.dumps({"id": "r2", "input": "q"})  # no output
    body = f"{good}\n{bad}\n".encode()
    response = upload(web, "broken", "rows.jsonl", body, kind="rows")
    assert response.status_code == 422
    shown = text_of(response.text)
    assert "rows.jsonl:2" in shown and "output" in shown
    assert "/tmp" not in shown and "rubricate-upload-" not in shown  # the uploader's name
    with pytest.raises(NotFound):
        demo.evaluations.show("broken")  # nothing half-imported


def test_a_check_only_counts_and_keeps_nothing(web: TestClient, demo: Rubricate) -> None:
    response = upload(web, "checked", "support.zip", exported_zip(web), dry_run="1")
    assert response.status_code == 200
    shown = text_of(response.text)
    assert "Import into checked (a new evaluation) would add" in shown
    assert "Nothing was kept" in shown
    with pytest.raises(NotFound):
        demo.evaluations.show("checked")


def test_a_file_it_cannot_read_names_the_field(web: TestClient) -> None:
    response = upload(web, "odd", "notes.txt", b"hello")
    assert response.status_code == 422
    assert "field &#39;file&#39;: cannot tell how to read &#39;notes.txt&#39;" in response.text


def test_markup_in_a_refusal_is_escaped(web: TestClient) -> None:
    response = upload(web, "odd", "<img src=x onerror=alert(1)>.txt", b"x")
    assert response.status_code == 422
    assert "<img src=x" not in response.text and "&lt;img src=x" in response.text


def test_a_reviewer_may_not_import(sign_in: SignIn, demo: Rubricate) -> None:
    rex = sign_in("rex")
    assert 'action="/evaluations/import"' not in rex.get("/evaluations").text
    response = upload(rex, "sneaky", "rows.jsonl", b'{"id":"r","input":"q","output":"a"}\n')
    assert response.status_code == 403
    with pytest.raises(NotFound):
        demo.evaluations.show("sneaky")


def test_without_the_csrf_token_nothing_is_imported(web: TestClient, demo: Rubricate) -> None:
    files = {"file": ("rows.jsonl", b'{"id":"r","input":"q","output":"a"}\n')}
    response = web.post(URL, data={"name": "forged", "kind": "rows"}, files=files)
    assert response.status_code == 403
    with pytest.raises(NotFound):
        demo.evaluations.show("forged")


def test_a_version_exports_for_other_tools(web: TestClient) -> None:
    page = web.get("/metrics/answer_helpfulness").text
    link = "/metrics/answer_helpfulness/versions/1/export?format=langfuse"
    assert f'href="{link}"' in page
    langfuse = web.get(link)
    assert langfuse.status_code == 200
    assert "attachment" in langfuse.headers["content-disposition"]
    assert isinstance(json.loads(langfuse.text), dict | list)
    text = web.get("/metrics/answer_helpfulness/versions/1/export?format=text")
    assert text.headers["content-type"].startswith("text/plain")
    mlflow = web.get("/metrics/answer_helpfulness/versions/1/export?format=mlflow")
    assert mlflow.status_code == 200 and "{{ inputs }}" in json.loads(mlflow.text)["instructions"]
    refused = web.get("/metrics/answer_helpfulness/versions/1/export?format=nope")
    assert refused.status_code == 422 and "unknown export format" in refused.text

"""Issue 12: names that the web and the API could not reach (``a/b`` became a 404) are
refused where they are made, naming the parameter; one rule in the domain."""

from __future__ import annotations

import pytest

from rubricate.domain.errors import InvalidInput
from rubricate.domain.names import check_evaluation_name, check_run_id

BAD_EVALUATIONS = [
    "a/b",
    "/",
    "a\\b",
    ".",
    "..",
    "",
    "   ",
    "a\nb",
    "tab\there",
    "nul\x00",
    "x" * 201,
]
GOOD_EVALUATIONS = ["support-march", "Support March 2026", "é", "a.b", "x" * 200, "a?b#c%20"]


@pytest.mark.parametrize("name", BAD_EVALUATIONS)
def test_an_unreachable_evaluation_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_evaluation_name(name)
    assert caught.value.field == "evaluation"
    with pytest.raises(InvalidInput) as named:
        check_evaluation_name(name, field="name")
    assert named.value.field == "name"


@pytest.mark.parametrize("name", GOOD_EVALUATIONS)
def test_a_plain_evaluation_name_is_kept(name: str) -> None:
    assert check_evaluation_name(name) == name


@pytest.mark.parametrize("run_id", ["a/b", "a b", "", ".", "..", "x" * 65, "é", "a\n"])
def test_an_unreachable_run_id_is_refused(run_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_run_id(run_id)
    assert caught.value.field == "run_id"
    assert "run id" in caught.value.message


@pytest.mark.parametrize("run_id", ["run-a", "2026.03_v2", "a" * 64, "support-bot-demo-alignment"])
def test_a_plain_run_id_is_kept(run_id: str) -> None:
    assert check_run_id(run_id) == run_id

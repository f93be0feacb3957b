"""Slow and greedy templates (issue 12): every render runs on an operation budget inside
the sandbox, with a wall-time bound and an output cap, so a hostile template is a clean
error naming the prompt, never a hang. ``check_template`` renders in a subprocess that it
kills when its time is up."""

from __future__ import annotations

import time

import pytest

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.limits import TEMPLATE_CHECK_SECONDS, TEMPLATE_RENDER_SECONDS
from rubricate.scoring import check_template, render_prompt

SCALE = Scale(type="ordinal", min=1.0, max=5.0)
NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
MACRO = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
HOSTILE = [
    pytest.param(NESTED, id="nested-range"),
    pytest.param("{% for i in range(10**9) %}.{% endfor %}", id="huge-range"),
    pytest.param("{{ 'x' * 10**10 }}", id="string-times-huge"),
    pytest.param("{{ ([1] * 100000) * 100000 }}", id="list-times-huge"),
    pytest.param("{{ 9 ** (9 ** 9) }}", id="huge-power"),
    pytest.param("{{ 'a'|center(10**9) }}", id="filter-width"),
    pytest.param("{{ '%999999999d' % 1 }}", id="percent-width"),
    pytest.param("{{ '{:>999999999}'.format(1) }}", id="format-width"),
    pytest.param(MACRO + "{{ f(40) }}", id="macro-doubling"),
    pytest.param("{% for i in range(90000) %}{{ 'xxxxxxxxxx' }}{% endfor %}", id="output-too-long"),
]


def _render(template: str, metadata: dict[str, object] | None = None) -> None:
    render_prompt(template, input="i", output="o", metadata=metadata, scale=SCALE)


@pytest.mark.parametrize("template", HOSTILE)
def test_a_hostile_template_fails_its_check_quickly_with_a_clean_error(template: str) -> None:
    began = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        check_template(template)
    assert caught.value.field == "prompt"
    assert time.monotonic() - began < TEMPLATE_CHECK_SECONDS + 2


@pytest.mark.parametrize("template", HOSTILE)
def test_every_render_has_the_budget(template: str) -> None:
    """A loop behind a branch the check never takes (metadata['slow']) passes the check; the
    render of a row that takes it must fail cleanly and soon, not hang the run."""
    macro = MACRO if template.startswith(MACRO) else ""  # a macro is defined outside the if
    body = template.removeprefix(macro)
    hidden = f"{macro}Score it.\n{{% if metadata and metadata['slow'] %}}{body}{{% endif %}}"
    check_template(hidden)
    began = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        _render(hidden, metadata={"slow": True})
    assert caught.value.field == "prompt"
    assert time.monotonic() - began < TEMPLATE_RENDER_SECONDS + 1


def test_the_budget_is_per_render_and_ordinary_loops_pass() -> None:
    template = (
        "{% for value, name in scale.labels.items() %}{{ value }}={{ name }} {% endfor %}"
        "{% for i in range(1000) %}{{ i }}{% endfor %}{{ 'ab' * 50 }}{{ 2 ** 10 }}"
        "{{ '%5d' % 3 }}{{ input|center(40) }}"
    )
    check_template(template)
    for _ in range(200):  # many renders in a row never add up to one budget
        _render(template)


def test_a_check_stopped_for_time_says_so() -> None:
    # Within the operation budget each render is short; the check's clock is for the rest.
    with pytest.raises(InvalidInput, match="prompt"):
        check_template(NESTED)

"""Template checks and the sandbox: bad templates fail early, with the line, and safely."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from rubricate.domain.errors import InvalidInput
from rubricate.domain.scale import Scale
from rubricate.scoring import VARIABLES, check_template, render_prompt

SCALE = Scale(type="ordinal", min=1.0, max=5.0)


def _render(template: str) -> None:
    render_prompt(template, input="i", output="o", scale=SCALE)


def test_every_documented_variable_is_accepted() -> None:
    template = "\n".join(f"{name}: {{{{ {name} }}}}" for name in sorted(VARIABLES))
    check_template(template)


def test_local_names_are_not_unknown_variables() -> None:
    check_template(
        "{% set intro = 'Judge' %}{{ intro }}\n"
        "{% for value, label in scale.labels.items() %}{{ value }}={{ label }}{% endfor %}"
        "{% for i in range(3) %}{{ loop.index }}{% endfor %}"
    )


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template("Judge {{ output }}.\n\n{% if context %}\nUse {{ context }}.\n")
    assert caught.value.field == "prompt"
    assert caught.value.line == 4
    assert "line 4" in str(caught.value)
    assert "endif" in str(caught.value)  # Jinja's own explanation is kept


def test_unknown_variable_names_the_line_and_suggests_the_right_one() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template("Score it.\nThe response is {{ ouptut }}.")
    assert (caught.value.field, caught.value.line) == ("prompt", 2)
    assert "'ouptut'" in str(caught.value) and "did you mean 'output'" in str(caught.value)


def test_unknown_variable_is_an_error_even_with_a_default() -> None:
    with pytest.raises(InvalidInput, match="unknown variable 'tone'"):
        check_template("{{ tone | default('polite') }}")


def test_render_refuses_what_check_refuses() -> None:
    with pytest.raises(InvalidInput, match="unknown variable"):
        _render("{{ nope }}")


@pytest.mark.parametrize("template", ["", "  \n\t"])
def test_empty_prompt_is_refused(template: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        check_template(template)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ scale.__class__ }}",
        "{{ scale['__dict__'] }}",
        "{{ output | attr('__class__') }}",
        "ok\n{{ metadata._value }}",
    ],
)
def test_private_attributes_are_refused_before_running(template: str) -> None:
    with pytest.raises(InvalidInput, match="private attribute") as caught:
        check_template(template)
    assert caught.value.line == template.count("\n") + 1


def test_sandbox_stops_a_private_attribute_built_at_runtime() -> None:
    # The name is computed, so the static check cannot see it; the sandbox must.
    template = "{% set name = ['_', '_class__'] | join %}{{ output | attr(name) }}"
    with pytest.raises(InvalidInput, match="not allowed in the sandbox") as caught:
        _render(template)
    assert isinstance(caught.value.__cause__, SecurityError)
    # The dry run (in a subprocess: the message, not the cause, comes back) as well.
    with pytest.raises(InvalidInput, match="not allowed in the sandbox"):
        check_template(template)


def test_sandbox_is_immutable() -> None:
    with pytest.raises(InvalidInput) as caught:
        _render("{% set seen = [] %}{{ seen.append(1) }}")
    assert isinstance(caught.value.__cause__, SecurityError)


def test_row_text_is_not_reachable_from_a_template() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        check_template("Score it.\n{{ output.upper() }}")
    with pytest.raises(InvalidInput):
        check_template("{{ input[:20] }}")


def test_runtime_error_names_the_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template("Score it.\n\n{{ 1 / 0 }}")
    assert (caught.value.field, caught.value.line) == ("prompt", 3)
    assert "ZeroDivisionError" in str(caught.value)


def test_dry_run_reaches_every_branch_of_the_optional_fields() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        check_template("{% if context and not expected %}\n{{ 1 / 0 }}\n{% endif %}")


def test_check_with_the_metric_scale() -> None:
    check_template("{{ scale.labels[3] }}", scale=Scale(min=1, max=3, labels={1.0: "a", 3.0: "b"}))
    with pytest.raises(InvalidInput):
        check_template("{{ scale.labels[3] }}", scale=SCALE)

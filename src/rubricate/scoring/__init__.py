"""Scoring prompts: sandboxed templates, rendered with the row's text fenced off as data."""

from rubricate.domain.builtin_prompts import GUIDELINES_SECTION
from rubricate.scoring.render import (
    RenderedPrompt,
    ScaleView,
    check_template,
    imported_prompt,
    render_prompt,
    scale_legend,
    scale_view,
)
from rubricate.scoring.template import VARIABLES

__all__ = [
    "GUIDELINES_SECTION",
    "VARIABLES",
    "RenderedPrompt",
    "ScaleView",
    "check_template",
    "imported_prompt",
    "render_prompt",
    "scale_legend",
    "scale_view",
]

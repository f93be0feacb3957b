"""Scoring prompts: sandboxed templates, rendered with the row's text fenced off as data."""

from rubricate.scoring.render import (
    GUIDELINES_SECTION,
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

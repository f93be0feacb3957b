"""The templates and what every page can use: the signed-in user, the CSRF token, and a
few filters. Autoescaping is on for every template: row text is data, never markup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.responses import HTMLResponse

from rubricate.web.session import CSRF_FIELD, csrf_token, signed_in

TEMPLATES = Path(__file__).parent / "templates"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def plain(value: float) -> str:
    """A setting as the user typed it: 1.5, not 1.500."""
    return f"{value:g}"


def money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}"


def csrf_field(request: Request) -> Markup:
    """The hidden field every form posts: the session's CSRF token (session.check_csrf)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, csrf_token(request)
    )


templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
)
templates.env.filters.update(when=when, number=number, plain=plain, money=money)
templates.env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field, signed_in=signed_in)


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``name`` (a whole page or an htmx fragment) with ``context``."""
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response

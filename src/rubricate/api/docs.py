"""The API's interactive documents at /docs: Swagger UI served from this server, not a
CDN, so the page works offline and under the web UI's Content-Security-Policy (scripts
only from our own files). Swagger UI's files come from the fastapi-offline wheel, which
vendors a current release; FastAPI's own page (``get_swagger_ui_html``) starts it with an
inline script, which that policy forbids, so ours loads a small file of ours instead."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from rubricate.api.roles import DOCS_ASSETS, Access, requires

router = APIRouter(include_in_schema=False, dependencies=[requires(Access.PUBLIC)])


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """Swagger UI over /openapi.json; swagger-init.js reads its settings off the page."""
    return HTMLResponse(_PAGE)


_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rubricate API</title>
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="icon" href="{DOCS_ASSETS}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="{DOCS_ASSETS}/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve /docs and its files on ``app`` (made with ``docs_url=None, redoc_url=None``)."""
    # our start-up script first, then Swagger UI's files as the wheel ships them
    assets = StaticFiles(packages=[("rubricate.api", "docs_static"), ("fastapi_offline", "static")])
    app.mount(DOCS_ASSETS, assets, name="api-docs-assets")
    app.include_router(router)

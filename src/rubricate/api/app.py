"""The app: ``create_app(rb, tokens={"token": "name"})``; every route under /api/v1 needs
``Authorization: Bearer <token>`` unless the app is ``single_user`` (a local server)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from rubricate.api import annotations as annotation_routes
from rubricate.api import audit as audit_routes
from rubricate.api import connectors, docs, errors, evaluations, metrics, run_verify, runs, transfer
from rubricate.api import gold as gold_routes
from rubricate.api import queues as queue_routes
from rubricate.api.auth import Tokens, authenticate
from rubricate.api.bodies import BodyLimit
from rubricate.api.errors import responses
from rubricate.api.local import LOOPBACK_NAMES, LocalOnly
from rubricate.api.queueing import RunQueue
from rubricate.domain.errors import InvalidInput
from rubricate.service.workspace import Rubricate

TOKENS_VARIABLE = "RUBRICATE_API_TOKENS"


def tokens_from_env(value: str | None = None) -> dict[str, str]:
    """``RUBRICATE_API_TOKENS="name:token,name2:token2"`` as {token: name}."""
    text = os.environ.get(TOKENS_VARIABLE, "") if value is None else value
    tokens: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, token = item.partition(":")
        if not sep or not name.strip() or not token.strip():
            raise InvalidInput(
                "each API token is NAME:TOKEN, separated by commas", field=TOKENS_VARIABLE
            )
        tokens[token.strip()] = name.strip()
    return tokens


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _checked_request(request: Request) -> None:
    """An unknown query parameter (a typo such as ``?limt=``) is refused, not ignored, and
    so is a NUL character in a path or query value (no database stores one)."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in str(value):
            raise InvalidInput("text must not contain NUL characters", field=name)
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _query_names(route.dependant)
    for name in request.query_params:
        if name not in known:
            expected = ", ".join(sorted(known)) or "none"
            raise InvalidInput(
                f"unknown query parameter {name!r} (expected: {expected})", field=name
            )


def create_app(
    rb: Rubricate,
    *,
    tokens: Mapping[str, str] | None = None,
    single_user: bool = False,
    run_queue: RunQueue | None = None,
    local_token: str | None = None,
    port: int | None = None,
    host: str | None = None,
) -> FastAPI:
    """The REST API over ``rb``. ``tokens`` maps each API token to a name (who made a
    change); None: read from RUBRICATE_API_TOKENS. ``single_user``: no token needed to
    read; a write needs ``local_token`` (default: a new one, ``app.state.local_token``),
    and only loopback Host names (on ``port``, if given) and same-origin writes are served."""
    known = tokens_from_env() if tokens is None else dict(tokens)
    app = FastAPI(
        title="rubricate",
        version="1",
        summary="Align LLM-as-a-judge metrics with the people who review their work.",
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: ours do not
        redoc_url=None,
    )
    app.state.rubricate = rb
    app.state.tokens = Tokens(known, single_user=single_user)
    app.state.run_queue = run_queue or RunQueue(rb.settings, rb.db)
    app.state.local_token = local_token or secrets.token_urlsafe(32)
    errors.install(app)
    app.add_middleware(BodyLimit)
    if single_user:
        names = LOOPBACK_NAMES | ({host.strip("[]").lower()} if host else set())
        app.add_middleware(LocalOnly, port=port, names=frozenset(names))
    api = APIRouter(
        prefix="/api/v1",
        dependencies=[Depends(authenticate), Depends(_checked_request)],
        responses=responses(401, 422, 503),
    )
    api.include_router(metrics.router)
    api.include_router(evaluations.router)
    api.include_router(annotation_routes.router)
    api.include_router(runs.evaluation_runs)
    api.include_router(runs.alignment_runs)
    api.include_router(run_verify.router)
    api.include_router(transfer.router)
    api.include_router(queue_routes.router)
    api.include_router(gold_routes.router)
    api.include_router(audit_routes.router)
    api.include_router(connectors.router)
    app.include_router(api)
    docs.install(app)
    return app

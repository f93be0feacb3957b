"""Who may call each route: every route of the API and of the web UI declares one access
level as a dependency (``dependencies=[requires(Access.ADMIN)]``) and this module alone
checks it. ``tests/api/test_roles.py`` fails for a route without one, and the roles table
in docs/api.md is generated from the routes (``roles_table``), so the two cannot drift.

Reviewers read everything, annotate rows as themselves, start, cancel and retry runs and
edit guidelines; admins also define metrics and their versions, pin, import, resolve rows
and accept or reject runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from rubricate.api.auth import current_user
from rubricate.domain.errors import Forbidden
from rubricate.domain.users import Role, User


class Access(StrEnum):
    PUBLIC = "public"  # no sign-in: the sign-in page, the API's documents
    REVIEWER = "reviewer"  # any signed-in user
    ADMIN = "admin"


# Where /docs takes Swagger UI's files from (rubricate.api.docs).
DOCS_ASSETS = "/docs-assets"
# Routes that are not FastAPI routes (static files, the OpenAPI document): public.
PUBLIC_MOUNTS = frozenset({"/static", "/openapi.json", DOCS_ASSETS})


def check(user: User, access: Access, request: Request) -> None:
    """The one role check: refuse ``user`` unless its role allows ``access``."""
    if access is Access.ADMIN and user.role is not Role.ADMIN:
        raise Forbidden(
            f"only an admin can do this ({request.method} {request.url.path}); "
            f"{user.name} is a {user.role.value}"
        )


def _public() -> None:
    return None


def requirement(access: Access, user_of: Callable[..., User]) -> Any:
    """A route dependency declaring (and checking) ``access``; ``user_of`` finds the caller
    (an API token or a web session)."""
    if access is Access.PUBLIC:
        dependency: Callable[..., Any] = _public
    else:

        def dependency(request: Request, user: User) -> None:
            check(user, access, request)

        # Real objects, not this module's postponed strings: ``user_of`` is a local name.
        dependency.__annotations__ = {
            "request": Request,
            "user": Annotated[User, Depends(user_of)],
            "return": None,
        }

    setattr(dependency, "access", access)  # noqa: B010 - read back by declared_access
    return Depends(dependency)


def requires(access: Access) -> Any:
    """The API's declaration: ``@router.post(..., dependencies=[requires(Access.ADMIN)])``."""
    return requirement(access, current_user)


def declared_access(route: APIRoute) -> list[Access]:
    """The access levels a route declares (exactly one when it is right)."""
    found = [getattr(dep.call, "access", None) for dep in route.dependant.dependencies]
    return [access for access in found if isinstance(access, Access)]


def routes(app: FastAPI) -> Iterator[tuple[str, str, Access | None]]:
    """(method, path, access) of every route, included routers' too, with their full
    paths; None: not declared (a test fails)."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, APIRoute):
            declared = declared_access(route)
            access = declared[0] if len(declared) == 1 else None
            for method in sorted(route.methods or ()):
                yield method, path, access
        else:
            yield "GET", path, Access.PUBLIC if path in PUBLIC_MOUNTS else None


def roles_table(app: FastAPI) -> str:
    """The markdown table of docs/api.md: who may call each route."""
    lines = ["| Method and path | Who may call it |", "|---|---|"]
    order = {"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3}
    for method, path, access in sorted(
        routes(app), key=lambda r: (not r[1].startswith("/api/"), r[1], order.get(r[0], 9))
    ):
        lines.append(f"| `{method} {path}` | {access.value if access else 'UNDECLARED'} |")
    return "\n".join(lines) + "\n"

"""The workspace a request works on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rubricate.service.workspace import Rubricate


def _workspace(request: Request) -> Rubricate:
    rb: Rubricate = request.app.state.rubricate
    return rb


Workspace = Annotated[Rubricate, Depends(_workspace)]

"""Every list is paged: ``?offset=&limit=`` (default 50, at most 500), answered with
``{"items": [...], "offset", "limit", "total"}``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

if TYPE_CHECKING:
    from rubricate.service.evaluation_reads import Listing

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
S = TypeVar("S")
M = TypeVar("M", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    offset: int
    limit: int
    total: int


class Paging(BaseModel):
    offset: int
    limit: int


def _paging(
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (at most 500).")
    ] = DEFAULT_LIMIT,
) -> Paging:
    return Paging(offset=offset, limit=limit)


PageParams = Annotated[Paging, Depends(_paging)]


def page_of(items: Sequence[S], paging: Paging, convert: Callable[[S], T]) -> Page[T]:
    """A page of a list held in memory."""
    chosen = items[paging.offset : paging.offset + paging.limit]
    return Page[T](
        items=[convert(item) for item in chosen],
        offset=paging.offset,
        limit=paging.limit,
        total=len(items),
    )


def listed_page(found: Listing[S], paging: Paging, out: type[M]) -> Page[M]:
    """A page the database cut, each item read into ``out``."""
    return Page[M](
        items=[out.model_validate(item) for item in found.items],
        offset=paging.offset,
        limit=paging.limit,
        total=found.total,
    )

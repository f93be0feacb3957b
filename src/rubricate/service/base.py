"""What every use case holds: the workspace's database and, for those that call models or
queue runs, its settings too; the workspace builds each on first use (``LazyService``)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from rubricate.settings import Settings
    from rubricate.store.database import Database


class Service:
    """A use case over one database."""

    def __init__(self, db: Database) -> None:
        self._db = db


class ConfiguredService(Service):
    """A use case that also reads the settings (judge models, limits, the worker queue)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db)
        self._settings = settings


class _Workspace(Protocol):
    """What a ``LazyService`` needs of its owner (rubricate.service.workspace.Rubricate)."""

    db: Database
    settings: Settings
    __dict__: dict[str, Any]


S = TypeVar("S", bound=Service)


class LazyService(Generic[S]):
    """A workspace attribute that builds its service the first time it is read, then keeps
    it (as ``functools.cached_property`` does), importing the service's module only then: a
    command imports only the services it calls. ``where`` is ``"module:Class"``, the module
    in rubricate.service; annotate the attribute ``LazyService[Class]``."""

    def __init__(self, where: str) -> None:
        module, _, self._name = where.partition(":")
        self._module = f"rubricate.service.{module}"
        self._attribute = self._name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self._attribute = attribute

    @overload
    def __get__(self, workspace: None, owner: type) -> LazyService[S]: ...

    @overload
    def __get__(self, workspace: _Workspace, owner: type) -> S: ...

    def __get__(self, workspace: _Workspace | None, owner: type) -> LazyService[S] | S:
        if workspace is None:
            return self
        kind: type[S] = getattr(import_module(self._module), self._name)
        built = (
            kind(workspace.db, workspace.settings)
            if issubclass(kind, ConfiguredService)
            else kind(workspace.db)
        )
        workspace.__dict__[self._attribute] = built  # read from the instance from now on
        return built

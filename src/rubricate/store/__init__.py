"""Storage: SQLAlchemy tables, the database handle, repositories, Alembic migrations."""

from rubricate.store.database import Database

__all__ = ["Database"]

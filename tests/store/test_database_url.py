"""Database URLs: plain postgresql:// uses psycopg 3; others are refused by name."""

from __future__ import annotations

import pytest

from rubricate.domain.errors import InvalidInput
from rubricate.store.database import Database, normalize_url


def test_plain_postgresql_url_uses_psycopg() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_name_the_setting(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_url(url)
    assert caught.value.field == "database_url"


def test_describe_hides_the_password() -> None:
    db = Database("postgresql://user:s3cret@127.0.0.1/db")
    try:
        assert "s3cret" not in db.describe()
        assert "user" in db.describe()
    finally:
        db.dispose()

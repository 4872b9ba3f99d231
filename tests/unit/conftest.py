"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from chatapp.storage.db import init_db, make_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A fresh database with every table of the app, on SQLite and on PostgreSQL."""
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()

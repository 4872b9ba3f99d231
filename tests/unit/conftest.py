"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from chatapp.storage.db import init_db, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh SQLite database with every table of the app."""
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    init_db(engine)
    return engine

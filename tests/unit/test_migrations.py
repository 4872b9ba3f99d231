"""The schema is made and upgraded by Alembic on SQLite and PostgreSQL: a new database gets
exactly what the models describe, databases made by older versions are upgraded in place
with every row kept, and replicas starting at once never migrate twice."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, UniqueConstraint, create_engine, inspect, text

from chatapp.services import conversations as convs
from chatapp.services import documents
from chatapp.storage import jobs as job_store
from chatapp.storage import migrations
from chatapp.storage.db import (
    Base,
    import_feature_modules,
    init_db,
    make_engine,
    session_scope,
)
from chatapp.storage.vectors import POSTGRES_METADATA
from chatapp.users import LOCAL_OWNER

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def sqlite_from_dump(tmp_path: Path, dump: str) -> Engine:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((FIXTURES / dump).read_text(encoding="utf-8"))
    return make_engine(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """An empty database (no tables at all) on each kind of server."""
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    return make_engine(request.getfixturevalue("postgres_url"))


def differences(engine: Engine) -> list[object]:
    """What Alembic would still change to make the database match the models.

    A SQLite file made before Alembic keeps its unnamed unique constraints (SQLite cannot
    rename one without copying the table); one on the same columns counts as the same.
    """
    import_feature_modules()
    models = [Base.metadata]
    if engine.dialect.name == "postgresql":
        models.append(POSTGRES_METADATA)  # document vectors: pgvector on PostgreSQL only
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), models)  # type: ignore[arg-type]
        inspector = inspect(connection)
        return [d for d in found if not _same_unnamed_unique(inspector, d)]


def _same_unnamed_unique(inspector: object, difference: object) -> bool:
    if not (isinstance(difference, tuple) and difference[0] == "add_constraint"):
        return False
    constraint = difference[1]
    if not isinstance(constraint, UniqueConstraint):
        return False
    wanted = {c.name for c in constraint.columns}
    return any(
        u["name"] is None and set(u["column_names"]) == wanted
        for u in inspector.get_unique_constraints(constraint.table.name)
    )  # type: ignore[attr-defined]


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


def test_the_migrations_form_one_line_with_one_head() -> None:
    heads = migrations._scripts().get_heads()
    assert heads == [migrations.head_revision()]


def test_a_new_database_gets_exactly_the_schema_the_models_describe(empty_engine: Engine) -> None:
    init_db(empty_engine)
    assert differences(empty_engine) == []
    assert revision(empty_engine) == migrations.head_revision()


def test_a_second_start_changes_nothing(empty_engine: Engine) -> None:
    init_db(empty_engine)
    conversation = convs.create_conversation(empty_engine, None, owner=LOCAL_OWNER)
    init_db(empty_engine)
    assert revision(empty_engine) == migrations.head_revision()
    assert [c.id for c in convs.list_conversations(empty_engine, owner=LOCAL_OWNER)] == [
        conversation.id
    ]


def test_the_chat_database_of_november_2026_is_upgraded_in_place(tmp_path: Path) -> None:
    engine = sqlite_from_dump(tmp_path, "chat_db_2026_11.sql")
    assert revision(engine) is None and not inspect(engine).has_table("doc_collections")
    init_db(engine)
    assert revision(engine) == migrations.head_revision()
    assert differences(engine) == []
    assert [m.content for m in convs.list_messages(engine, 1, owner=LOCAL_OWNER)][:2] == [
        "Where is the treasure?",
        "Arr, under the palm tree.",
    ]


def test_a_database_made_by_create_all_before_alembic_keeps_every_row(tmp_path: Path) -> None:
    engine = sqlite_from_dump(tmp_path, "app_db_2026_12_01.sql")
    init_db(engine)
    assert revision(engine) == migrations.head_revision()
    assert differences(engine) == []
    messages = convs.list_messages(engine, 1, owner=LOCAL_OWNER)
    assert [m.content for m in messages] == ["Summarise the notes", "Three changes."]
    assert messages[1].persona_key == ("Reviewer", "🧐", "You review.")
    [collection] = documents.list_collections(engine, owner=LOCAL_OWNER)
    assert collection.name == "Handbook"
    # Revisions copy doc_collections (SQLite batch mode); its files and questions survive.
    assert [f.filename for f in documents.list_files(engine, collection.id, owner=LOCAL_OWNER)] == [
        "handbook.pdf"
    ]
    assert [q["question"] for q in documents.history(engine, collection.id, owner=LOCAL_OWNER)] == [
        "Holidays?"
    ]
    with session_scope(engine) as session:
        result = job_store.get_result(session, "req_1", LOCAL_OWNER)
        assert result is not None and result.data == "hi"
    with session_scope(engine) as session:
        assert [job.request_id for job in job_store.list_jobs(session, LOCAL_OWNER)] == ["req_1"]


def test_deleting_a_collection_in_an_upgraded_database_still_cascades(tmp_path: Path) -> None:
    engine = sqlite_from_dump(tmp_path, "app_db_2026_12_01.sql")
    init_db(engine)
    with engine.begin() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        connection.execute(text("DELETE FROM doc_collections"))
        assert connection.execute(text("SELECT count(*) FROM doc_files")).scalar() == 0


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_two_replicas_starting_at_once_on_postgresql_migrate_one_after_the_other(
    postgres_url: str,
) -> None:
    holder = create_engine(postgres_url)
    errors: list[BaseException] = []

    def start() -> None:
        engine = make_engine(postgres_url)
        try:
            init_db(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    with holder.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": migrations.LOCK_KEY})
        replicas = [threading.Thread(target=start) for _ in range(2)]
        for replica in replicas:
            replica.start()
        with holder.connect() as probe:
            wait_for(lambda: probe.execute(waiting).scalar() == 2)
            assert not inspect(probe).has_table("chat_messages")  # both are waiting
        lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": migrations.LOCK_KEY})
        for replica in replicas:
            replica.join(timeout=120)
    assert errors == []
    with holder.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine = make_engine(postgres_url)
    assert revision(engine) == migrations.head_revision() and differences(engine) == []
    holder.dispose()
    engine.dispose()


def test_the_app_and_the_webhook_receiver_starting_at_once_on_sqlite_both_start(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    errors: list[BaseException] = []
    ready = threading.Barrier(4)

    def start() -> None:
        engine = make_engine(url)
        try:
            ready.wait()
            init_db(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    starters = [threading.Thread(target=start) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=120)
    assert errors == []
    engine = make_engine(url)
    assert revision(engine) == migrations.head_revision() and differences(engine) == []

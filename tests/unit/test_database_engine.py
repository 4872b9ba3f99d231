"""The database URL: PostgreSQL URLs as providers print them work, and the app's engine on
PostgreSQL stores what SQLite stores (time zones, binary data, JSON, booleans, ids)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine

from chatapp.services import conversations as convs
from chatapp.storage import conversations as chat_store
from chatapp.storage import documents as doc_store
from chatapp.storage.conversations import get_avatar_image, put_avatar_image
from chatapp.storage.db import make_engine, session_scope
from chatapp.users import LOCAL_OWNER


def test_postgresql_urls_without_a_driver_use_psycopg(postgres_url: str) -> None:
    bare = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    for url in (bare, bare.replace("postgresql://", "postgres://")):
        engine = make_engine(url)
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        engine.dispose()


def test_sqlite_urls_are_left_as_they_are(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert engine.dialect.name == "sqlite"


def test_stored_values_read_back_the_same_on_every_database(engine: Engine) -> None:
    png = bytes(range(256))
    created = datetime(2026, 12, 1, 18, 0, 0, 123456, tzinfo=timezone.utc)
    with session_scope(engine) as session:
        put_avatar_image(session, "a" * 16, png)
        row = doc_store.add_collection(
            session, name="Ünïcode ✓", embed_model="m", created_at=created, owner=LOCAL_OWNER
        )
        collection_id = row.id
    conversation = convs.create_conversation(engine, None, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conversation.id, "hi", owner=LOCAL_OWNER)
    answer = convs.start_answer(
        engine, conversation.id, {"kind": "model_apis", "n": [1, 2.5]}, owner=LOCAL_OWNER
    )
    convs.finish_answer(
        engine,
        answer,
        text="ok",
        reasoning="",
        status="complete",
        metrics={"ttft_s": 0.25, "nested": {"ok": True}},
        owner=LOCAL_OWNER,
    )
    with session_scope(engine) as session:
        assert get_avatar_image(session, "a" * 16) == png
        stored = doc_store.get_collection(session, collection_id, LOCAL_OWNER)
        assert stored is not None and stored.name == "Ünïcode ✓"
        when = stored.created_at
        assert (when if when.tzinfo else when.replace(tzinfo=timezone.utc)) == created
    [question, reply] = convs.list_messages(engine, conversation.id, owner=LOCAL_OWNER)
    assert question.id < reply.id
    assert reply.metrics is not None and reply.metrics["nested"] == {"ok": True}
    with session_scope(engine) as session:
        assert (
            chat_store.get_conversation(session, conversation.id, LOCAL_OWNER).title_is_default
            is False
        )  # titled by "hi"

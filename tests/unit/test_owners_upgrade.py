"""A database made by the app before rows had owners keeps every row when it is upgraded: the
rows belong to the single user (``local``), and once sign-in is on, to the person named by
BASETEN_CHAT_ADMIN_EMAIL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from chatapp.services import conversations as convs
from chatapp.services import documents as docs
from chatapp.services import jobs, personas
from chatapp.services.embedders import EmbedSpec
from chatapp.settings import AppConfig
from chatapp.storage import migrations
from chatapp.storage.db import init_db, make_engine
from chatapp.storage.owners import OWNED_TABLES, claim_local_data
from chatapp.users import LOCAL_OWNER

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "app_db_2026_12.sql"
ADMIN = "admin@example.com"
ORPHAN = "2" * 32  # a result for a request this app never submitted


def todays_database(tmp_path: Path) -> Engine:
    """A SQLite file with every table and row as the app wrote them on 2026-12-01."""
    path = tmp_path / "today.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    return make_engine(f"sqlite:///{path}")


def owners_of(engine: Engine, table: str) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text(f"SELECT owner FROM {table} ORDER BY id")))


def counts(engine: Engine) -> dict[str, int]:
    tables = (
        "chat_personas",
        "chat_conversations",
        "chat_messages",
        "chat_message_images",
        "doc_collections",
        "doc_files",
        "doc_questions",
        "jobs",
        "webhook_results",
    )
    with engine.connect() as connection:
        return {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}


def test_an_upgraded_database_keeps_every_row_and_gives_it_to_the_single_user(
    tmp_path: Path,
) -> None:
    engine = todays_database(tmp_path)
    assert "owner" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    before = counts(engine)
    init_db(engine)
    init_db(engine)  # a second start changes nothing
    assert counts(engine) == before
    for table in ("chat_conversations", "doc_collections", "jobs"):
        assert set(owners_of(engine, table)) == {LOCAL_OWNER}
    assert owners_of(engine, "chat_personas")[0] == LOCAL_OWNER  # the one made by hand
    assert set(owners_of(engine, "chat_personas")[1:]) == {""}  # built-ins are nobody's
    assert owners_of(engine, "webhook_results") == [LOCAL_OWNER, ""]  # the orphan: nobody's
    for table in OWNED_TABLES:
        indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes(table)}
        assert ("owner",) in indexes


def test_the_single_user_still_sees_everything_after_the_upgrade(tmp_path: Path) -> None:
    engine = todays_database(tmp_path)
    init_db(engine)
    conversations = convs.list_conversations(engine, owner=LOCAL_OWNER)
    assert [c.title for c in conversations] == [
        "Where is the gold?",
        "Summarise the November release",
    ]
    messages = convs.list_messages(engine, conversations[1].id, owner=LOCAL_OWNER)
    assert messages[1].content == "Faster uploads and a jobs page."
    assert "Release notes writer" in [
        p.name for p in personas.list_personas(engine, owner=LOCAL_OWNER)
    ]
    [handbook] = docs.list_collections(engine, owner=LOCAL_OWNER)
    assert [f.filename for f in docs.list_files(engine, handbook.id, owner=LOCAL_OWNER)] == [
        "handbook.md"
    ]
    assert docs.history(engine, handbook.id, owner=LOCAL_OWNER)[0]["answer"] == "25 [1]."
    rows = {r.request_id: r for r in jobs.list_rows(engine, owner=LOCAL_OWNER)}
    assert rows["1" * 32].job is not None and rows["1" * 32].result is not None
    assert rows[ORPHAN].job is None  # still listed without sign-in, as before


def test_with_sign_in_the_admin_takes_over_the_single_users_data(tmp_path: Path) -> None:
    engine = todays_database(tmp_path)
    init_db(engine)
    moved = claim_local_data(engine, ADMIN)
    assert moved == {
        "chat_conversations": 2,
        "chat_personas": 1,
        "doc_collections": 1,
        "jobs": 1,
        "webhook_results": 1,
    }
    assert convs.list_conversations(engine, owner=LOCAL_OWNER) == []
    assert len(convs.list_conversations(engine, owner=ADMIN)) == 2
    [handbook] = docs.list_collections(engine, owner=ADMIN)
    assert len(docs.list_files(engine, handbook.id, owner=ADMIN)) == 1
    assert len(docs.history(engine, handbook.id, owner=ADMIN)) == 1
    assert "Release notes writer" in [p.name for p in personas.list_personas(engine, owner=ADMIN)]
    assert [r.request_id for r in jobs.list_rows(engine, owner=ADMIN)] == ["1" * 32]
    assert jobs.list_rows(engine, owner="bob@example.com") == []  # the orphan: nobody's
    assert claim_local_data(engine, ADMIN) == {}  # a second start moves nothing


def test_a_collection_name_the_admin_already_uses_is_kept_under_a_new_name(tmp_path: Path) -> None:
    engine = todays_database(tmp_path)
    init_db(engine)
    docs.create_collection(engine, "Handbook", EmbedSpec(), owner=ADMIN)
    claim_local_data(engine, ADMIN)
    names = sorted(c.name for c in docs.list_collections(engine, owner=ADMIN))
    assert names == ["Handbook", "Handbook (from before sign-in)"]


def test_after_the_upgrade_collection_names_are_unique_per_user_only(tmp_path: Path) -> None:
    engine = todays_database(tmp_path)
    init_db(engine)
    docs.create_collection(engine, "Handbook", EmbedSpec(), owner="bob@example.com")
    assert [c.name for c in docs.list_collections(engine, owner="bob@example.com")] == ["Handbook"]
    [handbook] = docs.list_collections(engine, owner=LOCAL_OWNER)
    assert len(docs.list_files(engine, handbook.id, owner=LOCAL_OWNER)) == 1  # files kept


def test_the_admin_setting_applies_only_when_sign_in_is_configured() -> None:
    signed = AppConfig.load(
        {
            "auth": {"redirect_uri": "http://localhost:8501/oauth2callback"},
            "BASETEN_CHAT_ADMIN_EMAIL": " Admin@Example.com ",
        },
        environ={},
    )
    assert signed.local_data_owner == ADMIN
    laptop = AppConfig.load({}, environ={"BASETEN_CHAT_ADMIN_EMAIL": ADMIN})
    assert laptop.local_data_owner is None
    unnamed = AppConfig.load({"auth": {"redirect_uri": "x"}}, environ={})
    assert unnamed.local_data_owner is None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_at_baseline(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A database at the schema before owners (revision 0001), with rows of each kind."""
    url = (
        f"sqlite:///{tmp_path / 'baseline.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(migrations.alembic_config(connection), "0001")
        for statement in BASELINE_ROWS:
            connection.execute(text(statement))
    return engine


BASELINE_ROWS = (
    "INSERT INTO chat_personas (id, name, avatar, system_prompt, builtin_key, created_at, "
    "updated_at) VALUES (1, 'Pirate', 'P', 'Arr.', 'pirate', '2026-12-01', '2026-12-01'), "
    "(2, 'Mine', 'M', 'Mine.', NULL, '2026-12-01', '2026-12-01')",
    "INSERT INTO chat_conversations (id, title, title_is_default, persona_name, "
    "persona_avatar, system_prompt, created_at, updated_at) VALUES (1, 'Old chat', false, "
    "'', 'P', '', '2026-12-01', '2026-12-01')",
    "INSERT INTO doc_collections (id, name, embed_kind, embed_model, chunk_size, "
    "chunk_overlap, created_at) VALUES ('c1', 'Handbook', 'local', 'm', 256, 32, "
    "'2026-12-01')",
    "INSERT INTO jobs (id, request_id, submitted_at, target_label, target_json, "
    "model_input_json, priority, max_time_in_queue_s, status, webhook_status) VALUES "
    "(1, 'r1', '2026-12-01', 't', '{}', '{}', 0, 600, 'SUCCEEDED', 'SUCCEEDED')",
    "INSERT INTO webhook_results (id, request_id, received_at, data_json, errors_json, "
    "signed, raw_body) VALUES (1, 'r1', '2026-12-01', '1', '[]', 1, '{}'), "
    "(2, 'r2', '2026-12-01', '2', '[]', 1, '{}')",
)


def test_the_owner_migration_keeps_rows_and_gives_them_owners_on_sqlite_and_postgresql(
    database_at_baseline: Engine,
) -> None:
    engine = database_at_baseline
    init_db(engine)
    assert owners_of(engine, "chat_personas") == ["", LOCAL_OWNER]
    assert owners_of(engine, "chat_conversations") == [LOCAL_OWNER]
    assert owners_of(engine, "jobs") == [LOCAL_OWNER]
    assert owners_of(engine, "webhook_results") == [LOCAL_OWNER, ""]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT owner FROM doc_collections")) == LOCAL_OWNER
    docs.create_collection(engine, "Handbook", EmbedSpec(), owner=ADMIN)  # unique per owner
    moved = claim_local_data(engine, ADMIN)
    assert moved["doc_collections"] == 1
    assert sorted(c.name for c in docs.list_collections(engine, owner=ADMIN)) == [
        "Handbook",
        "Handbook (from before sign-in)",
    ]
    assert [c.title for c in convs.list_conversations(engine, owner=ADMIN)] == ["Old chat"]
    engine.dispose()

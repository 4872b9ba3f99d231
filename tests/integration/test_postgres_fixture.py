"""The test run's own PostgreSQL: each test gets a database of its own, with pgvector."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def test_each_test_database_has_pgvector_and_answers_a_vector_query(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE v (id int primary key, e vector(3))"))
        conn.execute(text("INSERT INTO v VALUES (1, '[1,0,0]'), (2, '[0,1,0]')"))
        nearest = conn.execute(
            text("SELECT id FROM v ORDER BY e <=> '[0.9,0.1,0]' LIMIT 1")
        ).scalar()
    engine.dispose()
    assert nearest == 1


def test_two_test_databases_do_not_share_tables(postgres_server: object) -> None:
    from tests.postgres import create_database

    first, second = create_database(postgres_server), create_database(postgres_server)
    assert first != second
    one = create_engine(first)
    with one.begin() as conn:
        conn.execute(text("CREATE TABLE only_here (id int)"))
    other = create_engine(second)
    with other.connect() as conn:
        found = conn.execute(text("SELECT to_regclass('only_here')")).scalar()
    one.dispose()
    other.dispose()
    assert found is None

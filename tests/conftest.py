"""Shared fixtures.

`emulator`: the Baseten API emulator, one in-process server per test session on a free loopback
port, reset (config, request log, faults, jobs) before each test. Tests point clients at
`emulator.model_apis_url` / `emulator.deployment_url` with `emulator.api_key`, and inspect or
steer it with `emulator.requests()`, `emulator.configure(...)`, `emulator.fault(...)`,
`emulator.webhooks()`. Nothing here touches environment variables; use monkeypatch for that.

`postgres_server`: a real PostgreSQL with pgvector, one per test session, listening only on a
Unix socket in a temporary directory (see `tests/postgres.py`). `postgres_url`: a new empty
database on it for one test, with the `vector` extension installed, as a SQLAlchemy URL.

`database_url`: the database of a storage or service test, once per kind (ids `sqlite`,
`postgresql`): a new SQLite file, or a new PostgreSQL database copied from one migrated to the
newest schema once per session (dropped after the test). Use it (or the unit `engine` fixture
built on it) wherever a test stores something, so that every such test runs on both.

`oidc_provider`: a real OpenID Connect provider (`oidc-provider-mock`), one per test session on
127.0.0.1 and a free port, that signs in the people of `tests/oidc.py` (`ANN`, `BOB`, `EVE`);
`oidc_provider.register_client(redirect_uri)` registers an app with it (see `tests/oidc.py`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from baseten_llm.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[EmulatorServer]:
    with EmulatorServer.start(EmulatorConfig(), port=0) as server:
        yield server


@pytest.fixture
def emulator(emulator_session: EmulatorServer) -> Iterator[EmulatorServer]:
    emulator_session.reset()
    yield emulator_session


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from tests.postgres import start_server

    # A directory of its own, not under pytest's basetemp: pytest prunes older basetemps when
    # several runs share the machine, which would delete a running cluster's data directory.
    directory = Path(tempfile.mkdtemp(prefix="bc-postgres-"))
    server = start_server(directory)
    yield server
    server.cleanup()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: object) -> str:
    from tests.postgres import create_database

    return create_database(postgres_server)


@pytest.fixture(scope="session")
def postgres_schema_template(postgres_server: object) -> str:
    """The name of a database migrated to the newest schema, to copy for each test."""
    from chatapp.storage.db import init_db, make_engine
    from tests.postgres import create_database, database_name

    url = create_database(postgres_server, prefix="schema")
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return database_name(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    from tests.postgres import create_database, drop_database

    server = request.getfixturevalue("postgres_server")
    url = create_database(server, template=request.getfixturevalue("postgres_schema_template"))
    yield url
    drop_database(server, url)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[object]:
    from tests.oidc import run_provider

    with run_provider() as provider:
        yield provider

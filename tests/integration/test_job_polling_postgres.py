"""Job status polling from two replicas on one PostgreSQL: every unfinished job is asked about
once per interval in all, never by both (the emulator's request log counts the calls)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from baseten_llm import Baseten
from chatapp.services.job_polling import StatusPoller, TokenBucket
from chatapp.storage import jobs as store
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.targets import Target
from chatapp.users import LOCAL_OWNER

TARGET_JSON = '{"kind": "dedicated", "model": "abcd1234"}'


@pytest.fixture
def replica_engines(postgres_url: str) -> Any:
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    init_db(engines[0])
    yield engines
    for engine in engines:
        engine.dispose()


def submitted(engine: Engine, count: int) -> list[str]:
    ids = [f"{n:032x}" for n in range(1, count + 1)]
    with session_scope(engine) as session:
        for rid in ids:
            store.add_job(
                session,
                request_id=rid,
                owner=LOCAL_OWNER,
                status="QUEUED",
                target_label="abcd1234",
                target_json=TARGET_JSON,
                model_input_json="{}",
            )
    return ids


def test_two_replicas_polling_at_once_ask_about_each_job_once(
    replica_engines: list[Engine], emulator: Any
) -> None:
    ids = submitted(replica_engines[0], 30)

    def client_for(target: Target) -> Baseten:
        return Baseten(
            model_id=target.model,
            model_apis=False,
            api_key=emulator.api_key,
            deployment_url=emulator.deployment_url,
        )

    pollers = [StatusPoller(TokenBucket(1000, 1000), interval_s=600) for _ in replica_engines]
    start = threading.Barrier(len(pollers))
    reports: list[Any] = []

    def replica(poller: StatusPoller, engine: Engine) -> None:
        start.wait(30)
        for _ in range(3):  # three page refreshes each, all within one interval
            reports.append(poller.poll(engine, client_for, owner=LOCAL_OWNER))

    threads = [
        threading.Thread(target=replica, args=pair)
        for pair in zip(pollers, replica_engines, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    asked = Counter(
        r["path"].rsplit("/", 1)[-1]
        for r in emulator.requests()
        if "/async_request/" in r["path"] and r["method"] == "GET"
    )
    assert set(asked) == set(ids) and set(asked.values()) == {1}
    assert sum(len(r.polled) for r in reports) == len(ids)
    assert all(not r.problems for r in reports)

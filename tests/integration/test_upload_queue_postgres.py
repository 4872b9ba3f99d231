"""The upload queue's claims on a real PostgreSQL: two claimers at once never take the same
file (nor two files of one collection), a file whose lease ran out is taken over, and the
worker that lost it can no longer record anything."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from chatapp.services import documents as docs
from chatapp.services.embedders import EmbedSpec
from chatapp.storage import upload_queue as rows
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.storage.upload_queue import QueuedUpload
from chatapp.users import LOCAL_OWNER


@pytest.fixture
def engine(postgres_url: str) -> Any:
    engine = make_engine(postgres_url)
    init_db(engine)
    yield engine
    engine.dispose()


def collection(engine: Engine, name: str) -> str:
    return docs.create_collection(
        engine, name, EmbedSpec("baseten", "emb12345"), 128, 16, owner=LOCAL_OWNER
    ).id


def enqueue(engine: Engine, collection_id: str, *names: str) -> list[int]:
    with session_scope(engine) as session:
        return [
            rows.enqueue(
                session, collection_id=collection_id, filename=name, content=name.encode()
            ).id
            for name in names
        ]


def test_two_claimers_at_once_take_different_collections_and_never_the_same_file(
    engine: Engine,
) -> None:
    manuals, notes = collection(engine, "Manuals"), collection(engine, "Notes")
    [m1, _m2] = enqueue(engine, manuals, "m1.txt", "m2.txt")
    [n1] = enqueue(engine, notes, "n1.txt")

    with session_scope(engine) as first:  # replica A's claim, its transaction still open
        claimed_a, _ = rows.claim_next(first, "replica-a", lease_s=30)
        assert claimed_a.id == m1
        with session_scope(engine) as second:  # replica B claims meanwhile: skips A's locks
            claimed_b, _ = rows.claim_next(second, "replica-b", lease_s=30)
            assert claimed_b.id == n1
    with session_scope(engine) as third:  # m2 waits: its collection has a file running
        assert rows.claim_next(third, "replica-c", lease_s=30) == (None, [])


def test_many_claimers_in_threads_index_every_file_exactly_once(engine: Engine) -> None:
    queued = {
        row_id
        for name in ("A", "B", "C", "D")
        for row_id in enqueue(
            engine, collection(engine, name), *(f"{name}{n}.txt" for n in range(6))
        )
    }
    claims: list[tuple[str, int, str]] = []
    lock, active = threading.Lock(), set[str]()
    failures: list[BaseException] = []

    def replica(worker_id: str) -> None:
        try:
            while True:
                with session_scope(engine) as session:
                    row, _ = rows.claim_next(session, worker_id, lease_s=30)
                    if row is None:
                        if not rows.count_unfinished(session):
                            return
                        continue
                    row_id, attempt, cid = row.id, row.attempts, row.collection_id
                with lock:
                    assert cid not in active, "two files of one collection ran at once"
                    active.add(cid)
                    claims.append((worker_id, row_id, cid))
                with lock:
                    active.discard(cid)  # before the row is done, so nobody claims earlier
                with session_scope(engine) as session:
                    assert rows.finish(
                        session, row_id, worker_id, attempt, status="indexed", message="done"
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=replica, args=(f"replica-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    counted = Counter(row_id for _, row_id, _ in claims)
    assert set(counted) == queued and set(counted.values()) == {1}
    with session_scope(engine) as session:
        done = session.query(QueuedUpload).filter(QueuedUpload.state == "done").count()
    assert done == len(queued)


def test_an_expired_lease_is_taken_over_and_the_first_worker_can_no_longer_finish(
    engine: Engine,
) -> None:
    manuals = collection(engine, "Manuals")
    [row_id] = enqueue(engine, manuals, "manual.pdf")
    long_ago = rows.utcnow() - timedelta(minutes=5)
    with session_scope(engine) as session:  # claimed, then its replica was killed
        dead, _ = rows.claim_next(session, "replica-a", lease_s=30, now=long_ago)
        assert (dead.id, dead.attempts) == (row_id, 1)
    with session_scope(engine) as session:
        taken, _ = rows.claim_next(session, "replica-b", lease_s=30)
        assert (taken.id, taken.attempts, taken.note) == (row_id, 2, rows.TAKEN_OVER_NOTE)

    with session_scope(engine) as session:  # replica A, back from a long pause, has lost it
        assert (
            rows.renew(
                session, row_id, "replica-a", 1, 30, stage="embed", fraction=0.5, detail="late"
            )
            is None
        )
        assert not rows.finish(session, row_id, "replica-a", 1, status="indexed", message="x")
    with session_scope(engine) as session:
        assert (
            rows.renew(
                session,
                row_id,
                "replica-b",
                2,
                30,
                stage="embed",
                fraction=0.5,
                detail="3 of 6 chunks embedded",
            )
            is False
        )
        assert rows.finish(session, row_id, "replica-b", 2, status="indexed", message="Done.")
    with session_scope(engine) as session:
        row = session.get(QueuedUpload, row_id)
        assert (row.state, row.status, row.claimed_by, row.content) == (
            "done",
            "indexed",
            "replica-b",
            None,
        )


def test_a_live_lease_is_never_taken_over(engine: Engine) -> None:
    manuals = collection(engine, "Manuals")
    enqueue(engine, manuals, "manual.pdf")
    with session_scope(engine) as session:
        assert rows.claim_next(session, "replica-a", lease_s=30)[0] is not None
    with session_scope(engine) as session:
        assert rows.claim_next(session, "replica-b", lease_s=30) == (None, [])

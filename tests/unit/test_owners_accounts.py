"""Deleting one user's data deletes everything they made, files and vectors included, and
nothing of anyone else's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from chatapp.services import accounts, jobs, personas
from chatapp.services import conversations as convs
from chatapp.services import documents as docs
from chatapp.storage import jobs as job_store
from chatapp.storage.db import session_scope
from tests.unit.test_jobs_service import OPTIONS, TARGET, FakeJobsClient
from tests.unit.test_owners_documents import anns_collection

ANN = "ann@example.com"
BOB = "bob@example.com"


def everything_of(engine: Engine, owner: str, client: FakeJobsClient) -> str:
    """A conversation, a persona, a collection with vectors, a job with its result."""
    conversation = convs.create_conversation(engine, None, owner=owner)
    convs.add_user_message(engine, conversation.id, f"{owner} asks", owner=owner)
    personas.create_persona(engine, f"{owner}'s persona", "🙂", "Hi.", owner=owner)
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": owner}, OPTIONS, owner=owner)
    with session_scope(engine) as session:
        job_store.store_webhook_result(
            session, request_id=rid, raw_body=json.dumps({}), data="done", errors=[]
        )
    return rid


def test_deleting_a_users_data_removes_all_they_made_and_nothing_else(
    engine: Engine, tmp_path: Path
) -> None:
    client = FakeJobsClient()
    collection, store = anns_collection(engine, tmp_path)  # Ann's, with vectors on disk
    store.close()
    everything_of(engine, ANN, client)
    bobs_rid = everything_of(engine, BOB, client)
    deleted = accounts.delete_user_data(engine, tmp_path, owner=ANN)
    assert deleted == {"collections": 1, "conversations": 1, "results": 1, "jobs": 1, "personas": 1}
    assert not docs.index_dir(tmp_path, collection.id).exists()
    assert docs.list_collections(engine, owner=ANN) == []
    assert convs.list_conversations(engine, owner=ANN) == []
    assert jobs.list_rows(engine, owner=ANN) == []
    assert [p.name for p in personas.list_personas(engine, owner=ANN)] == [
        b.name for b in personas.BUILTINS
    ]
    assert [c.title for c in convs.list_conversations(engine, owner=BOB)] == [f"{BOB} asks"]
    assert [r.request_id for r in jobs.list_rows(engine, owner=BOB)] == [bobs_rid]
    assert f"{BOB}'s persona" in [p.name for p in personas.list_personas(engine, owner=BOB)]


def test_the_data_of_nobody_cannot_be_deleted(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Name the user"):
        accounts.delete_user_data(engine, tmp_path, owner="")

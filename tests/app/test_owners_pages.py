"""Two signed-in people on the same app: each page shows only the person's own data, and an
address naming someone else's conversation or collection says "not found", exactly as for one
that does not exist. ``st.user`` gets the claims a provider returns (see test_signin_page.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from baseten_llm.catalog import ModelCatalog
from baseten_llm.emulator import EmulatorServer
from chatapp.services import conversations as convs
from chatapp.services import documents as docs
from chatapp.services import personas
from chatapp.services.embedders import EmbedSpec
from chatapp.storage import jobs as store
from chatapp.storage.db import init_db, make_engine, session_scope
from tests.app.test_signin_page import ANN, AUTH

TIMEOUT = 60
APP = Path(__file__).resolve().parents[2] / "app.py"
BOB = {**ANN, "sub": "bob", "email": "bob@example.com", "name": "Bob Baker"}
ANN_ID, BOB_ID = "ann.archer@example.com", "bob@example.com"


@pytest.fixture()
def team_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer):
    """A fresh data directory shared by both people, the emulator's key shared with them."""
    for name in (
        "BASETEN_WEBHOOK_SECRETS",
        "BASETEN_CHAT_PUBLIC_URL",
        "BASETEN_CHAT_DATABASE_URL",
        "BASETEN_CHAT_ALLOWED_USERS",
        "BASETEN_CHAT_ADMIN_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BASETEN_API_KEY", emulator.api_key)
    monkeypatch.setenv("BASETEN_CHAT_SHARE_SERVER_KEY", "1")
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", emulator.model_apis_url)
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", emulator.deployment_url)
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path / "data"))
    st.cache_resource.clear()
    ModelCatalog.clear()
    yield emulator
    st.cache_resource.clear()


@pytest.fixture()
def engine(team_env: EmulatorServer, tmp_path: Path) -> Iterator[Engine]:
    """The app's database, opened by the test itself (the app's cached configuration is
    built by the first signed-in run, with its ``[auth]`` secrets)."""
    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'baseten_chat.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


def signed_in(user: dict, page: str | None = None, **address: str) -> AppTest:
    """A session of ``user`` on ``page`` (default: Chat) opened at ``?name=value...``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = user
    for name, value in address.items():
        at.query_params[name] = value
    if page is not None:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def page_text(at: AppTest) -> str:
    parts = [
        e.value
        for e in (
            *at.caption,
            *at.markdown,
            *at.info,
            *at.warning,
            *at.error,
            *at.success,
            *at.subheader,
            *at.title,
            *at.text,
        )
    ]
    parts += [b.label for b in at.button]
    parts += [str(o) for box in at.selectbox for o in box.options]
    parts += [json.dumps(f.value, default=str) for f in at.dataframe]
    return "\n".join(str(p) for p in parts)


def anns_conversation(engine: Engine) -> int:
    conversation = convs.create_conversation(engine, None, owner=ANN_ID)
    convs.add_user_message(engine, conversation.id, "Ann's quarterly numbers", owner=ANN_ID)
    return conversation.id


def test_a_chat_address_with_another_persons_conversation_says_not_found(engine: Engine) -> None:
    conversation_id = anns_conversation(engine)
    bob = signed_in(BOB, chat=str(conversation_id))
    assert any("was not found" in w.value for w in bob.warning)
    assert "quarterly numbers" not in page_text(bob)
    assert not [b for b in bob.button if b.key == f"chat_open_{conversation_id}"]
    ann = signed_in(ANN, chat=str(conversation_id))
    assert not [w for w in ann.warning if "was not found" in w.value]
    assert "Ann's quarterly numbers" in page_text(ann)
    assert [b for b in ann.button if b.key == f"chat_open_{conversation_id}"]


def test_each_persons_sidebar_lists_only_their_conversations_and_personas(engine: Engine) -> None:
    anns_conversation(engine)
    personas.create_persona(engine, "Ann's analyst", "📈", "Analyse.", owner=ANN_ID)
    bob = signed_in(BOB)
    assert "quarterly numbers" not in page_text(bob) and "Ann's analyst" not in page_text(bob)
    bob.chat_input(key="chat_input").set_value("Bob's own question").run()
    assert not bob.exception, bob.exception
    ann = signed_in(ANN)
    assert "Bob's own question" not in page_text(ann)
    assert "Ann's quarterly numbers" in page_text(ann)
    assert "Ann's analyst" in page_text(ann)
    assert [c.title for c in convs.list_conversations(engine, owner=BOB_ID)] == [
        "Bob's own question"
    ]


def test_a_documents_address_with_another_persons_collection_says_not_found(engine: Engine) -> None:
    collection = docs.create_collection(engine, "Ann's contracts", EmbedSpec(), owner=ANN_ID)
    bob = signed_in(BOB, "app_pages/documents.py", collection=collection.id)
    assert any("was not found" in w.value for w in bob.warning)
    assert "Ann's contracts" not in page_text(bob)
    ann = signed_in(ANN, "app_pages/documents.py", collection=collection.id)
    assert not [w for w in ann.warning if "was not found" in w.value]
    assert "Ann's contracts" in page_text(ann)


def test_the_jobs_page_shows_each_person_only_their_jobs_and_results(engine: Engine) -> None:
    body = {"request_id": "a" * 32, "data": {"output": "Ann's job result"}, "errors": []}
    with session_scope(engine) as session:
        store.add_job(
            session,
            owner=ANN_ID,
            request_id="a" * 32,
            target_label="Dedicated",
            target_json=json.dumps({"kind": "dedicated", "model": "abcd1234"}),
            model_input_json="{}",
            status="SUCCEEDED",
        )
        store.store_webhook_result(
            session, request_id="a" * 32, raw_body=json.dumps(body), data=body["data"], errors=[]
        )
        store.store_webhook_result(
            session, request_id="b" * 32, raw_body="{}", data={"output": "nobody's"}, errors=[]
        )
    bob = signed_in(BOB, "app_pages/jobs.py")
    assert "a" * 32 not in page_text(bob) and "Ann's job result" not in page_text(bob)
    assert "b" * 32 not in page_text(bob)
    ann = signed_in(ANN, "app_pages/jobs.py")
    assert "Ann's job result" in page_text(ann)
    assert "b" * 32 not in page_text(ann)

"""Session state helpers that every page relies on."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from chatapp import resources, state
    from chatapp.targets import GenerationSettings, Target

    chat = state.llm()
    compare = state.llm(Target(kind="dedicated", model="abcd1234"))
    documents = state.llm(generation_override=GenerationSettings(temperature=0.15))
    pool = resources.get_http_client()
    st.write(f"shared={all(x._transport.client is pool for x in (chat, compare, documents))}")
    st.write(f"temperature={documents.temperature}")


def test_every_llm_the_app_builds_reuses_one_connection_pool(monkeypatch, tmp_path):
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert not at.exception, at.exception
    texts = [m.value for m in at.markdown]
    assert "shared=True" in texts
    assert "temperature=0.15" in texts
    st.cache_resource.clear()


def _page_state_script() -> None:
    import streamlit as st

    from chatapp import state

    state.chat_page().pending = 7
    state.documents_page().upload_version += 1
    try:
        state.chat_page().pendng = 8  # type: ignore[attr-defined]
    except AttributeError:
        st.write("typo refused")
    st.write(f"pending={state.chat_page().pending}")
    st.write(f"upload_version={state.documents_page().upload_version}")


def test_each_page_keeps_one_typed_record_and_a_misspelt_field_is_an_error():
    from chatapp.page_state import CHAT_KEY, DOCUMENTS_KEY, ChatPage

    at = AppTest.from_function(_page_state_script, default_timeout=30).run().run()
    assert not at.exception, at.exception
    texts = [m.value for m in at.markdown]
    assert "typo refused" in texts and "pending=7" in texts
    assert "upload_version=2" in texts, "the record lasts from one run to the next"
    assert isinstance(at.session_state[CHAT_KEY], ChatPage)
    assert at.session_state[DOCUMENTS_KEY].upload_version == 2

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

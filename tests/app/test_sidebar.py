"""The shared sidebar: where the key comes from, the target toggle, and the connection actions."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from baseten_llm.catalog import ModelCatalog

TIMEOUT = 60
APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture()
def app_env(monkeypatch, tmp_path, emulator):
    """Point the app at the emulator with a fresh data dir and fresh process caches."""
    for name in ("BASETEN_API_KEY", "BASETEN_WEBHOOK_SECRETS", "BASETEN_CHAT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", emulator.model_apis_url)
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", emulator.deployment_url)
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path / "data"))
    st.cache_resource.clear()
    st.cache_data.clear()
    ModelCatalog.clear()
    yield emulator
    st.cache_resource.clear()


def _run_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _all_text(at: AppTest) -> str:
    parts = [
        e.value for e in (*at.caption, *at.markdown, *at.info, *at.warning, *at.error, *at.success)
    ]
    return "\n".join(str(p) for p in parts)


def test_a_key_from_the_environment_is_named_by_its_source_and_never_shown(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    assert "BASETEN_API_KEY" in _all_text(at) and "environment variable" in _all_text(at)
    assert not [w for w in at.text_input if w.key == "sb_api_key"]
    assert app_env.api_key not in _all_text(at)


def test_without_a_key_the_sidebar_says_how_to_get_one_and_offers_the_offline_demo(app_env):
    at = _run_app()
    assert "Settings → API keys" in _all_text(at)
    at.button(key="sb_demo_start").click().run()
    assert not at.exception
    text = _all_text(at)
    assert "Offline demo" in text and "synthetic" in text


def test_an_offline_demo_answer_shows_a_first_token_time_that_is_not_zero(app_env):
    at = _run_app()
    at.button(key="sb_demo_start").click().run()
    at.chat_input(key="chat_input").set_value("Hello demo").run()
    assert not at.exception, at.exception
    lines = [c.value for c in at.caption if "first token" in c.value]
    assert lines, _all_text(at)
    seconds = float(lines[-1].split("first token ")[1].split(" s")[0])
    assert seconds >= 0.2, lines[-1]


def test_switching_to_a_dedicated_deployment_shows_the_new_target_on_the_page(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    assert "Model API · " in _all_text(at)
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value("abcd1234").run()
    assert "Dedicated · abcd1234 · production" in _all_text(at)
    at.selectbox(key="sb_scope").set_value("environment").run()
    at.text_input(key="sb_environment").set_value("staging").run()
    assert "Dedicated · abcd1234 · staging" in _all_text(at)


def test_a_slug_typed_as_a_model_id_is_flagged_while_typing(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value("deepseek-ai/DeepSeek-V3.1").run()
    assert any("looks like a Model APIs model name" in w.value for w in at.warning)
    at.text_input(key="sb_model_id").set_value("ab cd").run()
    assert any("8 lowercase letters and digits" in w.value for w in at.warning)
    assert not [r for r in app_env.requests() if r["path"].startswith("/model-")]


@pytest.mark.parametrize("typed", ["", "xyz!", "ab cd"])
def test_an_empty_or_invalid_model_id_never_becomes_the_target_and_sending_is_off(
    app_env, monkeypatch, typed
):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value(typed).run()
    assert not at.exception
    text = _all_text(at)
    assert "Dedicated ·  ·" not in text and f"Dedicated · {typed} ·" not in text
    assert "No target yet" in text and "Sending is off" in text
    assert "8 lowercase letters and digits" in text
    assert at.chat_input(key="chat_input").proto.disabled
    assert not [b for b in at.button if b.key in ("sb_test_connection", "sb_wake")]


def test_a_valid_model_id_becomes_the_target_and_a_question_reaches_it(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value("xyz!").run()
    at.text_input(key="sb_model_id").set_value("abcd1234").run()
    assert "Dedicated · abcd1234 · production" in _all_text(at)
    assert "Sending is off" not in _all_text(at)
    assert not at.chat_input(key="chat_input").proto.disabled
    at.chat_input(key="chat_input").set_value("hello").run()
    assert not at.exception
    paths = [r["path"] for r in app_env.requests() if r["path"].endswith("/chat/completions")]
    assert paths == ["/model-abcd1234/environments/production/sync/v1/chat/completions"]


def test_an_invalid_deployment_id_also_turns_sending_off(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value("abcd1234").run()
    at.selectbox(key="sb_scope").set_value("deployment").run()
    assert "Sending is off" in _all_text(at) and "deployment id" in _all_text(at)
    at.text_input(key="sb_deployment_id").set_value("dep12345").run()
    assert "Dedicated · abcd1234 · deployment dep12345" in _all_text(at)
    assert not at.chat_input(key="chat_input").proto.disabled


def test_test_connection_reports_the_round_trip_time(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.button(key="sb_test_connection").click().run()
    assert any("Connected to Model API" in s.value and " ms" in s.value for s in at.success)


def test_test_connection_with_a_wrong_key_explains_the_401(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", "not-the-right-key")
    at = _run_app()
    at.button(key="sb_test_connection").click().run()
    assert at.error, "no error shown"
    message = at.error[0].value
    assert "Connection failed" in message and "not-the-right-key" not in message
    assert "key" in message.lower()


def test_wake_posts_to_the_deployments_wake_route(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", app_env.api_key)
    at = _run_app()
    at.radio(key="sb_kind").set_value("dedicated").run()
    at.text_input(key="sb_model_id").set_value("abcd1234").run()
    at.button(key="sb_wake").click().run()
    assert any("scaling up" in s.value for s in at.success)
    wakes = [r for r in app_env.requests() if r["path"].endswith("/wake")]
    assert wakes and wakes[-1]["path"] == "/model-abcd1234/environments/production/wake"

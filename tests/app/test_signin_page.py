"""Sign-in in the app: the gate before every page, the sidebar's account line, whose key.

The browser tests (``tests/e2e/test_signin_browser.py``) run the real redirect flow against
a real provider; these AppTests give ``st.user`` the claims such a provider returns.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from baseten_llm.catalog import ModelCatalog
from baseten_llm.emulator import EmulatorServer

TIMEOUT = 60
APP = Path(__file__).resolve().parents[2] / "app.py"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-cookie-secret-for-the-tests-0123456789",
    "client_id": "baseten-chat",
    "client_secret": "client-secret-for-the-tests",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ANN = {
    "is_logged_in": True,
    "iss": "http://127.0.0.1:9",
    "sub": "ann",
    "email": "Ann.Archer@Example.com",
    "email_verified": True,
    "name": "Ann Archer",
}


@pytest.fixture()
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer):
    """The emulator's key in the server's environment, a fresh data dir and fresh caches."""
    for name in (
        "BASETEN_WEBHOOK_SECRETS",
        "BASETEN_CHAT_PUBLIC_URL",
        "BASETEN_CHAT_DATABASE_URL",
        "BASETEN_CHAT_ALLOWED_USERS",
        "BASETEN_CHAT_SHARE_SERVER_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BASETEN_API_KEY", emulator.api_key)
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", emulator.model_apis_url)
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", emulator.deployment_url)
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path / "data"))
    st.cache_resource.clear()
    st.cache_data.clear()
    ModelCatalog.clear()
    yield emulator
    st.cache_resource.clear()


def _app(user: dict | None, *, auth: dict | None = None, **secrets: object) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if auth is not None:
        at.secrets["auth"] = auth
    for name, value in secrets.items():
        at.secrets[name] = value
    at.user = user if user is not None else {"is_logged_in": False}
    return at


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _text(at: AppTest, *, sidebar_only: bool = False) -> str:
    root = at.sidebar if sidebar_only else at
    parts = [
        e.value
        for e in (
            *root.caption,
            *root.markdown,
            *root.info,
            *root.warning,
            *root.error,
            *root.success,
            *root.title,
        )
    ]
    return "\n".join(str(p) for p in parts)


def _button_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button]


def test_without_sign_in_settings_the_sidebar_says_the_app_is_single_user(app_env):
    at = _run(_app({"email": "test@example.com"}))
    assert "Single-user: no sign-in configured." in _text(at, sidebar_only=True)
    assert "sb_sign_out" not in _button_keys(at)
    assert [w for w in at.chat_input if w.key == "chat_input"]


def test_a_signed_out_visitor_sees_only_the_sign_in_button_even_with_a_conversation_address(
    app_env,
):
    at = _app(None, auth=AUTH)
    at.query_params["chat"] = "1"
    _run(at)
    assert _button_keys(at) == ["signin_default"]
    assert at.button(key="signin_default").label == "Sign in"
    assert not at.chat_input and not at.text_input and not at.sidebar.children
    assert "Model API" not in _text(at)


def test_named_providers_each_get_a_sign_in_button(app_env):
    auth = {
        "redirect_uri": AUTH["redirect_uri"],
        "cookie_secret": AUTH["cookie_secret"],
        "google": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
        "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
    }
    at = _run(_app(None, auth=auth))
    assert [(b.key, b.label) for b in at.button] == [
        ("signin_google", "Sign in with Google"),
        ("signin_okta", "Sign in with Okta"),
    ]


def test_a_signed_in_person_sees_who_they_are_and_a_sign_out_button(app_env):
    at = _run(_app(ANN, auth=AUTH))
    sidebar = _text(at, sidebar_only=True)
    assert "Signed in as **Ann Archer**" in sidebar and "Ann.Archer@Example.com" in sidebar
    assert "Single-user" not in sidebar
    assert "sb_sign_out" in _button_keys(at)
    assert [w for w in at.chat_input if w.key == "chat_input"]


def test_someone_not_on_the_allow_list_is_refused_with_a_sign_out_button(app_env):
    bob = {**ANN, "sub": "bob", "email": "bob@elsewhere.net", "name": "Bob"}
    at = _run(
        _app(bob, auth=AUTH, BASETEN_CHAT_ALLOWED_USERS=["ann.archer@example.com", "example.org"])
    )
    assert "bob@elsewhere.net** is not allowed to use this app" in _text(at)
    assert _button_keys(at) == ["signin_refused_sign_out"]
    assert not at.chat_input and not at.sidebar.children


def test_an_allowed_domain_admits_only_verified_addresses(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_CHAT_ALLOWED_USERS", "@example.com, carol@example.org")
    at = _run(_app(ANN, auth=AUTH))
    assert "sb_sign_out" in _button_keys(at)
    st.cache_resource.clear()
    unverified = {**ANN, "email_verified": False}
    at = _run(_app(unverified, auth=AUTH))
    assert "not verified" in _text(at) and "is not allowed to use this app" in _text(at)
    assert _button_keys(at) == ["signin_refused_sign_out"]


def test_the_servers_key_is_not_used_for_a_signed_in_person_unless_shared(app_env):
    at = _run(_app(ANN, auth=AUTH))
    sidebar = _text(at, sidebar_only=True)
    assert "No API key yet" in sidebar and "this browser session only" in sidebar
    assert "shared key" not in sidebar
    assert [w for w in at.text_input if w.key == "sb_api_key"]
    at.chat_input(key="chat_input").set_value("Hello with whose key?").run()
    assert not [r for r in app_env.requests() if r["path"].endswith("/chat/completions")]
    assert "BASETEN_API_KEY" not in os.environ  # no client can fall back to it


def test_with_sharing_allowed_the_sidebar_names_the_teams_key_and_it_is_used(app_env):
    at = _run(_app(ANN, auth=AUTH, BASETEN_CHAT_SHARE_SERVER_KEY="1"))
    sidebar = _text(at, sidebar_only=True)
    assert "Using the team's shared key" in sidebar
    assert app_env.api_key not in _text(at)
    at.chat_input(key="chat_input").set_value("Hello with the team's key").run()
    assert not at.exception, at.exception
    sent = [r for r in app_env.requests() if r["path"].endswith("/chat/completions")]
    assert sent and sent[-1]["status"] == 200


def test_a_key_typed_by_a_signed_in_person_is_named_as_theirs_and_never_shown(app_env):
    at = _run(_app(ANN, auth=AUTH))
    at.text_input(key="sb_api_key").input(app_env.api_key).run()
    assert "Using your key, this session only." in _text(at, sidebar_only=True)
    assert app_env.api_key not in _text(at)
    at.chat_input(key="chat_input").set_value("Hello with my own key").run()
    sent = [r for r in app_env.requests() if r["path"].endswith("/chat/completions")]
    assert sent and sent[-1]["status"] == 200


def _who_is_it() -> None:
    import streamlit as st

    from chatapp import state

    try:
        st.write(f"owner={state.current_user().id}")
    except state.SignInRequired:
        st.write("refused")


@pytest.mark.parametrize(
    ("user", "allowed", "expected"),
    [
        ({"is_logged_in": False}, None, "refused"),
        (ANN, None, "owner=ann.archer@example.com"),
        ({**ANN, "email_verified": False}, None, "owner=http://127.0.0.1:9|ann"),
        (ANN, "example.org", "refused"),
        ({**ANN, "email_verified": False}, "example.com", "refused"),
    ],
)
def test_the_current_user_is_derived_from_the_claims_and_refused_when_not_let_in(
    app_env, user, allowed, expected
):
    at = AppTest.from_function(_who_is_it, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    if allowed:
        at.secrets["BASETEN_CHAT_ALLOWED_USERS"] = allowed
    at.user = user
    _run(at)
    assert [m.value for m in at.markdown] == [expected]


def test_without_sign_in_the_current_user_is_the_local_one_whoever_st_user_names(app_env):
    at = AppTest.from_function(_who_is_it, default_timeout=TIMEOUT)
    at.user = ANN
    _run(at)
    assert [m.value for m in at.markdown] == ["owner=local"]

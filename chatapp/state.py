"""Session state: the only module that reads or writes ``st.session_state``.

Durable choices (target, persona, conversation, generation settings, demo mode) live under
keys of their own, never under widget keys, so a widget that is not drawn on a page does not
drop them. What one page keeps between its runs is one typed record per page
(:mod:`chatapp.page_state`), each under one key. Everything durable beyond the session lives in
the database instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from chatapp import resources, signin
from chatapp.page_state import (
    CHAT_KEY,
    COMPARE_KEY,
    DOCUMENTS_KEY,
    JOBS_KEY,
    SHARED_KEY,
    ChatPage,
    ComparePage,
    DocumentsPage,
    JobsPage,
    SharedChoices,
)
from chatapp.settings import AppConfig, KeySource
from chatapp.targets import GenerationSettings, Target, make_llm
from chatapp.users import LOCAL_USER, User

if TYPE_CHECKING:
    from baseten_llm import Baseten
    from chatapp.services.catalog import Catalog

_TARGET = "bc_target"
_TARGET_PROBLEM = "bc_target_problem"
_GENERATION = "bc_generation"
_PERSONA = "bc_persona_id"
_CONVERSATION = "bc_conversation_id"
_SIDEBAR_KEY = "bc_sidebar_api_key"
_DEMO = "bc_demo"


def _get(name: str, default: Any) -> Any:
    return st.session_state.get(name, default)


def _set(name: str, value: Any) -> None:
    st.session_state[name] = value


# --- user -------------------------------------------------------------------------------


class SignInRequired(RuntimeError):
    """Data was asked for while nobody allowed in is signed in (the gate should have stopped)."""


def sign_in_configured() -> bool:
    """True when ``[auth]`` is in the secrets: people sign in with ``st.login``."""
    return config().sign_in


def signed_in_claims() -> dict[str, Any] | None:
    """The provider's identity claims (``st.user``) of the signed-in person, or None."""
    claims = st.user.to_dict()
    return claims if claims.get("is_logged_in") is True else None


def current_user() -> User:
    """The person using this session; every service call is scoped by ``current_user().id``.

    Single-user (no sign-in configured) this is :data:`chatapp.users.LOCAL_USER`. With
    sign-in it is built from ``st.user`` (:func:`chatapp.signin.user_from_claims`), and
    :class:`SignInRequired` is raised when nobody is signed in or the allow-list refuses the
    person: the sign-in gate stops those runs first, and no data is served if one slips by.
    """
    cfg = config()
    if not cfg.sign_in:
        return LOCAL_USER
    claims = signed_in_claims()
    if claims is None:
        raise SignInRequired("Nobody is signed in.")
    if not cfg.allowed_users.admits(signin.verified_email(claims)):
        raise SignInRequired("The signed-in person is not on the allow-list.")
    return signin.user_from_claims(claims)


# --- connection -----------------------------------------------------------------------


def demo_active() -> bool:
    """True while the offline demo (the in-process emulator) answers instead of Baseten."""
    return bool(_get(_DEMO, False))


def set_demo_active(active: bool) -> None:
    _set(_DEMO, active)


def config() -> AppConfig:
    """The configuration in effect for this session (the demo swaps in the emulator)."""
    base = resources.get_config()
    if not demo_active():
        return base
    emu = resources.get_demo_emulator()
    return replace(
        base,
        model_apis_url=emu.model_apis_url,
        deployment_url=emu.deployment_url,
        api_key=emu.api_key,
        api_key_source="demo",
        # Demo jobs deliver to this app's own receiver, on loopback.
        public_url=resources.own_loopback_url(),
    )


def set_sidebar_api_key(value: str | None) -> None:
    _set(_SIDEBAR_KEY, (value or "").strip() or None)


def api_key_and_source() -> tuple[str | None, KeySource]:
    """The key to use: the demo's, else one typed in the sidebar, else secrets/environment."""
    cfg = config()
    if demo_active():
        return cfg.api_key, "demo"
    typed = _get(_SIDEBAR_KEY, None)
    if typed:
        return typed, "sidebar"
    return cfg.api_key, cfg.api_key_source


def api_key() -> str | None:
    return api_key_and_source()[0]


# --- target and generation -------------------------------------------------------------


def target() -> Target:
    return _get(_TARGET, Target())


def set_target(value: Target) -> None:
    _set(_TARGET, value)


def target_problem() -> str | None:
    """Why nothing can be sent right now (e.g. the dedicated model id is not valid yet)."""
    return _get(_TARGET_PROBLEM, None)


def set_target_problem(problem: str | None) -> None:
    _set(_TARGET_PROBLEM, problem)


def generation() -> GenerationSettings:
    return _get(_GENERATION, GenerationSettings())


def set_generation(value: GenerationSettings) -> None:
    _set(_GENERATION, value)


def llm(
    target_override: Target | None = None,
    *,
    generation_override: GenerationSettings | None = None,
    **overrides: Any,
) -> Baseten:
    """A client for the current (or given) target, with the sidebar's generation settings
    unless others are given. It shares the process's connection pool
    (:func:`chatapp.resources.get_http_client`)."""
    overrides.setdefault("http_client", resources.get_http_client())
    settings = generation_override or generation()
    return make_llm(target_override or target(), api_key(), config(), settings, **overrides)


def model_catalog() -> Catalog:
    """The Model APIs list for the current key, fetched over the process's connection pool."""
    from chatapp.services.catalog import load_catalog

    return load_catalog(config().model_apis_url, api_key(), http_client=resources.get_http_client())


# --- persona and conversation ----------------------------------------------------------


def persona_id() -> int | None:
    return _get(_PERSONA, None)


def set_persona_id(value: int | None) -> None:
    _set(_PERSONA, value)


def conversation_id() -> int | None:
    return _get(_CONVERSATION, None)


def set_conversation_id(value: int | None) -> None:
    """Open ``value`` (None: a new chat); the chat page then puts it in the page's address."""
    _set(_CONVERSATION, value)


# --- the page's address (st.query_params) ---------------------------------------------

URL_CONVERSATION = "chat"
URL_COLLECTION = "collection"
URL_DEMO = "demo"
_URL_SEEN = "bc_url_seen"
_URL_CHAT_SEEN = "bc_url_chat_seen"
_URL_BAD_CONVERSATION = "bc_url_bad_conversation"


def url_value(name: str) -> str | None:
    """One value of the page's address (``?name=value``), or None."""
    value = st.query_params.get(name)
    return value if isinstance(value, str) and value else None


def set_url_value(name: str, value: str | None) -> None:
    """Put ``name=value`` in the page's address (None removes it), without a rerun."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def restore_from_url() -> None:
    """Take the page's place from its address, at the top of every run.

    The open conversation (``?chat=ID``) is adopted when the address names another one than
    it did at the end of the last run: the browser moved (a reload, back/forward, a bookmark,
    a second tab). When the app moved instead (the sidebar opened another conversation), the
    session wins and the chat page rewrites the address (:func:`show_conversation_in_url`).
    The chat page checks that an adopted id exists. The offline demo (``?demo=1``) is taken
    from the address on a session's first run only (a reload keeps it on), then kept in the
    address while it is on, since moving to another page drops the address's values.

    Addresses are only written during a run that goes on to draw the page: a change made
    just before ``st.rerun()`` may never reach the browser.
    """
    first_run = not _get(_URL_SEEN, False)
    _set(_URL_SEEN, True)
    if first_run and url_value(URL_DEMO) == "1":
        _set(_DEMO, True)
    set_url_value(URL_DEMO, "1" if demo_active() else None)
    linked = url_value(URL_CONVERSATION)
    if linked == _get(_URL_CHAT_SEEN, None):
        return
    _set(_URL_CHAT_SEEN, linked)
    if linked is None:
        return  # another page, or a new chat: the session keeps its conversation
    if not linked.isdigit() or len(linked) > 18:
        _set(_URL_BAD_CONVERSATION, linked)
        _set(_CONVERSATION, None)
    else:
        _set(_CONVERSATION, int(linked))


def show_conversation_in_url(value: int | None) -> None:
    """Put the open conversation in the chat page's address (None: none)."""
    text = None if value is None else str(value)
    set_url_value(URL_CONVERSATION, text)
    _set(_URL_CHAT_SEEN, text)


def take_url_problem() -> str | None:
    """The conversation reference from the address that was not a valid id (once), or None."""
    problem = _get(_URL_BAD_CONVERSATION, None)
    _set(_URL_BAD_CONVERSATION, None)
    return problem


# --- page state ------------------------------------------------------------------------

_Record = TypeVar("_Record", ChatPage, DocumentsPage, ComparePage, JobsPage, SharedChoices)


def _record(key: str, kind: type[_Record]) -> _Record:
    value = _get(key, None)
    if not isinstance(value, kind):
        value = kind()
        _set(key, value)
    return value


def chat_page() -> ChatPage:
    """What the chat page keeps between runs; set its fields to change them."""
    return _record(CHAT_KEY, ChatPage)


def documents_page() -> DocumentsPage:
    return _record(DOCUMENTS_KEY, DocumentsPage)


def compare_page() -> ComparePage:
    return _record(COMPARE_KEY, ComparePage)


def jobs_page() -> JobsPage:
    return _record(JOBS_KEY, JobsPage)


def shared_choices() -> SharedChoices:
    """Choices several pages share (the dedicated models that take images, your prices)."""
    return _record(SHARED_KEY, SharedChoices)


# --- widgets ---------------------------------------------------------------------------


def set_widget_value(key: str, value: Any) -> None:
    """Preset a keyed widget's value; call it before that widget is drawn in this run.

    Streamlit refuses the change once the widget exists in the current run (even just before
    ``st.rerun()``), so a page that moves its own selection after an action (e.g. creating a
    collection) remembers the new value and applies it at the top of the next run.
    """
    _set(key, value)

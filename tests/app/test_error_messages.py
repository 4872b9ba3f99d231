"""Every error a person can meet on the chat page and on a compare side, driven for real.

Each case makes the Baseten emulator fail the way Baseten can (status faults, a slow first
token, a stream cut mid-way, a closed port, no key at all) and reads what the page shows. The
text must say what happened and what to do next, name the host, and never show words meant
for programmers (see :mod:`tests.plain_words`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from streamlit.testing.v1 import AppTest

from baseten_llm import Baseten
from baseten_llm.catalog import ModelCatalog
from baseten_llm.emulator import EmulatorServer
from chatapp import state
from chatapp.services.compare import Comparison, ComparisonRunner
from chatapp.targets import Target
from tests.plain_words import assert_plain

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 90
SLOW_READ_S = 1.0


@dataclass(frozen=True)
class Case:
    """One way a reply can fail, and words the message must hold."""

    fault: dict[str, Any] = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    key: bool = True
    closed_port: bool = False
    slow_client: bool = False


CASES: dict[str, Case] = {
    "401 rejected key": Case({"status": 401}, ("refused the API key", "sidebar")),
    "402 billing": Case({"status": 402}, ("billing",)),
    "403 forbidden": Case({"status": 403}, ("may not use this model",)),
    "404 unknown model": Case({"status": 404}, ("does not serve", "Pick another model")),
    "413 too large": Case({"status": 413}, ("too large",)),
    "429 rate limited": Case(
        {"status": 429, "times": 10, "retry_after": 1}, ("429", "Wait about 1 second")
    ),
    "503 server failed": Case({"status": 503, "times": 10}, ("failed to answer", "wait")),
    "slow first token": Case(
        {"first_token_delay_s": 4}, ("did not answer in time",), slow_client=True
    ),
    "stream cut mid-way": Case({"cut_after_chunks": 12}, ("cut off", "kept")),
    "connection refused": Case(expect=("Could not reach", "connection"), closed_port=True),
    "no key and no demo": Case(expect=("No Baseten API key", "offline demo"), key=False),
}


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def prepare(
    case: Case, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """Point the app at the emulator (or a closed port) as the case needs; the host to name."""
    for name in (
        "BASETEN_API_KEY",
        "BASETEN_WEBHOOK_SECRETS",
        "BASETEN_CHAT_PUBLIC_URL",
        "BASETEN_CHAT_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    base = closed_port_url() if case.closed_port else emulator.base_url
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", base + "/v1")
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", base + "/model-{model_id}")
    monkeypatch.setenv("BASETEN_CHAT_DATA_DIR", str(tmp_path / "data"))
    if case.key:
        monkeypatch.setenv("BASETEN_API_KEY", emulator.api_key)
    if case.slow_client:  # the app's clients, with a read timeout shorter than the first token
        real = state.make_llm
        monkeypatch.setattr(
            state, "make_llm", lambda *args, **kw: real(*args, **{**kw, "timeout": SLOW_READ_S})
        )
    if case.fault:
        emulator.fault(**case.fault, path_contains="/chat")
    return base.split("://", 1)[1]


@pytest.fixture()
def fresh_caches() -> Any:
    st.cache_resource.clear()
    ModelCatalog.clear()
    yield
    st.cache_resource.clear()
    ModelCatalog.clear()


def page_text(at: AppTest) -> list[str]:
    """Everything written on the page and in the sidebar that a person reads."""
    return [
        str(e.value)
        for e in (
            *at.error,
            *at.warning,
            *at.info,
            *at.caption,
            *at.success,
            *at.markdown,
            *at.exception,
        )
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failed_reply_on_the_chat_page_says_what_happened_in_plain_words(
    name: str,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fresh_caches: Any,
) -> None:
    case = CASES[name]
    host = prepare(case, emulator, monkeypatch, tmp_path)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.chat_input(key="chat_input").set_value("hello there").run()
    assert not at.exception, [e.value for e in at.exception]
    answer = at.chat_message[1]
    shown = [e.value for e in answer.error]
    assert len(shown) == 1, shown
    for words in case.expect:
        assert words in shown[0], shown[0]
    if case.key:
        assert host in shown[0], shown[0]
    for text in page_text(at):
        assert_plain(text)
    assert at.button(key="chat_retry")
    if name in ("no key and no demo", "connection refused", "401 rejected key"):
        assert not [c.value for c in answer.caption if "tokens" in c.value], "a line of zeros"


# --- compare sides ---------------------------------------------------------------------------


def side_error(llm: Baseten) -> str:
    comparison = Comparison.new([Target()], "hello", "p", "", 1)
    messages = [ChatMessage(role=MessageRole.USER, content="hello")]
    with ComparisonRunner([llm], messages, 1) as runner:
        for batch in runner.batches(poll_s=0.01):
            for event in batch:
                comparison.apply(event)
    error = comparison.sides[0].error
    assert error is not None
    return error


def client_for(case: Case, emulator: EmulatorServer, **changes: Any) -> Baseten:
    base = closed_port_url() if case.closed_port else emulator.base_url
    kwargs: dict[str, Any] = {
        "model_id": "deepseek-ai/DeepSeek-V3.1",
        "api_key": emulator.api_key if case.key else None,
        "model_apis_url": base + "/v1",
        "deployment_url": base + "/model-{model_id}",
    }
    if case.slow_client:
        kwargs["timeout"] = SLOW_READ_S
    kwargs.update(changes)
    return Baseten(**kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failed_compare_side_says_what_happened_in_plain_words(
    name: str,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_caches: Any,
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    case = CASES[name]
    if case.fault:
        emulator.fault(**case.fault, path_contains="/chat")
    error = side_error(client_for(case, emulator))
    for words in case.expect:
        assert words in error, error
    assert_plain(error)


def test_an_unknown_model_on_a_compare_side_names_the_closest_models(
    emulator: EmulatorServer,
    fresh_caches: Any,
) -> None:
    error = side_error(client_for(Case(), emulator, model_id="deepseek-ai/DeepSeek-V3"))
    assert "“deepseek-ai/DeepSeek-V3”" in error and "closest" in error
    assert "“deepseek-ai/DeepSeek-V3.1”" in error
    assert_plain(error)


def test_a_missing_deployment_on_a_compare_side_says_what_to_check(
    emulator: EmulatorServer,
    fresh_caches: Any,
) -> None:
    llm = client_for(Case(), emulator, model_id="zzzz9999", model_apis=False)
    error = side_error(llm)
    assert "no deployment for this model id" in error and "zzzz9999" in error
    assert emulator.base_url.split("://", 1)[1] in error
    assert_plain(error)

"""Cost and prompt-cache share under chat answers; one session-affinity value per
conversation. AppTest against the emulator."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from baseten_llm.emulator import EmulatorServer
from chatapp.targets import Target

REPO = Path(__file__).resolve().parents[2]
HARNESS = f"""
import runpy
import streamlit as st
from chatapp.ui.chat_sidebar import render_chat_sidebar
with st.sidebar:
    render_chat_sidebar()
runpy.run_path({str(REPO / "app_pages" / "chat.py")!r}, run_name="__main__")
"""


def ask(at: AppTest, text: str) -> AppTest:
    return at.chat_input(key="chat_input").set_value(text).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metric_lines(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if " tokens in · " in c.value]


def test_each_answer_shows_its_cost_and_the_second_turn_its_cached_share_and_saving(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = AppTest.from_string(HARNESS, default_timeout=60).run()
    at = ask(at, "What is a KV cache and why does it matter?")
    at = ask(at, "And how does prefix caching save money?")
    no_traceback(at)
    first, second = metric_lines(at)
    # The emulator's catalog price for DeepSeek V3.1: $0.5 in, $1.5 out, $0.25 cached.
    assert "· cost $" in first and "cached" not in first
    assert "of input cached, saved $" in second
    total = [c.value for c in at.caption if c.value.startswith("💲 Conversation so far: $")]
    assert len(total) == 1 and total[0].endswith("over 2 answers.")
    chats = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]
    values = {r["headers"].get("x-session-affinity") for r in chats}
    assert len(chats) == 2 and len(values) == 1 and None not in values


def test_a_new_conversation_gets_its_own_affinity_value(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = AppTest.from_string(HARNESS, default_timeout=60).run()
    at = ask(at, "first conversation")
    at.sidebar.button(key="chat_new").click().run()
    at = ask(at, "second conversation")
    no_traceback(at)
    values = [
        r["headers"]["x-session-affinity"]
        for r in emulator.requests()
        if r["path"].endswith("/chat/completions")
    ]
    assert len(values) == 2 and values[0] != values[1]
    assert all(len(v) == 32 and "conversation" not in v for v in values)  # opaque digests


def test_a_dedicated_answer_costs_nothing_until_a_gpu_price_is_set(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = AppTest.from_string(HARNESS, default_timeout=60).run()
    at.session_state["bc_target"] = Target(kind="dedicated", model="abcd1234")
    at = ask(at, "How much does a GPU hour buy?")
    no_traceback(at)
    assert "cost unknown: set a price under 💲 Prices" in metric_lines(at)[0]
    at.number_input(key="chat_price_gpu_hour").set_value(3600.0).run()
    line = metric_lines(at)[0]
    assert "· cost $" in line  # $1 per second of the answer's measured time

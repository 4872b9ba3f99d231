"""A 429 with Retry-After: the page says so while it waits, and Stop ends the wait at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import wait_for_app_idle

pytestmark = pytest.mark.e2e


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def chat_requests(emulator: EmulatorServer) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def test_a_rate_limited_answer_shows_the_wait_then_arrives(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.fault(status=429, times=1, retry_after=3, path_contains="/chat")
    send(page, "Are you busy?")
    notice = page.get_by_text("Rate limited by Baseten, retrying in")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("(attempt 2 of 4)")
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text(
        "You said: Are you busy?", timeout=60_000
    )
    wait_for_app_idle(page)
    expect(notice).to_have_count(0)


def test_stop_ends_a_long_rate_limit_wait_at_once(page: Page, e2e_emulator: EmulatorServer) -> None:
    e2e_emulator.fault(status=429, times=4, retry_after=40, path_contains="/chat")
    send(page, "Anyone there?")
    notice = page.get_by_text("Rate limited by Baseten, retrying in")
    expect(notice).to_be_visible()
    page.locator('.st-key-chat_stop[data-stale="false"] button').first.click()
    # far sooner than the 40 s wait: the countdown is gone and the answer is marked stopped
    expect(notice).to_have_count(0, timeout=15_000)
    expect(page.get_by_text("Stopped before the end")).to_be_visible(timeout=15_000)
    wait_for_app_idle(page)
    assert len(chat_requests(e2e_emulator)) == 1

"""A new user with no API key starts the offline demo and chats, and every page says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    AppServer,
    goto_page,
    keyless_app_server,
    open_app_page,
    screenshot_path,
    sidebar,
    wait_for_app_idle,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def keyless_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app with no key and no Baseten URLs configured at all: a first start."""
    with keyless_app_server(tmp_path_factory.mktemp("keyless")) as server:
        yield server


@pytest.fixture()
def keyless_page(
    browser: Browser, keyless_app: AppServer, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    with open_app_page(browser, keyless_app.url, screenshot_path(artifacts_dir, request)) as tab:
        yield tab


def test_without_a_key_the_offline_demo_answers_and_every_page_says_replies_are_synthetic(
    keyless_page: Page,
) -> None:
    page = keyless_page
    expect(sidebar(page)).to_contain_text("No API key yet")
    sidebar(page).get_by_role("button", name="Try the offline demo").click()
    banner = page.get_by_text("replies are synthetic")
    expect(banner).to_be_visible()
    wait_for_app_idle(page)

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Hello from the demo")
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="You said:").last
    expect(answer).to_contain_text("You said: Hello from the demo")
    wait_for_app_idle(page)
    # The stored answer stays marked as synthetic in the history and its exports.
    expect(answer).to_contain_text("offline demo")

    for title in ("Documents", "Jobs", "Compare"):
        goto_page(page, title)
        expect(page.get_by_text("replies are synthetic")).to_be_visible()

    goto_page(page, "Chat")
    sidebar(page).get_by_role("button", name="Leave the offline demo").click()
    wait_for_app_idle(page)
    expect(page.get_by_text("replies are synthetic")).to_have_count(0)
    expect(sidebar(page)).to_contain_text("No API key yet")
    kept = page.get_by_test_id("stChatMessage").filter(has_text="You said: Hello from the demo")
    expect(kept).to_contain_text("offline demo")

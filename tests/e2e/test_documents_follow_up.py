"""Documents in the offline demo: a follow-up question is rewritten into a standalone one by
the emulator, retrieval uses both it and the question as asked, the page says what it searched
for, and a citation opens its PDF page as an image the app serves itself."""

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
from tests.e2e.test_documents_page import UI_TIMEOUT_MS, create_collection, make_pdf

pytestmark = pytest.mark.e2e
ANSWER_TIMEOUT_MS = 90_000
INDEX_TIMEOUT_MS = 300_000  # loads the embedding model first; generous for a busy machine


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app with no key and no Baseten URLs: the offline demo is the only way to answer."""
    with keyless_app_server(tmp_path_factory.mktemp("follow-up")) as server:
        yield server


@pytest.fixture()
def demo_page(
    browser: Browser, demo_app: AppServer, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    with open_app_page(browser, demo_app.url, screenshot_path(artifacts_dir, request)) as tab:
        yield tab


def ask(page: Page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    expect(page.get_by_test_id("stChatMessage").filter(has_text=question).first).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    wait_for_app_idle(page, timeout_ms=ANSWER_TIMEOUT_MS)


@pytest.mark.timeout(900)  # loads the embedding model and answers twice on a shared machine
def test_a_follow_up_in_the_offline_demo_finds_its_passage_and_opens_the_cited_page(
    demo_page: Page,
    demo_app: AppServer,
) -> None:
    page = demo_page
    sidebar(page).get_by_role("button", name="Try the offline demo").click()
    expect(page.get_by_text("replies are synthetic")).to_be_visible()
    wait_for_app_idle(page)
    goto_page(page, "Documents")
    create_collection(page, "Zoo report")
    page.locator('[class*="st-key-docs_upload_"] input[type=file]').set_input_files(
        [{"name": "zoo.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}]
    )
    expect(page.get_by_text("zoo.pdf").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    page.locator(".st-key-docs_index button").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="zoo.pdf")).to_contain_text(
        "Indexed 3 page(s)", timeout=INDEX_TIMEOUT_MS
    )
    wait_for_app_idle(page)

    ask(page, "Which animal lives in Oslo?")
    ask(page, "And what does it eat?")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="You said:").last
    expect(answer).to_contain_text("You said: And what does it eat?")
    expect(answer).to_contain_text(
        "searched for: “And what does it eat, regarding: Which animal lives in Oslo?” and the "
        "question as asked"
    )
    expect(answer).to_contain_text("Search: Hybrid: keywords + vectors")

    answer.get_by_text("Sources").click()
    expect(answer.get_by_text("[1] zoo.pdf, page 2")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(answer).to_contain_text("eats acacia leaves")
    answer.get_by_role("button", name="Open page").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("[1] zoo.pdf, page 2", timeout=UI_TIMEOUT_MS)
    image = dialog.locator("img")
    expect(image).to_have_count(1, timeout=UI_TIMEOUT_MS)
    # Served by the app itself from its media store: no file path, no other host.
    assert (image.get_attribute("src") or "").startswith(f"{demo_app.url.rstrip('/')}/media/")
    expect(dialog).not_to_contain_text("could not be located")

"""Untrusted text never makes the browser fetch anything (issue 15 §2).

A listener on a loopback port stands in for an attacker's server. Every place that shows text
from a model, a document or a person holds ``![x](http://127.0.0.1:PORT/exfil?...)`` and an
HTML ``<img>`` pointing at it: answers and questions, conversation titles, persona names and
prompts (imported from JSON), collection names, file names, quoted document passages and the
Compare page's answers. The listener must receive nothing, and the browser must ask for no
URL containing ``exfil`` (relative addresses would go to the app itself).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto_page, sidebar, wait_for_app_idle

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 30_000
INDEX_TIMEOUT_MS = 180_000  # the first upload loads the embedding model


class Listener:
    """An HTTP server on 127.0.0.1 that records the path of every request it gets."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, tag: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/exfil?{tag}"

    def attack(self, tag: str) -> str:
        """A Markdown image and an HTML image, both pointing at the listener."""
        return f'![x]({self.url(tag)}) <img src="{self.url(tag + "-html")}">'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture()
def fetched(page: Page) -> list[str]:
    """Every URL the browser asks for that mentions ``exfil``."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url) if "exfil" in request.url else None)
    return urls


def assert_nothing_fetched(page: Page, listener: Listener, fetched: list[str]) -> None:
    wait_for_app_idle(page)
    page.wait_for_load_state("networkidle")
    assert fetched == []
    assert listener.hits == []
    expect(page.locator("img[src*='exfil']")).to_have_count(0)


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_chat_answers_questions_and_titles_fetch_nothing(
    page: Page, listener: Listener, fetched: list[str], e2e_emulator
) -> None:
    send(page, "Look " + listener.attack("chat"))
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text(
        "You said: Look", timeout=UI_TIMEOUT_MS
    )
    wait_for_app_idle(page)
    answer = page.get_by_test_id("stChatMessage").last
    expect(answer).to_contain_text("image not loaded")
    expect(answer).to_contain_text("<img src=")  # the HTML is shown as text
    # the title (first question) is in the sidebar list and the page header
    expect(sidebar(page).get_by_role("button", name="Look").first).to_be_visible()
    expect(page.get_by_test_id("stHeading").first).to_contain_text("Look ![x](")
    page.reload()
    wait_for_app_idle(page)
    sidebar(page).get_by_role("button", name="Look").first.click()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2)
    assert_nothing_fetched(page, listener, fetched)


def test_imported_persona_names_and_prompts_fetch_nothing(
    page: Page, listener: Listener, fetched: list[str], e2e_emulator
) -> None:
    persona = {
        "name": f"Spy ![p]({listener.url('name')})",
        "system_prompt": "Be helpful. " + listener.attack("prompt"),
        "avatar": "🕵️",
    }
    sidebar(page).get_by_text("Manage personas").click()
    sidebar(page).locator(".st-key-chat_persona_import input[type=file]").set_input_files(
        [
            {
                "name": "personas.json",
                "mimeType": "application/json",
                "buffer": json.dumps({"personas": [persona]}).encode(),
            }
        ]
    )
    wait_for_app_idle(page)
    sidebar(page).locator(".st-key-chat_persona_import_go button").click()
    wait_for_app_idle(page)
    expect(sidebar(page).get_by_test_id("stAlertContentSuccess")).to_contain_text("Spy ![p](")
    box = sidebar(page).get_by_role("combobox", name="Persona")
    box.click()
    box.fill("Spy")
    page.get_by_role("option", name="Spy").click()
    wait_for_app_idle(page)
    prompt_caption = (
        sidebar(page).get_by_test_id("stCaptionContainer").filter(has_text="Be helpful.")
    )
    expect(prompt_caption).to_contain_text("<img src=")
    send(page, "hello")
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text(
        "You said: hello", timeout=UI_TIMEOUT_MS
    )
    wait_for_app_idle(page)
    expect(page.get_by_text("Persona: Spy ![p](")).to_be_visible()
    assert_nothing_fetched(page, listener, fetched)


def test_collection_names_file_names_and_quoted_passages_fetch_nothing(
    page: Page, listener: Listener, fetched: list[str], e2e_emulator
) -> None:
    goto_page(page, "Documents")
    page.get_by_role("button", name="New collection").click()
    name_box = page.locator(".st-key-docs_new_name input")
    name_box.fill(f"Leaks ![c]({listener.url('collection')})")
    name_box.press("Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-docs_create button").click()
    expect(page.get_by_text("No files in this collection yet.")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    wait_for_app_idle(page)
    passage = f"The secret harbour code is 4417. {listener.attack('passage')}\n"
    page.locator('[class*="st-key-docs_upload_"] input[type=file]').set_input_files(
        [
            # a relative image address would be fetched from the app itself
            {
                "name": "notes ![f](exfil-file.png).txt",
                "mimeType": "text/plain",
                "buffer": passage.encode(),
            },
        ]
    )
    expect(page.locator(".st-key-docs_index button")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    page.locator(".st-key-docs_index button").click()
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text(
        "Indexed", timeout=INDEX_TIMEOUT_MS
    )
    wait_for_app_idle(page)
    send(page, "What is the secret harbour code?")
    expect(page.get_by_text("Retrieval").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    page.get_by_text("Sources (1)").first.click()
    expect(page.get_by_text("notes ![f](exfil-file.png).txt").first).to_be_visible()
    expect(page.get_by_text("The secret harbour code is 4417.").first).to_be_visible()
    page.get_by_text("Manage collection").click()
    page.locator(".st-key-docs_delete button").click()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("Leaks ![c](")
    assert_nothing_fetched(page, listener, fetched)


def test_compare_answers_fetch_nothing(
    page: Page, listener: Listener, fetched: list[str], e2e_emulator
) -> None:
    goto_page(page, "Compare")
    model_id = page.locator(".st-key-cmp_model_id_1 input")
    model_id.fill("abcd1234")
    model_id.press("Enter")
    wait_for_app_idle(page)
    box = page.locator(".st-key-cmp_prompt textarea")
    box.fill("Compare " + listener.attack("compare"))
    box.press("Control+Enter")
    wait_for_app_idle(page)
    runs = page.locator(".st-key-cmp_repeats input")
    runs.fill("1")
    runs.press("Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-cmp_run button").click()
    expect(page.get_by_text("p50 / p95 per target")).to_be_visible(timeout=60_000)
    wait_for_app_idle(page, 60_000)
    expect(page.get_by_text("image not loaded").first).to_be_visible()
    assert_nothing_fetched(page, listener, fetched)

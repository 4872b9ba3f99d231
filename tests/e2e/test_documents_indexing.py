"""Indexing as a person sees it in the browser: a big file counts its embedded chunks as it
goes and can be canceled; a queued file can be canceled; a collection can be deleted while its
files are still waiting."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import goto_page, wait_for_app_idle
from tests.e2e.test_documents_page import create_collection
from tests.pdfs import make_pdf

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 30_000
INDEX_TIMEOUT_MS = 180_000
SENTENCE = "The harbour crane lifts containers from the ship onto the waiting trucks. "


def big_pdf(pages: int = 300) -> bytes:
    return make_pdf([f"Page {n}. " + SENTENCE * 40 for n in range(pages)])


def long_text(sections: int = 3000) -> bytes:
    """About 9 MB of text, some 8,000 chunks: ten times the work of :func:`big_pdf`, so it is
    still being embedded however slowly the page is driven, until the test deletes it."""
    return "".join(f"Section {n}. " + SENTENCE * 40 + "\n\n" for n in range(sections)).encode()


def upload(page: Page, files: list[tuple[str, bytes]]) -> None:
    page.locator('[class*="st-key-docs_upload_"] input[type=file]').set_input_files(
        [
            {"name": name, "mimeType": "application/octet-stream", "buffer": data}
            for name, data in files
        ]
    )
    expect(page.locator(".st-key-docs_index button")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    page.locator(".st-key-docs_index button").click()


def progress_text(page: Page, filename: str) -> Locator:
    return page.get_by_test_id("stProgress").filter(has_text=filename)


def cancel_button(page: Page, filename: str) -> Locator:
    row = page.get_by_test_id("stHorizontalBlock").filter(has=progress_text(page, filename))
    return row.get_by_role("button", name="Cancel").filter(visible=True)


def test_a_big_file_counts_its_embedded_chunks_and_can_be_canceled(page: Page) -> None:
    goto_page(page, "Documents")
    create_collection(page, "Harbour manual")
    upload(page, [("harbour.pdf", big_pdf())])

    bar = progress_text(page, "harbour.pdf")
    expect(bar).to_contain_text(re.compile(r"\d+ of \d+ chunks embedded"), timeout=INDEX_TIMEOUT_MS)
    first = int(re.search(r"(\d+) of", bar.inner_text()).group(1))
    expect(bar).not_to_contain_text(f" {first} of ", timeout=INDEX_TIMEOUT_MS)  # it moves
    cancel_button(page, "harbour.pdf").click()

    canceled = page.get_by_test_id("stAlertContentInfo").filter(has_text="harbour.pdf")
    expect(canceled).to_contain_text(
        "Canceled: nothing from this file was added", timeout=INDEX_TIMEOUT_MS
    )
    wait_for_app_idle(page)
    expect(page.get_by_text("No files in this collection yet.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"0 files, 0 chunks"))).to_be_visible()


def test_a_queued_file_is_canceled_and_the_collection_deleted_while_one_runs(
    page: Page,
) -> None:
    goto_page(page, "Documents")
    create_collection(page, "Busy shelf")
    # The long file must still run when Delete is pressed (a 300-page PDF could finish first
    # on a slow run, and then nothing is left to cancel): it is far too long to finish here.
    upload(page, [("harbour.txt", long_text()), ("note.txt", b"Lunch is at noon.")])
    expect(progress_text(page, "harbour.txt")).to_contain_text(
        re.compile(r"chunks embedded|Chunking|Parsing"), timeout=INDEX_TIMEOUT_MS
    )
    queued = progress_text(page, "note.txt")
    expect(queued).to_contain_text("Queued")
    cancel_button(page, "note.txt").click()
    expect(page.get_by_test_id("stAlertContentInfo").filter(has_text="note.txt")).to_contain_text(
        "Canceled", timeout=UI_TIMEOUT_MS
    )
    # The big one still runs, past chunking (which cannot stop half-way), so Delete stops it.
    expect(progress_text(page, "harbour.txt")).to_contain_text(
        "chunks embedded", timeout=INDEX_TIMEOUT_MS
    )

    page.get_by_text("Manage collection").click()
    page.locator(".st-key-docs_delete button").click()
    expect(page.get_by_text("Files still queued or being indexed are canceled.")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    page.locator(".st-key-docs_delete_confirm button").click()
    wait_for_app_idle(page, timeout_ms=INDEX_TIMEOUT_MS)
    expect(page.get_by_text("Busy shelf")).to_have_count(0, timeout=INDEX_TIMEOUT_MS)

"""The Documents page in a real browser: upload a PDF and a DOCX, ask, see the citation, and
find the retrieved passage in what the emulator received."""

from __future__ import annotations

import io

import docx
import pytest
from fpdf import FPDF
from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto_page, wait_for_app_idle

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 30_000  # a busy machine can take a while to upload or redraw
INDEX_TIMEOUT_MS = 180_000  # the first upload loads the embedding model
ANSWER_PASSAGE = "The violet giraffe lives in Oslo and eats acacia leaves."


def make_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in (
        "Annual report of the city zoo. Visitors rose by ten percent.",
        ANSWER_PASSAGE,
        "The aquarium was repainted blue during the winter closure.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Cafeteria", level=1)
    document.add_paragraph("The cafeteria serves tomato soup on Tuesdays and fish on Fridays.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def create_collection(page: Page, name: str) -> None:
    page.get_by_role("button", name="New collection").click()
    box = page.locator(".st-key-docs_new_name input")
    box.fill(name)
    box.press("Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-docs_create button").click()
    # The previous collection's page (its model, its "No files…") is still on screen until the
    # run that opens the new one draws the picker on it: wait for that, then for the run's end.
    expect(page.locator(".st-key-docs_collection input")).to_have_value(name, timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    expect(page.get_by_text("all-MiniLM-L6-v2").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    # Shown only once the run that opens the new, empty collection has finished: setting files
    # on an uploader that a still-pending rerun redraws would lose them.
    expect(page.get_by_text("No files in this collection yet.")).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    wait_for_app_idle(page)


def upload_files(page: Page) -> None:
    page.locator('[class*="st-key-docs_upload_"] input[type=file]').set_input_files(
        [
            {"name": "zoo.pdf", "mimeType": "application/pdf", "buffer": make_pdf()},
            {
                "name": "cafeteria.docx",
                "buffer": make_docx(),
                "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            },
        ]
    )
    expect(page.get_by_text("cafeteria.docx").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    wait_for_app_idle(page)
    page.locator(".st-key-docs_index button").click()
    success = page.get_by_test_id("stAlertContentSuccess")
    expect(success.filter(has_text="zoo.pdf")).to_contain_text(
        "Indexed 3 page(s)", timeout=INDEX_TIMEOUT_MS
    )
    expect(success.filter(has_text="cafeteria.docx")).to_contain_text(
        "Indexed", timeout=INDEX_TIMEOUT_MS
    )


def test_an_answer_cites_the_pdf_page_and_sends_its_passage_to_the_model(
    page: Page, e2e_emulator, artifacts_dir
) -> None:
    goto_page(page, "Documents")
    create_collection(page, "City zoo")
    upload_files(page)

    question = page.get_by_test_id("stChatInputTextArea")
    question.fill("Where does the violet giraffe live?")
    question.press("Enter")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="You said:").last
    expect(answer).to_contain_text("Where does the violet giraffe live?", timeout=60_000)
    wait_for_app_idle(page, timeout_ms=60_000)
    answer = page.get_by_test_id("stChatMessage").filter(has_text="You said:").last
    expect(answer).to_contain_text("Retrieval", timeout=UI_TIMEOUT_MS)
    answer.get_by_text("Sources").click()
    expect(answer.get_by_text("[1] zoo.pdf, page 2")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(answer).to_contain_text("acacia leaves")
    expect(answer).not_to_contain_text("cafeteria.docx")
    page.screenshot(path=str(artifacts_dir / "documents_page.png"), full_page=True)

    chats = [r for r in e2e_emulator.requests() if r["path"].endswith("/chat/completions")]
    assert chats, "the model was never called"
    system = chats[-1]["body"]["messages"][0]["content"]
    assert ANSWER_PASSAGE in system and "zoo.pdf, page 2" in system
    assert "tomato soup" not in system

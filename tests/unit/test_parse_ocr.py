"""Scanned pages: a PDF page without a text layer is read by the real Tesseract, page by page,
and marked as read with OCR; without Tesseract the PDF is refused with advice. The scans are
drawn here by Pillow and wrapped into a PDF with no text layer."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytesseract
import pytest
from pypdf import PdfReader, PdfWriter

from chatapp.services import ingest, parse_worker
from tests.pdfs import make_pdf, make_scanned_pdf


@pytest.fixture(autouse=True, scope="module")
def stop_workers() -> Iterator[None]:
    yield
    parse_worker.shutdown()


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_a_scanned_page_is_read_with_ocr_and_marked_as_such() -> None:
    data = make_scanned_pdf(
        [
            "The kangaroo invoice is due on Friday at noon.",
            "Zebras prefer quiet libraries in winter.",
        ]
    )
    assert not PdfReader(io.BytesIO(data)).pages[0].extract_text().strip()  # no text layer
    parsed = ingest.parse_file("scan.pdf", data)
    assert [d.metadata["page"] for d in parsed.documents] == [1, 2]
    assert all(d.metadata["ocr"] is True for d in parsed.documents)
    assert {"kangaroo", "invoice", "friday", "noon"} <= words(parsed.documents[0].text)
    assert {"zebras", "quiet", "libraries", "winter"} <= words(parsed.documents[1].text)
    assert parsed.warning == "Page(s) 1-2 had no text layer and were read with OCR."


def test_only_the_pages_without_text_go_through_ocr_in_a_mixed_pdf() -> None:
    writer = PdfWriter()
    scan = make_scanned_pdf(["Walrus tusks grow all their lives."])
    for part in (make_pdf(["Typed page about otters."]), scan):
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    parsed = ingest.parse_file("mixed.pdf", out.getvalue())
    typed, scanned = parsed.documents
    assert (typed.metadata["page"], "ocr" in typed.metadata) == (1, False)
    assert (scanned.metadata["page"], scanned.metadata["ocr"]) == (2, True)
    assert {"walrus", "tusks", "lives"} <= words(scanned.text)


def test_the_ocr_mark_is_kept_for_citations_but_not_embedded() -> None:
    parsed = ingest.parse_file("scan.pdf", make_scanned_pdf(["Penguins nest on rocky shores."]))
    chunked = ingest.chunk_file(parsed, "e" * 64, chunk_size=128, chunk_overlap=16)
    assert chunked.nodes[0].metadata["ocr"] is True
    assert "ocr" not in chunked.nodes[0].get_content(metadata_mode="embed")


def test_ocr_in_the_worker_reports_progress_for_every_page() -> None:
    data = make_scanned_pdf(
        ["Page one mentions herons.", "Page two mentions storks.", "Page three mentions cranes."]
    )
    seen: list[tuple[int, int]] = []
    parsed = parse_worker.parse_isolated(
        "birds.pdf", data, on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert "cranes" in words(parsed.documents[2].text)
    assert parsed.documents[2].metadata["ocr"] is True


def test_without_tesseract_a_scanned_pdf_is_refused_with_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(
        ingest.ScannedPdfError,
        match=(
            r"scan\.pdf has 1 page\(s\) but no text layer: it looks like a scan, and OCR"
            r" \(Tesseract\) is not installed here\. Install tesseract-ocr"
        ),
    ):
        ingest.parse_file("scan.pdf", make_scanned_pdf(["Nobody will read this."]))

"""PDF uploads through PDFium (``pypdfium2``), with OCR for pages that have no text layer.

PDFium extracts the same words as ``pypdf`` about twelve times faster on real manuals (see
``bench/bench_parsing.py``) and renders pages, which OCR needs. A page without a text layer is
rendered to a grey-scale image and read by Tesseract (``pytesseract``; Debian's
``tesseract-ocr`` and ``tesseract-ocr-eng``); its section is marked ``ocr: True``. Without
Tesseract, such pages are skipped and a PDF with no text at all is refused with advice.
The page count is checked before any page is read; characters are counted page by page.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from chatapp.services.parse_formats import ParsedSections, Section, ranges
from chatapp.services.parse_limits import (
    Budget,
    CorruptFileError,
    EmptyFileError,
    EncryptedPdfError,
    ScannedPdfError,
)

if TYPE_CHECKING:
    import pypdfium2 as pdfium

OCR_DPI = 300
OCR_MAX_PIXELS = 40_000_000  # a page is rendered smaller rather than bigger than this
OCR_LANGUAGE = "eng"
_PASSWORD_ERRORS = {4, 5}  # PDFium: FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY


def _open(filename: str, data: bytes) -> pdfium.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) in _PASSWORD_ERRORS:
            raise EncryptedPdfError(
                f"{filename} is password-protected. Remove the password (e.g. print to a new"
                " PDF) and upload it again."
            ) from exc
        raise CorruptFileError(
            f"{filename} could not be read as PDF: the file is damaged or is not really a PDF."
            " Open it in a PDF viewer, save or print it to a new PDF, and upload that."
        ) from exc


def parse_pdf(filename: str, data: bytes, budget: Budget) -> ParsedSections:
    document = _open(filename, data)
    try:
        total = len(document)
        if total == 0:
            raise EmptyFileError(f"{filename} has no pages.")
        budget.check_pages(total)
        ocr = _Ocr()
        docs: list[Section] = []
        blank: list[int] = []
        for number in range(1, total + 1):
            section = _read_page(document, number, ocr)
            if section is None:
                blank.append(number)
            else:
                budget.add_chars(len(section.text))
                docs.append(section)
            budget.page_done(number, total)
    finally:
        document.close()
    if not docs:
        raise _scanned(filename, total, ocr)
    return ParsedSections("pdf", docs, total, _warning(docs, blank, ocr))


def _read_page(document: pdfium.PdfDocument, number: int, ocr: _Ocr) -> Section | None:
    page = document[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
        finally:
            textpage.close()
        if text:
            return Section(text, {"page": number})
        text = ocr.read(page)
        return Section(text, {"page": number, "ocr": True}) if text else None
    finally:
        page.close()


class _Ocr:
    """Tesseract for pages without text; ``available`` turns False at its not-found error."""

    def __init__(self) -> None:
        self.available: bool | None = None  # None: not tried yet

    def read(self, page: pdfium.PdfPage) -> str:
        if self.available is False:
            return ""
        try:
            import pytesseract
        except ImportError:
            self.available = False
            return ""
        width, height = page.get_size()  # points (1/72 inch)
        scale = min(OCR_DPI / 72, math.sqrt(OCR_MAX_PIXELS / max(width * height, 1.0)))
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            text = pytesseract.image_to_string(bitmap.to_pil(), lang=OCR_LANGUAGE)
        except pytesseract.TesseractNotFoundError:
            self.available = False
            return ""
        finally:
            bitmap.close()
        self.available = True
        return str(text).strip()


def _scanned(filename: str, total: int, ocr: _Ocr) -> ScannedPdfError:
    if ocr.available:
        return ScannedPdfError(
            f"{filename} has {total} page(s) but no text, even with OCR: the pages may be"
            " blank, or the scan too faint to read. Scan it again at a higher resolution."
        )
    return ScannedPdfError(
        f"{filename} has {total} page(s) but no text layer: it looks like a scan, and OCR"
        " (Tesseract) is not installed here. Install tesseract-ocr, or run OCR on it (e.g."
        " ocrmypdf) and upload the result."
    )


def _warning(docs: list[Section], blank: list[int], ocr: _Ocr) -> str | None:
    notes = []
    read_by_ocr = [int(d.metadata["page"]) for d in docs if d.metadata.get("ocr")]
    if read_by_ocr:
        notes.append(f"Page(s) {ranges(read_by_ocr)} had no text layer and were read with OCR.")
    if blank and ocr.available:
        notes.append(f"No text found on page(s) {ranges(blank)}, even with OCR: skipped.")
    elif blank:
        notes.append(f"No extractable text on page(s) {ranges(blank)} (scanned images?): skipped.")
    return " ".join(notes) or None

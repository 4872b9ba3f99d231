"""Documents the tests generate themselves."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF


def make_pdf(pages: Sequence[str | None]) -> bytes:
    """A PDF with one page per entry; ``None`` draws a picture-only page (no text layer)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.set_fill_color(120, 120, 120)
            pdf.rect(20, 20, 150, 200, style="F")
        else:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())

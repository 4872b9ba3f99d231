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


def make_scanned_pdf(pages: Sequence[str], dpi: int = 200) -> bytes:
    """A PDF of page images only (no text layer), with ``pages`` drawn as text by Pillow: what
    a scanner makes. Each page is A4 at ``dpi``; lines wrap at about 40 characters."""
    import io
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=dpi // 5)
    images = []
    for text in pages:
        image = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), color=255)
        draw = ImageDraw.Draw(image)
        draw.multiline_text(
            (dpi // 2, dpi // 2), textwrap.fill(text, 40), font=font, fill=0, spacing=dpi // 10
        )
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=float(dpi), save_all=True, append_images=images[1:])
    return out.getvalue()

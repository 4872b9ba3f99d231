"""The cited page of a PDF as an image, with the quoted passage highlighted (pypdfium2).

An indexed PDF's bytes are kept in the database (:mod:`chatapp.services.originals`), so a
citation can open its page later on any replica. Older versions kept them on disk under
``<data_dir>/originals/<collection id>/<sha256>.pdf``; the disk helpers here
(:func:`original_path` and its neighbours) remain to find and move such copies. The page is rendered to PNG bytes here and handed to the page as an image: no file
path and no remote address ever reaches the browser.

The passage is found on the page line by line with PDFium's own text search (the passage's
text came from the same page, possibly through another extractor, so whole lines match even
when line breaks or spacing differ), and each match's rectangles are painted over in yellow.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ORIGINALS = "originals"
MAX_LINES = 400
MIN_LINE = 4
DEFAULT_SCALE = 1.6
HIGHLIGHT = (255, 221, 0, 110)


@dataclass
class RenderedPage:
    """A page image (PNG) and how many passage lines were found and highlighted on it."""

    png: bytes
    highlighted: int
    width: int
    height: int


def originals_dir(data_dir: Path, collection_id: str) -> Path:
    """Where a collection's original PDFs are kept."""
    return Path(data_dir) / ORIGINALS / collection_id


def original_path(data_dir: Path, collection_id: str, sha256: str) -> Path:
    """The kept copy of one indexed PDF (it may not exist)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValueError("Not a file hash.")
    return originals_dir(data_dir, collection_id) / f"{sha256}.pdf"


def keep_original(data_dir: Path, collection_id: str, sha256: str, data: bytes) -> Path:
    """Keep an indexed PDF's bytes so its pages can be shown; written atomically."""
    path = original_path(data_dir, collection_id, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def remove_original(data_dir: Path, collection_id: str, sha256: str) -> None:
    """Forget a removed file's kept PDF (nothing happens when there is none)."""
    original_path(data_dir, collection_id, sha256).unlink(missing_ok=True)


def remove_collection_originals(data_dir: Path, collection_id: str) -> None:
    """Forget every kept PDF of a deleted collection."""
    shutil.rmtree(originals_dir(data_dir, collection_id), ignore_errors=True)


def passage_lines(passage: str) -> list[str]:
    """The passage's distinct lines worth searching for, whitespace collapsed."""
    seen: dict[str, None] = {}
    for line in passage.splitlines():
        text = " ".join(line.split())
        if len(text) >= MIN_LINE:
            seen.setdefault(text)
    return list(seen)[:MAX_LINES]


def render_page(
    pdf: Path | bytes, page_number: int, passage: str = "", scale: float = DEFAULT_SCALE
) -> RenderedPage:
    """Page ``page_number`` (1-based) of ``pdf`` as PNG, ``passage`` highlighted.

    Raises ``ValueError`` when the page does not exist.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        if not 1 <= page_number <= len(document):
            raise ValueError(f"The document has {len(document)} page(s), not {page_number}.")
        page = document[page_number - 1]
        image = page.render(scale=scale).to_pil().convert("RGBA")
        boxes = _passage_boxes(page, passage)
        _, height = page.get_size()
    finally:
        document.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top, _ in boxes:
        draw.rectangle(
            [left * scale, (height - top) * scale, right * scale, (height - bottom) * scale],
            fill=HIGHLIGHT,
        )
    merged = Image.alpha_composite(image, overlay).convert("RGB")
    out = io.BytesIO()
    merged.save(out, format="PNG", optimize=True)
    found = len({b[4] for b in boxes}) if boxes else 0
    return RenderedPage(out.getvalue(), found, merged.width, merged.height)


def _passage_boxes(page: object, passage: str) -> list[tuple[float, float, float, float, int]]:
    """Rectangles (PDF points) of each passage line found on the page, tagged by line."""
    textpage = page.get_textpage()  # type: ignore[attr-defined]
    boxes: list[tuple[float, float, float, float, int]] = []
    try:
        for number, line in enumerate(passage_lines(passage)):
            searcher = textpage.search(line, match_case=False, match_whole_word=False)
            try:
                hit = searcher.get_next()
            finally:
                searcher.close()
            if hit is None:
                continue
            index, count = hit
            for rect in range(textpage.count_rects(index, count)):
                left, bottom, right, top = textpage.get_rect(rect)
                boxes.append((left, bottom, right, top, number))
    finally:
        textpage.close()
    return boxes

"""The cited PDF page as an image, with the quoted passage highlighted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from chatapp.services import page_view
from tests.pdfs import make_pdf

SHA = "ab" * 32


def yellow_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in image.getdata() if r > 200 and g > 180 and b < 150)


def test_the_cited_page_is_rendered_with_its_passage_highlighted() -> None:
    data = make_pdf(
        ["A first page about budgets.", "The violet giraffe lives in Oslo.\nIt eats acacia leaves."]
    )
    plain = page_view.render_page(data, 2)
    marked = page_view.render_page(data, 2, "The violet giraffe lives in Oslo.")
    assert Image.open(io.BytesIO(marked.png)).format == "PNG"
    assert marked.highlighted == 1 and plain.highlighted == 0
    assert yellow_pixels(plain.png) == 0 and yellow_pixels(marked.png) > 500


def test_a_passage_from_another_page_highlights_nothing() -> None:
    data = make_pdf(["A first page about budgets.", "The violet giraffe lives in Oslo."])
    assert page_view.render_page(data, 1, "The violet giraffe lives in Oslo.").highlighted == 0


def test_a_page_the_document_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="1 page"):
        page_view.render_page(make_pdf(["only page"]), 3)


def test_originals_are_kept_per_collection_and_removed_with_their_file(tmp_path: Path) -> None:
    path = page_view.keep_original(tmp_path, "c1", SHA, b"%PDF-1.4 test")
    assert path == tmp_path / "originals" / "c1" / f"{SHA}.pdf" and path.read_bytes()
    page_view.remove_original(tmp_path, "c1", SHA)
    assert not path.exists()
    page_view.keep_original(tmp_path, "c1", SHA, b"x")
    page_view.remove_collection_originals(tmp_path, "c1")
    assert not (tmp_path / "originals" / "c1").exists()


def test_only_a_file_hash_names_a_kept_original(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        page_view.original_path(tmp_path, "c1", "../../etc/passwd")

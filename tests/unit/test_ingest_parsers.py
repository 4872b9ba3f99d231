"""Parsing uploads: every supported type keeps where its text came from; bad input is refused
with its own message. Files are generated here (fpdf2, pypdf, python-docx)."""

from __future__ import annotations

import io
import json
import re

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from chatapp.services import ingest
from tests.pdfs import make_pdf

#: What a message meant for a programmer looks like: an exception class or a library's words.
DEVELOPER_WORDS = re.compile(
    r"[A-Z][a-z]+(Error|Exception)\b|startxref|Errno|Traceback|PDFium|"
    r"\(\w+: "
)


def assert_plain_words(message: str) -> None:
    assert not DEVELOPER_WORDS.search(message), message


def make_docx(sections: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pdf_text_is_kept_per_page_with_its_page_number() -> None:
    parsed = ingest.parse_file("r.pdf", make_pdf(["Alpha intro.", "Beta details.", "Gamma end."]))
    assert parsed.pages == 3
    assert [(d.metadata["page"], d.text) for d in parsed.documents] == [
        (1, "Alpha intro."),
        (2, "Beta details."),
        (3, "Gamma end."),
    ]
    assert parsed.warning is None


def test_pdf_pages_without_text_are_named_in_a_warning() -> None:
    parsed = ingest.parse_file("mixed.pdf", make_pdf(["Text page.", None, None, "More text."]))
    assert [d.metadata["page"] for d in parsed.documents] == [1, 4]
    assert "page(s) 2-3" in parsed.warning


def test_a_pdf_with_only_pictures_and_no_words_is_refused_even_after_ocr() -> None:
    with pytest.raises(ingest.ScannedPdfError, match="no text, even with OCR"):
        ingest.parse_file("scan.pdf", make_pdf([None, None]))


def test_an_encrypted_pdf_is_refused_as_password_protected() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret plans."]))))
    writer.encrypt(user_password="hunter2", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ingest.EncryptedPdfError, match="password-protected"):
        ingest.parse_file("locked.pdf", out.getvalue())


def test_a_corrupt_pdf_is_refused_as_damaged() -> None:
    with pytest.raises(ingest.CorruptFileError, match="could not be read as PDF") as caught:
        ingest.parse_file("broken.pdf", b"%PDF-1.7\nthis is not really a pdf at all")
    assert_plain_words(str(caught.value))


def test_docx_text_is_grouped_under_its_headings() -> None:
    data = make_docx([("Install", "Run the installer."), ("Usage", "Open the app.")])
    parsed = ingest.parse_file("guide.docx", data)
    assert [(d.metadata["section"], d.text) for d in parsed.documents] == [
        ("Install", "Run the installer."),
        ("Usage", "Open the app."),
    ]


def test_docx_nested_headings_tables_and_line_breaks_are_kept() -> None:
    document = docx.Document()
    document.add_heading("Guide", level=0)
    document.add_paragraph("About this guide.")
    document.add_heading("Setup", level=1)
    para = document.add_paragraph("Step one")
    para.add_run().add_break()
    para.add_run("then\tstep two.")
    document.add_heading("Details", level=2)
    document.add_paragraph("Fine print.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"r{r}c{c}"
    out = io.BytesIO()
    document.save(out)
    parsed = ingest.parse_file("g.docx", out.getvalue())
    assert [(d.metadata["section"], d.text) for d in parsed.documents] == [
        ("Guide", "About this guide."),
        ("Setup", "Step one\nthen\tstep two."),
        ("Setup › Details", "Fine print."),
        ("Table", "r0c0 | r0c1\nr1c0 | r1c1"),
    ]


def test_a_corrupt_docx_is_refused() -> None:
    with pytest.raises(ingest.CorruptFileError, match="DOCX") as caught:
        ingest.parse_file("bad.docx", b"PK\x03\x04 not a zip really")
    assert_plain_words(str(caught.value))


def test_markdown_sections_carry_their_heading_path_and_ignore_hashes_in_code() -> None:
    text = "# Guide\nIntro.\n## Setup\nStep one.\n```\n# not a heading\n```\n# FAQ\nAnswers."
    parsed = ingest.parse_file("g.md", text.encode())
    sections = {d.metadata.get("section"): d.text for d in parsed.documents}
    assert sections["Guide"] == "Intro."
    assert "# not a heading" in sections["Guide › Setup"]
    assert sections["FAQ"] == "Answers."


def test_html_is_split_by_headings_without_scripts_or_styles() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><h1>Prices</h1><p>Tea costs 3.</p>"
        "<script>alert(1)</script><h2>Offers</h2><p>Two for one.</p></body></html>"
    )
    parsed = ingest.parse_file("p.html", html.encode())
    sections = {d.metadata["section"]: d.text for d in parsed.documents}
    assert sections == {"Prices": "Tea costs 3.", "Prices › Offers": "Two for one."}


def test_html_inline_tags_do_not_split_a_sentence_and_blocks_do() -> None:
    html = (
        "<h2>Menu</h2><p>Tea <b>costs</b> 3 &amp; <a href='#'>cake</a> 4.</p>"
        "<ul><li>Scones<li>Jam</ul><pre>line one\nline two</pre>"
    )
    parsed = ingest.parse_file("m.html", html.encode())
    assert parsed.documents[0].text == "Tea costs 3 & cake 4.\nScones\nJam\nline one\nline two"


def test_csv_rows_are_cited_by_their_row_range() -> None:
    rows = "city,country\n" + "\n".join(f"City{i},Land{i}" for i in range(30))
    parsed = ingest.parse_file("c.csv", rows.encode())
    assert [d.metadata["section"] for d in parsed.documents] == ["rows 2-26", "rows 27-31"]
    assert "city: City0; country: Land0" in parsed.documents[0].text


def test_a_csv_with_only_a_header_is_refused_as_empty() -> None:
    with pytest.raises(ingest.EmptyFileError, match="no data rows"):
        ingest.parse_file("h.csv", b"a,b\n")


def test_json_arrays_are_cited_by_item_range_and_objects_by_key() -> None:
    items = ingest.parse_file("a.json", json.dumps([{"n": i} for i in range(30)]).encode())
    assert [d.metadata["section"] for d in items.documents] == ["items 1-25", "items 26-30"]
    obj = ingest.parse_file("o.json", json.dumps({"owner": "Ada", "size": 3}).encode())
    assert [d.metadata["section"] for d in obj.documents] == ["owner", "size"]


def test_invalid_json_is_refused_with_the_position_of_the_error() -> None:
    with pytest.raises(ingest.CorruptFileError, match=r"not valid JSON.*line 1, column 9"):
        ingest.parse_file("bad.json", b'{"a": 1,,}')


def test_legacy_encoded_text_is_decoded() -> None:
    text = "Café crème brûlée à la française, naïve façade. Über straße."
    parsed = ingest.parse_file("fr.txt", text.encode("cp1252"))
    assert parsed.documents[0].text == text


def test_text_in_an_unknown_encoding_is_refused() -> None:
    noise = bytes((i * 7919 + 13) % 256 for i in range(3000))
    with pytest.raises(ingest.UnknownEncodingError, match="Save the file as UTF-8"):
        ingest.parse_file("noise.txt", noise)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ingest.EmptyFileError, match="empty"):
        ingest.parse_file("e.txt", b"")
    with pytest.raises(ingest.EmptyFileError):
        ingest.parse_file("blank.md", b"  \n\n  ")


def test_an_unsupported_type_is_refused_naming_what_is_supported() -> None:
    with pytest.raises(ingest.UnsupportedTypeError, match=r"'.exe' files are not supported.*PDF"):
        ingest.parse_file("setup.exe", b"MZ")
    with pytest.raises(ingest.UnsupportedTypeError, match=r"Save it as .docx"):
        ingest.parse_file("old.doc", b"data")


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(ingest.FileTooLargeError, match="over the 0 MB limit"):
        ingest.parse_file("big.txt", b"x" * 2000, max_bytes=1000)


def test_chunks_point_back_to_their_file_and_keep_their_page() -> None:
    parsed = ingest.parse_file("r.pdf", make_pdf(["Alpha " * 300, "Beta " * 10]))
    chunked = ingest.chunk_file(parsed, "f" * 64, chunk_size=128, chunk_overlap=16)
    assert len(chunked.nodes) > 2
    assert {n.ref_doc_id for n in chunked.nodes} == {"f" * 64}
    assert chunked.nodes[-1].metadata["page"] == 2
    assert "sha256" not in chunked.nodes[0].get_content(metadata_mode="embed")

"""Hostile uploads are refused while they are read, with a message that names the limit and
the setting that raises it; the server process's memory stays flat while they are parsed.
Every attack file is generated here."""

from __future__ import annotations

import io
import threading
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from typing import TypeVar

import docx
import psutil
import pytest

from chatapp.services import ingest, parse_worker
from chatapp.services.parse_limits import ParseLimits
from tests.pdfs import make_pdf

T = TypeVar("T")
MB = 1024 * 1024
DOCUMENT_XML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
    b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
DOCUMENT_XML_TAIL = b"</w:body></w:document>"


@pytest.fixture(autouse=True, scope="module")
def stop_workers() -> Iterator[None]:
    yield
    parse_worker.shutdown()


def docx_with_body(pieces: Iterator[bytes]) -> bytes:
    """A real Word file (python-docx's parts) whose document.xml body is ``pieces``, written
    to the zip a piece at a time."""
    base = io.BytesIO()
    docx.Document().save(base)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(base) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info, source.read(info))
        with target.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(DOCUMENT_XML_HEAD)
            for piece in pieces:
                member.write(piece)
            member.write(DOCUMENT_XML_TAIL)
    return out.getvalue()


def repeated(unit: bytes, times: int, batch: int = 100_000) -> Iterator[bytes]:
    for start in range(0, times, batch):
        yield unit * min(batch, times - start)


def peak_python_allocation(work: Callable[[], object]) -> int:
    """Bytes allocated by Python at the peak of ``work`` (beyond what was held before)."""
    tracemalloc.start()
    try:
        try:
            work()
        finally:
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def with_peak_rss(work: Callable[[], T]) -> tuple[T | BaseException, int]:
    """Run ``work`` while sampling this process's resident memory; returns its result (or
    the exception it raised) and the peak growth in bytes."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        outcome: T | BaseException = work()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test to assert on
        outcome = exc
    finally:
        done.set()
        sampler.join()
    return outcome, peak - baseline


# --- the DOCX bomb of issue 15 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A tiny paragraph repeated 15 million times: 1.5 MB packed, 500+ MB unpacked."""
    paragraph = b"<w:p><w:r><w:t>boom</w:t></w:r></w:p>"
    return docx_with_body(repeated(paragraph, 15_000_000))


def test_the_docx_bomb_is_refused_in_the_worker_while_server_memory_stays_flat(
    docx_bomb: bytes,
) -> None:
    assert len(docx_bomb) < 2 * MB
    parse_worker.warm_up()
    outcome, growth = with_peak_rss(lambda: parse_worker.parse_isolated("bomb.docx", docx_bomb))
    assert isinstance(outcome, ingest.LimitExceededError), outcome
    assert str(outcome) == (
        "bomb.docx has more than 200,000 paragraphs (limit 200,000). Split it into smaller"
        " files, or raise BASETEN_CHAT_MAX_PARAGRAPHS if you trust it."
    )
    assert growth < 40 * MB, f"the server grew by {growth / MB:.0f} MB"


def test_the_docx_bomb_parser_itself_holds_little_memory_before_it_refuses(
    docx_bomb: bytes,
) -> None:
    outcome, growth = with_peak_rss(lambda: ingest.parse_file("bomb.docx", docx_bomb))
    assert isinstance(outcome, ingest.LimitExceededError), outcome
    assert growth < 60 * MB, f"the parser grew the process by {growth / MB:.0f} MB"


def test_a_docx_member_that_unpacks_like_a_zip_bomb_is_refused_by_its_ratio() -> None:
    run = b"<w:r><w:t>" + b"a" * 4000 + b"</w:t></w:r>"
    data = docx_with_body(iter([b"<w:p>", *repeated(run, 75_000, 5_000), b"</w:p>"]))
    limits = ParseLimits(max_chars=10**10)
    with pytest.raises(
        ingest.LimitExceededError,
        match=(
            r"bomb\.docx unpacks to more than 100 times its packed size \(word/document\.xml;"
            r" limit 100x\).*BASETEN_CHAT_MAX_COMPRESSION_RATIO"
        ),
    ):
        ingest.parse_file("bomb.docx", data, limits=limits)


def test_a_docx_that_unpacks_past_the_size_limit_is_refused_naming_it() -> None:
    run = b"<w:r><w:t>" + b"a" * 4000 + b"</w:t></w:r>"
    data = docx_with_body(iter([b"<w:p>", *repeated(run, 5_000, 1_000), b"</w:p>"]))
    limits = ParseLimits(max_chars=10**10, max_compression_ratio=10**6, max_unpacked_mb=5)
    with pytest.raises(
        ingest.LimitExceededError,
        match=(
            r"expands to more than 5 MB when unpacked \(word/document\.xml; limit 5 MB\).*"
            "BASETEN_CHAT_MAX_UNPACKED_MB"
        ),
    ):
        ingest.parse_file("big.docx", data, limits=limits)


def test_docx_text_past_the_character_limit_is_refused_while_reading() -> None:
    data = docx_with_body(repeated(b"<w:p><w:r><w:t>twelve chars</w:t></w:r></w:p>", 1000))
    with pytest.raises(
        ingest.LimitExceededError,
        match=(
            r"holds more than 5,000 characters of text \(limit 5,000\).*"
            "BASETEN_CHAT_MAX_TEXT_CHARS"
        ),
    ):
        ingest.parse_file("long.docx", data, limits=ParseLimits(max_chars=5000))


# --- nesting ----------------------------------------------------------------------------------


def test_json_nested_a_hundred_thousand_deep_is_refused_by_depth_not_a_recursion_crash() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(
        ingest.LimitExceededError,
        match=(
            r"deep\.json is nested more than 200 levels deep \(limit 200\).*"
            "BASETEN_CHAT_MAX_NESTING"
        ),
    ):
        ingest.parse_file("deep.json", data)


def test_brackets_inside_json_strings_do_not_count_as_nesting() -> None:
    data = b'{"note": "' + b"[{" * 1000 + b'\\" ]]"}'
    parsed = ingest.parse_file("flat.json", data)
    assert parsed.documents[0].metadata["section"] == "note"


def test_html_nested_a_hundred_thousand_deep_is_refused_by_depth() -> None:
    data = b"<html><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000
    with pytest.raises(ingest.LimitExceededError, match="nested more than 200 levels deep"):
        ingest.parse_file("deep.html", data)


def test_html_paragraphs_and_list_items_left_open_do_not_count_as_nesting() -> None:
    data = b"<h1>List</h1><ul>" + b"<li><p>item" * 5000 + b"</ul>"
    parsed = ingest.parse_file("loose.html", data)
    assert parsed.documents[0].text.count("item") == 5000


# --- big text ---------------------------------------------------------------------------------


def test_a_one_line_fifty_megabyte_csv_is_streamed_and_refused_at_its_row_limit() -> None:
    data = b"a," * (25 * MB - 100)  # 49.9 MB, no newline
    outcome: list[BaseException] = []

    def parse() -> None:
        try:
            ingest.parse_file("wide.csv", data)
        except ingest.IngestError as exc:
            outcome.append(exc)

    peak = peak_python_allocation(parse)
    assert str(outcome[0]) == (
        "wide.csv has a row longer than 1,000,000 characters (limit 1,000,000). Split it into"
        " smaller files, or raise BASETEN_CHAT_MAX_LINE_CHARS if you trust it."
    )
    assert peak < 20 * MB, f"parsing held {peak / MB:.0f} MB"


def test_a_large_csv_is_read_in_blocks_without_copies_of_the_whole_file() -> None:
    data = b"city,country\n" + b"".join(b"City%d,Land%d\n" % (i, i) for i in range(400_000))
    parsed, growth = with_peak_rss(lambda: ingest.parse_file("big.csv", data))
    assert isinstance(parsed, ingest.ParsedFile), parsed
    text = sum(len(d.text) for d in parsed.documents)
    assert parsed.documents[-1].metadata["section"] == "rows 399977-400001"
    assert growth < 3 * text + 40 * MB, f"parsing held {growth / MB:.0f} MB for {text / MB:.0f} MB"


def test_csv_rows_past_the_row_limit_are_refused_naming_it() -> None:
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(101))
    with pytest.raises(
        ingest.LimitExceededError,
        match=(r"has more than 100 rows \(limit 100\).*BASETEN_CHAT_MAX_ROWS"),
    ):
        ingest.parse_file("rows.csv", data, limits=ParseLimits(max_rows=100))


def test_plain_text_past_the_character_limit_is_refused_naming_it() -> None:
    with pytest.raises(ingest.LimitExceededError, match="BASETEN_CHAT_MAX_TEXT_CHARS"):
        ingest.parse_file("long.txt", b"word " * 3000, limits=ParseLimits(max_chars=10_000))


def test_a_pdf_with_more_pages_than_the_limit_is_refused_before_reading_them() -> None:
    with pytest.raises(
        ingest.LimitExceededError, match=(r"has 5 pages \(limit 3\).*BASETEN_CHAT_MAX_PAGES")
    ):
        ingest.parse_file("long.pdf", make_pdf(["page"] * 5), limits=ParseLimits(max_pages=3))


def test_limits_are_settings_and_bad_values_keep_the_defaults() -> None:
    settings = {
        "BASETEN_CHAT_MAX_PAGES": "12",
        "BASETEN_CHAT_MAX_NESTING": "lots",
        "BASETEN_CHAT_PARSE_MEMORY_MB": "-5",
    }
    limits = ParseLimits.from_lookup(settings.get)
    assert limits.max_pages == 12
    assert limits.max_depth == ParseLimits().max_depth
    assert limits.memory_mb == ParseLimits().memory_mb

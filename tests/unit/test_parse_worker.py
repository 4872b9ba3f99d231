"""Uploads are parsed in a worker process: a file that exhausts its memory cap or its time
limit, or that a person cancels, ends that worker only; the server process goes on, and the
next file gets a working parser. Files are generated here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from chatapp.services import ingest, parse_worker
from chatapp.services.parse_limits import ParseLimits
from tests.pdfs import make_pdf, make_scanned_pdf


@pytest.fixture(autouse=True)
def fresh_workers() -> Iterator[None]:
    parse_worker.shutdown()
    yield
    parse_worker.shutdown()


def one_idle_worker() -> int:
    parse_worker.warm_up()
    (pid,) = parse_worker.idle_worker_pids()
    return pid


def test_a_pdf_parsed_in_the_worker_matches_the_in_process_parse_and_reports_each_page() -> None:
    data = make_pdf([f"Page {n} talks about topic {n}." for n in range(1, 6)])
    seen: list[tuple[int, int]] = []
    parsed = parse_worker.parse_isolated(
        "five.pdf", data, on_progress=lambda d, t: seen.append((d, t))
    )
    local = ingest.parse_file("five.pdf", data)
    assert [(d.text, d.metadata) for d in parsed.documents] == [
        (d.text, d.metadata) for d in local.documents
    ]
    assert seen == [(n, 5) for n in range(1, 6)]


def test_the_worker_is_reused_for_the_next_file_after_a_refusal() -> None:
    pid = one_idle_worker()
    with pytest.raises(ingest.CorruptFileError, match="not valid JSON"):
        parse_worker.parse_isolated("bad.json", b'{"a": ')
    parsed = parse_worker.parse_isolated("notes.md", b"# Notes\nKeep the receipts.")
    assert parsed.documents[0].text == "Keep the receipts."
    assert parse_worker.idle_worker_pids() == [pid]


def test_a_staged_file_is_read_by_the_worker_from_its_path(tmp_path: Path) -> None:
    staged = tmp_path / "0123abcd"
    staged.write_bytes(b"name,role\nAda,engineer\n")
    parsed = parse_worker.parse_isolated("team.csv", staged)
    assert parsed.documents[0].text == "name: Ada; role: engineer"
    with pytest.raises(ingest.IngestError, match="could not be read back from disk"):
        parse_worker.parse_isolated("team.csv", tmp_path / "gone")


def test_a_file_that_needs_more_memory_than_the_cap_ends_only_its_worker() -> None:
    # A million tiny JSON objects: about 10 MB on disk, several hundred MB as Python objects.
    data = json.dumps([{"n": i} for i in range(1_000_000)]).encode()
    limits = ParseLimits(memory_mb=250, max_rows=10_000_000, max_chars=10**9)
    pid = one_idle_worker()
    with pytest.raises(
        ingest.ParseMemoryError,
        match=r"needed more than 250 MB of memory.*"
        "BASETEN_CHAT_PARSE_MEMORY_MB",
    ):
        parse_worker.parse_isolated("huge.json", data, limits)
    assert not psutil.pid_exists(pid)
    parsed = parse_worker.parse_isolated("small.json", b'{"still": "works"}', limits)
    assert parsed.documents[0].metadata["section"] == "still"


def test_a_file_that_takes_longer_than_the_time_limit_is_stopped() -> None:
    data = make_scanned_pdf([f"Scanned page number {n} of a long report." for n in range(8)])
    pid = one_idle_worker()
    with pytest.raises(
        ingest.ParseTimeoutError,
        match=r"took longer than 1 s.*"
        "BASETEN_CHAT_PARSE_TIMEOUT_S",
    ):
        parse_worker.parse_isolated("slow.pdf", data, ParseLimits(timeout_s=1))
    assert not psutil.pid_exists(pid)


def test_canceling_a_file_while_it_is_parsed_stops_its_worker_between_pages() -> None:
    data = make_scanned_pdf([f"Scanned page number {n} of a long report." for n in range(6)])
    pid = one_idle_worker()
    seen: list[int] = []
    with pytest.raises(ingest.IngestCanceled, match="canceled"):
        parse_worker.parse_isolated(
            "scan.pdf",
            data,
            on_progress=lambda d, t: seen.append(d),
            should_cancel=lambda: bool(seen),
        )
    assert seen and seen[-1] < 6
    assert not psutil.pid_exists(pid)


def test_a_worker_that_cannot_start_is_reported_as_an_installation_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parse_worker.sys, "executable", "/bin/false")
    # a worker that an earlier test's thread checks in late must not be reused here
    monkeypatch.setattr(parse_worker, "MAX_IDLE_WORKERS", 0)
    parse_worker.shutdown()
    with pytest.raises(ingest.IngestError, match=r"did not start.*not with the file") as caught:
        parse_worker.parse_isolated("notes.md", b"# Notes\nText.")
    assert not isinstance(caught.value, ingest.ParseMemoryError)


def test_a_worker_that_exits_while_a_large_file_is_sent_is_reported_as_an_installation_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 4 MB does not fit the socket's buffer, so the send is still under way when /bin/false exits
    monkeypatch.setattr(parse_worker.sys, "executable", "/bin/false")
    monkeypatch.setattr(parse_worker, "MAX_IDLE_WORKERS", 0)
    parse_worker.shutdown()
    with pytest.raises(ingest.IngestError, match=r"did not start.*not with the file"):
        parse_worker.parse_isolated("notes.md", b"# Notes\n" + b"Text. " * 700_000)

"""Benchmark the upload parsers: PDF libraries, and the cost of parsing in a worker process.

    python bench/bench_parsing.py [--runs 5]

Prints (median of ``--runs`` runs, every row measured in the same run):

- ``pypdf`` against ``pypdfium2`` (text of every page) on real multi-page PDFs that installed
  Debian packages ship under ``/usr/share/doc`` (manuals nobody here wrote), plus a generated
  200-page PDF; with the share of words both extract (multiset overlap of lower-cased words),
  so that "faster" is only claimed for the same text;
- the app's PDF parse of the 200-page PDF in this process (``ingest.parse_file``) against the
  same parse in the capped worker process (``parse_worker.parse_isolated``, warm worker), and
  the first file's extra wait for starting a worker;
- OCR of one scanned A4 page (Tesseract through pytesseract), to size the time limit;
- the DOCX bomb of issue 15 (15 M tiny paragraphs, about 1.5 MB packed): time to refusal,
  the server process's peak RSS growth and the worker's peak RSS while it is parsed.

Run on purpose, not in CI; the machine may be shared, so compare rows of the same run.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_documents import make_pdf
from chatapp.services import ingest, parse_worker
from tests.pdfs import make_scanned_pdf

DOC_DIR = Path("/usr/share/doc")


def median_s(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def with_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def with_pdfium(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def word_overlap(a: list[str], b: list[str]) -> float:
    def words(pages: list[str]) -> Counter[str]:
        return Counter(re.findall(r"\w+", " ".join(pages).lower()))

    wa, wb = words(a), words(b)
    return sum((wa & wb).values()) / max(sum(wa.values()), sum(wb.values()), 1)


def real_pdfs() -> dict[str, bytes]:
    found = sorted(p for p in DOC_DIR.rglob("*.pdf") if p.stat().st_size > 100_000)
    return {str(p.relative_to(DOC_DIR)): p.read_bytes() for p in found}


def bench_libraries(pdfs: dict[str, bytes], runs: int) -> None:
    print("## PDF text extraction: pypdf vs pypdfium2 (median s)\n")
    print("| PDF | pages | pypdf | pypdfium2 | speed-up | same words |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, data in pdfs.items():
        a, b = with_pypdf(data), with_pdfium(data)
        slow = median_s(lambda d=data: with_pypdf(d), runs)
        fast = median_s(lambda d=data: with_pdfium(d), runs)
        print(
            f"| {name} | {len(a)} | {slow:.3f} | {fast:.3f} | {slow / fast:.1f}x |"
            f" {word_overlap(a, b):.1%} |"
        )


def bench_isolation(data: bytes, runs: int) -> None:
    parse_worker.shutdown()
    started = time.perf_counter()
    parse_worker.parse_isolated("big.pdf", data)
    cold = time.perf_counter() - started
    local = median_s(lambda: ingest.parse_file("big.pdf", data), runs)
    isolated = median_s(lambda: parse_worker.parse_isolated("big.pdf", data), runs)
    parse_worker.shutdown()
    print("\n## The app's parse of the 200-page PDF (median s)\n")
    print("| in this process | in the worker (warm) | overhead | first file (starts the worker) |")
    print("|---:|---:|---:|---:|")
    print(f"| {local:.3f} | {isolated:.3f} | {isolated - local:+.3f} s | {cold:.3f} |")


def bench_ocr(runs: int) -> None:
    data = make_scanned_pdf(
        [
            "Scanned text of a typical page, about forty characters per line,"
            " drawn by Pillow at two hundred dots per inch. " * 6
        ]
    )
    seconds = median_s(lambda: ingest.parse_file("scan.pdf", data), runs)
    print(f"\n## OCR of one scanned A4 page (Tesseract, one thread): {seconds:.2f} s\n")


def bench_docx_bomb() -> None:
    import threading

    import psutil

    from tests.unit.test_parse_limits import docx_with_body, repeated

    bomb = docx_with_body(repeated(b"<w:p><w:r><w:t>boom</w:t></w:r></w:p>", 15_000_000))
    parse_worker.shutdown()
    parse_worker.warm_up()
    worker = psutil.Process(parse_worker.idle_worker_pids()[0])
    server = psutil.Process()
    base_server, base_worker = server.memory_info().rss, worker.memory_info().rss
    peaks = [base_server, base_worker]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peaks[0] = max(peaks[0], server.memory_info().rss)
                peaks[1] = max(peaks[1], worker.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        parse_worker.parse_isolated("bomb.docx", bomb)
        message = "parsed (not refused!)"
    except ingest.IngestError as exc:
        message = str(exc)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    parse_worker.shutdown()
    mib = 1024 * 1024
    print(f"## DOCX bomb ({len(bomb) / 1e6:.2f} MB packed, 15,000,000 paragraphs)\n")
    print(f"Refused after {seconds:.2f} s: {message}")
    print(
        f"Server RSS {base_server / mib:.0f} MiB, peak growth"
        f" {(peaks[0] - base_server) / mib:+.1f} MiB; worker RSS {base_worker / mib:.0f} MiB,"
        f" peak {peaks[1] / mib:.0f} MiB\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import random

    big = make_pdf(200, random.Random(7))
    pdfs = {**real_pdfs(), "generated 200-page PDF (fpdf2)": big}
    bench_libraries(pdfs, args.runs)
    bench_isolation(big, args.runs)
    bench_ocr(max(1, args.runs // 2))
    bench_docx_bomb()


if __name__ == "__main__":
    main()

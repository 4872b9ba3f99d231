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
- OCR of one scanned A4 page (Tesseract through pytesseract), to size the time limit.

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
        print(f"| {name} | {len(a)} | {slow:.3f} | {fast:.3f} | {slow / fast:.1f}x |"
              f" {word_overlap(a, b):.1%} |")


def bench_isolation(data: bytes, runs: int) -> None:
    parse_worker.shutdown()
    started = time.perf_counter()
    parse_worker.parse_isolated("big.pdf", data)
    cold = time.perf_counter() - started
    local = median_s(lambda: ingest.parse_file("big.pdf", data), runs)
    isolated = median_s(lambda: parse_worker.parse_isolated("big.pdf", data), runs)
    parse_worker.shutdown()
    print("\n## The app's parse of the 200-page PDF (median s)\n")
    print("| in this process | in the worker (warm) | overhead | first file (starts the"
          " worker) |")
    print("|---:|---:|---:|---:|")
    print(f"| {local:.3f} | {isolated:.3f} | {isolated - local:+.3f} s | {cold:.3f} |")


def bench_ocr(runs: int) -> None:
    data = make_scanned_pdf(["Scanned text of a typical page, about forty characters per line,"
                             " drawn by Pillow at two hundred dots per inch. " * 6])
    seconds = median_s(lambda: ingest.parse_file("scan.pdf", data), runs)
    print(f"\n## OCR of one scanned A4 page (Tesseract, one thread): {seconds:.2f} s\n")


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


if __name__ == "__main__":
    main()

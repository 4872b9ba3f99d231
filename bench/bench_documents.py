"""Benchmark the documents pipeline against LlamaIndex's default one, measured in the same run.

    python bench/bench_documents.py [--runs 3] [--sizes 1000,10000,100000] [--in-app-runs 3]
                                    [--only in-app]

Prints tables (median of ``--runs`` runs) for:

- indexing **in the app** (``bench/documents_in_app.py``): the real app in headless Chromium,
  from the click on "Index files" to every file's "Indexed", for a real 36-page PDF and for 20
  mixed files, next to the same files through parse + chunk + embed + store called directly,
  measured interleaved in the same run (median of ``--in-app-runs``). Target: within 1.3x;
- ingest throughput (pages/s, chunks/s) of a generated 200-page PDF and of 50 mixed files
  (PDF, DOCX, TXT, Markdown, HTML, CSV, JSON): this app's pipeline (parse, chunk, embed in
  batches of 64, NumPy store persisted to disk) versus ``SimpleDirectoryReader`` +
  ``VectorStoreIndex.from_documents`` (in-memory ``SimpleVectorStore``), both with the bundled
  all-MiniLM-L6-v2 and the same chunking (SentenceSplitter 256/32: the model's input limit);
- re-uploading an unchanged file (hash lookup, nothing parsed or embedded);
- retrieval latency p50/p95 of the NumPy store at 1k/10k/100k random 384-dim unit vectors
  (with node payloads, as in use), next to ``SimpleVectorStore`` where it is bearable, and one
  query-embedding timing;
- resident memory (RSS) after each phase.

Run on purpose, not in CI. Targets: ingest at least as fast as the default pipeline; unchanged
re-upload under 1 s; retrieval p95 at 100k under 200 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatapp.services import documents as docs
from chatapp.services.embedders import BUNDLED_MODEL, EmbedSpec, local_embedder
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER

# The model reads at most 256 tokens per chunk: bigger chunks would be truncated, and a
# pipeline would look faster only because most of each chunk is never embedded.
CHUNK_SIZE, CHUNK_OVERLAP = 256, 32
WORDS = [
    "river",
    "market",
    "engine",
    "budget",
    "giraffe",
    "harbour",
    "winter",
    "ledger",
    "signal",
    "copper",
    "lantern",
    "orchard",
    "tunnel",
    "meadow",
    "protocol",
    "vendor",
    "glacier",
    "quarry",
    "sensor",
    "mosaic",
]


def prose(rng: random.Random, words: int) -> str:
    sentences, out = [], []
    for i in range(words):
        out.append(rng.choice(WORDS))
        if i % 12 == 11:
            sentences.append(" ".join(out).capitalize() + ".")
            out = []
    return " ".join(sentences)


def make_pdf(pages: int, rng: random.Random, words: int = 180) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for _ in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, prose(rng, words))
    return bytes(pdf.output())


def make_docx(rng: random.Random) -> bytes:
    import docx

    document = docx.Document()
    for n in range(4):
        document.add_heading(f"Part {n}", level=1)
        document.add_paragraph(prose(rng, 150))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def mixed_files(rng: random.Random) -> dict[str, bytes]:
    """50 files, 7 types; each a few pages' worth of text."""
    makers: list[tuple[str, Callable[[], bytes]]] = [
        ("pdf", lambda: make_pdf(3, rng)),
        ("docx", lambda: make_docx(rng)),
        ("txt", lambda: prose(rng, 600).encode()),
        ("md", lambda: "\n".join(f"# H{i}\n{prose(rng, 150)}" for i in range(4)).encode()),
        (
            "html",
            lambda: (
                "<html><body>"
                + "".join(f"<h2>S{i}</h2><p>{prose(rng, 150)}</p>" for i in range(4))
                + "</body></html>"
            ).encode(),
        ),
        (
            "csv",
            lambda: (
                "id,name,notes\n"
                + "\n".join(f"{i},{rng.choice(WORDS)},{prose(rng, 12)}" for i in range(60))
            ).encode(),
        ),
        (
            "json",
            lambda: json.dumps([{"id": i, "text": prose(rng, 12)} for i in range(60)]).encode(),
        ),
    ]
    return {
        f"file{i:02d}.{ext}": make()
        for i, (ext, make) in ((i, makers[i % len(makers)]) for i in range(50))
    }


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- ingest -----------------------------------------------------------------------------------


def ours(files: dict[str, bytes], embedder: object) -> tuple[int, int]:
    """Index ``files`` into a fresh collection; returns (pages or sections, chunks)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/db.sqlite")
        init_db(engine)
        collection = docs.create_collection(
            engine, "bench", EmbedSpec(), CHUNK_SIZE, CHUNK_OVERLAP, owner=LOCAL_OWNER
        )
        store = NumpyVectorStore(docs.index_dir(Path(tmp), collection.id))
        pages = chunks = 0
        for name, data in files.items():
            outcome = docs.add_file(engine, collection, store, lambda: embedder, name, data)
            assert outcome.status == "indexed", outcome.message
            pages, chunks = pages + outcome.pages, chunks + outcome.chunks
        store.close()
        engine.dispose()
        return pages, chunks


def default_pipeline(files: dict[str, bytes], embedder: object) -> int:
    """SimpleDirectoryReader + VectorStoreIndex.from_documents; returns the chunk count."""
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        documents = SimpleDirectoryReader(tmp).load_data()
        splitter = SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        index = VectorStoreIndex.from_documents(
            documents, embed_model=embedder, transformations=[splitter]
        )
        return len(index.index_struct.nodes_dict)


def bench_ingest(
    label: str, files: dict[str, bytes], pages: int, embedder: object, runs: int
) -> list[str]:
    counts: dict[str, int] = {}

    def run_ours() -> None:
        counts["ours"] = ours(files, embedder)[1]

    def run_default() -> None:
        counts["default"] = default_pipeline(files, embedder)

    # Alternate the two pipelines so that load from other processes hits both alike.
    ours_times, default_times = [], []
    for _ in range(runs):
        ours_times.append(median_time(run_ours, 1))
        default_times.append(median_time(run_default, 1))
    t_ours, t_default = statistics.median(ours_times), statistics.median(default_times)
    return [
        f"| {label} | this app | {t_ours:.2f} | {pages / t_ours:.1f} | {counts['ours']} | "
        f"{counts['ours'] / t_ours:.1f} |",
        f"| {label} | LlamaIndex default | {t_default:.2f} | {pages / t_default:.1f} | "
        f"{counts['default']} | {counts['default'] / t_default:.1f} |",
    ]


def bench_reupload(data: bytes, embedder: object, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/db.sqlite")
        init_db(engine)
        collection = docs.create_collection(engine, "bench", EmbedSpec(), owner=LOCAL_OWNER)
        store = NumpyVectorStore(docs.index_dir(Path(tmp), collection.id))
        docs.add_file(engine, collection, store, lambda: embedder, "big.pdf", data)
        seconds = median_time(
            lambda: docs.add_file(engine, collection, store, lambda: embedder, "big.pdf", data),
            runs,
        )
        store.close()
        engine.dispose()
        return seconds


# --- retrieval --------------------------------------------------------------------------------


def random_nodes(count: int, rng: np.random.Generator) -> list:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    vectors = rng.normal(size=(count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    nodes = []
    for i in range(count):
        node = TextNode(
            id_=f"n{i}",
            text=f"chunk {i} " + "lorem " * 60,
            metadata={"file_name": f"f{i // 500}.pdf", "page": i % 300},
            embedding=vectors[i].tolist(),
        )
        node.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"f{i // 500}")}
        nodes.append(node)
    return nodes


def latency(store: object, queries: np.ndarray) -> tuple[float, float]:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    times = []
    for q in queries:
        started = time.perf_counter()
        store.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=4))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95) - 1]


def bench_retrieval(sizes: list[int]) -> list[str]:
    from llama_index.core.vector_stores import SimpleVectorStore

    rng = np.random.default_rng(0)
    queries = rng.normal(size=(200, 384)).astype(np.float32)
    rows = []
    for size in sizes:
        nodes = random_nodes(size, rng)
        with tempfile.TemporaryDirectory() as tmp:
            store = NumpyVectorStore(tmp)
            started = time.perf_counter()
            store.add(nodes)
            build = time.perf_counter() - started
            p50, p95 = latency(store, queries)
            rows.append(
                f"| {size:,} | NumpyVectorStore | {p50:.2f} | {p95:.2f} | {build:.1f} | "
                f"{rss_mb():.0f} |"
            )
            store.close()
        if size <= 10_000:
            simple = SimpleVectorStore()
            simple.add(nodes)
            p50, p95 = latency(simple, queries[:20])
            rows.append(
                f"| {size:,} | SimpleVectorStore | {p50:.2f} | {p95:.2f} | - | {rss_mb():.0f} |"
            )
        del nodes
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--in-app-runs", type=int, default=3)
    parser.add_argument("--only", choices=["in-app"], default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"RSS at start: {rss_mb():.0f} MB")
    # Loaded the way the app loads it (warmed up, then its objects frozen out of the garbage
    # collector's way), so that both sides of every comparison run the same model setup.
    embedder = local_embedder(BUNDLED_MODEL)
    print(f"RSS with the embedding model loaded: {rss_mb():.0f} MB\n")

    from bench.documents_in_app import bench_in_app, real_pdf

    manual_name, manual = real_pdf(lambda: make_pdf(36, rng, words=300))
    twenty = dict(list(mixed_files(rng).items())[:20])
    print(f"## Indexing in the app vs the pipeline alone (median of {args.in_app_runs})\n")
    print("| input | in the app (s) | pipeline alone (s) | app / pipeline |")
    print("|---|---|---|---|")
    inputs = {f"{manual_name} (real PDF)": {manual_name: manual}, "20 mixed files": twenty}
    for row in bench_in_app(inputs, embedder, args.in_app_runs):
        print(row)
    if args.only == "in-app":
        return
    print()

    big_pdf, mixed = make_pdf(200, rng), mixed_files(rng)
    mixed_pages = sum(docs.ingest.parse_file(n, d).pages for n, d in mixed.items())
    print(f"## Ingest (median of {args.runs}; chunking {CHUNK_SIZE}/{CHUNK_OVERLAP})\n")
    print("| input | pipeline | seconds | pages/s | chunks | chunks/s |")
    print("|---|---|---|---|---|---|")
    for row in bench_ingest("200-page PDF", {"big.pdf": big_pdf}, 200, embedder, args.runs):
        print(row)
    for row in bench_ingest(
        f"50 mixed files ({mixed_pages} pages/sections)", mixed, mixed_pages, embedder, args.runs
    ):
        print(row)
    print(f"\nRSS after ingest: {rss_mb():.0f} MB")

    reupload = bench_reupload(big_pdf, embedder, max(args.runs, 5))
    print(f"\n## Re-upload of the unchanged 200-page PDF: {reupload * 1000:.1f} ms (median)\n")

    query_ms = median_time(lambda: embedder.get_query_embedding("where is the harbour?"), 20) * 1000
    print(f"## Query embedding (MiniLM, one query): {query_ms:.1f} ms (median of 20)\n")
    print("## Retrieval, top 4 of N random 384-dim unit vectors (200 queries)\n")
    print("| chunks | store | p50 ms | p95 ms | build s | RSS MB |")
    print("|---|---|---|---|---|---|")
    for row in bench_retrieval([int(s) for s in args.sizes.split(",")]):
        print(row)


if __name__ == "__main__":
    main()

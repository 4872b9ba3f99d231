"""Retrieval quality on real documents nobody here wrote: vectors, BM25, hybrid, hybrid + rerank.

    python bench/bench_retrieval.py [--runs 3] [--scale 100000]

The documents are read from where their packages install them (see
``bench/retrieval_questions.json``: two Debian manuals in PDF and IDLE's HTML manual from
Python's standard library); nothing is copied into the repository. Each labelled question
names the file and the page or section that answers it, with a phrase that must be there
(checked first, so a wrong label stops the run instead of skewing it).

Pipeline: the app's own parsers, chunking (256/32 tokens: what all-MiniLM-L6-v2 reads), the
bundled MiniLM embeddings, and the collection store with its BM25 index. For each search mode
it prints hit@1, hit@4 and MRR@10 (a hit: a passage from the labelled page/section), and the
time per query (query embedding included). "Hybrid + rerank" reranks with the emulator's
reranker route, a deterministic word-overlap scorer standing in for a BEI cross-encoder: the
figure shows the plumbing's cost and an overlap reranker's effect, not a real model's.

``--scale N`` then grows the collection to N chunks (the real chunks repeated with shuffled
words and jittered vectors) and times vector and hybrid retrieval there, and the BM25 rebuild
a file added at that size costs. Run on purpose, not in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatapp.services import hybrid, ingest
from chatapp.services.embedders import EmbedSpec, make_embedder
from chatapp.services.vector_store import NumpyVectorStore

QUESTIONS = Path(__file__).with_name("retrieval_questions.json")
CHUNK_SIZE, CHUNK_OVERLAP = 256, 32
DEPTH = 10


@dataclass
class Scores:
    hit1: float
    hit4: float
    mrr10: float
    p50_ms: float
    p95_ms: float
    search_p50_ms: float = 0.0
    search_p95_ms: float = 0.0
    paraphrased_hit4: float = 0.0
    paraphrased_mrr10: float = 0.0


def locate(doc: dict[str, str]) -> Path:
    if "stdlib" in doc:
        return Path(sysconfig.get_paths()["stdlib"]) / doc["stdlib"]
    return Path(doc["path"])


def normalised(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).lower()


def unit_of(metadata: dict[str, Any]) -> tuple[str, Any]:
    return metadata.get("file_name", ""), metadata.get("page") or metadata.get("section") or ""


def answers(question: dict[str, Any], metadata: dict[str, Any]) -> bool:
    name, where = unit_of(metadata)
    if name != question["file"]:
        return False
    if "pages" in question:
        return where in question["pages"]
    return any(label in str(where) for label in question["sections"])


def check_labels(questions: list[dict[str, Any]], parsed: dict[str, Any]) -> list[str]:
    """Questions whose evidence phrase is not on their labelled page or in their section."""
    wrong = []
    for q in questions:
        units = [
            d
            for d in parsed[q["file"]].documents
            if answers(q, {"file_name": q["file"], **d.metadata})
        ]
        text = normalised(" ".join(d.text for d in units))
        if not units or normalised(q["evidence"]) not in text:
            wrong.append(f"{q['question']} -> {q.get('pages') or q.get('sections')}")
    return wrong


def ingest_all(
    docs: list[dict[str, str]], store: NumpyVectorStore, embedder: Any
) -> tuple[dict[str, Any], int, int, float]:
    parsed, pages, chunks, seconds = {}, 0, 0, 0.0
    for doc in docs:
        data = locate(doc).read_bytes()
        started = time.perf_counter()
        result = ingest.parse_file(doc["file"], data, len(data) + 1)
        chunked = ingest.chunk_file(result, ingest.sha256_of(data), CHUNK_SIZE, CHUNK_OVERLAP)
        ingest.embed_nodes(chunked.nodes, embedder)
        store.add(chunked.nodes)
        seconds += time.perf_counter() - started
        parsed[doc["file"]] = result
        pages += result.pages
        chunks += len(chunked.nodes)
    return parsed, pages, chunks, seconds


def evaluate(
    questions: list[dict[str, Any]], search: Callable[[str], list[Any]], runs: int
) -> Scores:
    ranks: list[int | None] = []
    times: list[float] = []
    searching: list[float] = []
    for q in questions:
        for _ in range(runs):
            started = time.perf_counter()
            found = search(q["question"])
            times.append((time.perf_counter() - started) * 1000)
            embed_ms = getattr(search, "embed_ms", 0.0)
            searching.append(times[-1] - embed_ms)
        rank = next((i for i, meta in enumerate(found[:DEPTH], start=1) if answers(q, meta)), None)
        ranks.append(rank)
    n = len(questions)
    para = [r for q, r in zip(questions, ranks) if q.get("style") == "paraphrased"] or [None]
    return Scores(
        hit1=sum(r == 1 for r in ranks) / n,
        hit4=_hit4(ranks),
        mrr10=_mrr(ranks),
        p50_ms=statistics.median(times),
        p95_ms=float(np.percentile(times, 95)),
        search_p50_ms=statistics.median(searching),
        search_p95_ms=float(np.percentile(searching, 95)),
        paraphrased_hit4=_hit4(para),
        paraphrased_mrr10=_mrr(para),
    )


def _hit4(ranks: list[int | None]) -> float:
    return sum(r is not None and r <= 4 for r in ranks) / len(ranks)


def _mrr(ranks: list[int | None]) -> float:
    return sum(1 / r for r in ranks if r is not None) / len(ranks)


def mode_search(
    store: NumpyVectorStore,
    embedder: Any,
    mode: hybrid.Mode,
    reranker: Any = None,
    keyword_weight: float = hybrid.KEYWORD_WEIGHT,
) -> Callable[[str], list[Any]]:
    def search(question: str) -> list[Any]:
        found = hybrid.search(
            store,
            embedder.get_query_embedding,
            [question],
            mode=mode,
            top_k=DEPTH,
            cutoff=-1.0,
            reranker=reranker,
            keyword_weight=keyword_weight,
        )
        search.embed_ms = found.timings.get("embed", 0.0) * 1000  # type: ignore[attr-defined]
        return [h.node.metadata for h in found.hits]

    return search


def keyword_search(store: NumpyVectorStore) -> Callable[[str], list[Any]]:
    def search(question: str) -> list[Any]:
        ids = [node_id for node_id, _ in store.keyword_search(question, DEPTH)]
        nodes = {n.node_id: n for n in store.get_nodes(ids)}
        return [nodes[i].metadata for i in ids if i in nodes]

    return search


def emulator_reranker() -> tuple[Any, Any]:
    from baseten_llm.emulator import EmulatorConfig, EmulatorServer
    from baseten_llm.rerank import BasetenRerank
    from chatapp.services.rerank import BasetenReranker

    server = EmulatorServer.start(EmulatorConfig(), port=0)
    client = BasetenRerank("rrk12345", api_key=server.api_key, deployment_url=server.deployment_url)
    return server, BasetenReranker(client)


def grown_store(root: Path, store: NumpyVectorStore, size: int) -> tuple[NumpyVectorStore, float]:
    """A store of ``size`` chunks made from the real ones (shuffled words, jittered vectors)."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    rng = random.Random(7)
    base = store.get_nodes()
    vectors = {n.node_id: v for n, v in zip(base, _vectors(store, base))}
    nodes = []
    for i in range(size - len(base)):
        source = base[i % len(base)]
        words = source.get_content().split()
        rng.shuffle(words)
        vector = vectors[source.node_id] + np.random.default_rng(i).normal(0, 0.05, 384)
        node = TextNode(
            id_=f"grown-{i}",
            text=" ".join(words),
            embedding=vector.tolist(),
            metadata={"file_name": f"grown-{i % 50}.txt"},
        )
        node.relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=f"g{i % 50}")}
        nodes.append(node)
    big = NumpyVectorStore(root)
    for n, v in zip(base, _vectors(store, base)):
        n.embedding = v.tolist()
    started = time.perf_counter()
    big.add(base + nodes)
    return big, time.perf_counter() - started


def _vectors(store: NumpyVectorStore, nodes: list[Any]) -> list[np.ndarray]:
    rows = {node_id: i for i, node_id in enumerate(store._ids)}
    return [store._matrix[rows[n.node_id]] for n in nodes]


class _SkipQuality(Exception):
    """Raised to jump over the quality table (``--only-scale``)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed repeats per question")
    parser.add_argument(
        "--scale", type=int, default=100_000, help="chunks for the latency test (0 skips it)"
    )
    parser.add_argument(
        "--only-scale",
        action="store_true",
        help="skip the quality table (ingest, then the latency test only)",
    )
    args = parser.parse_args()
    spec = json.loads(QUESTIONS.read_text())
    missing = [
        f"{locate(d)} ({d['provided_by']})" for d in spec["documents"] if not locate(d).exists()
    ]
    if missing:
        sys.exit("Missing documents; install their packages first:\n  " + "\n  ".join(missing))
    questions = spec["questions"]
    started = time.perf_counter()
    embedder = make_embedder(EmbedSpec())
    embedder.get_query_embedding("warm up")
    print(f"model load: {time.perf_counter() - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = NumpyVectorStore(Path(tmp) / "collection")
        parsed, pages, chunks, seconds = ingest_all(spec["documents"], store, embedder)
        wrong = check_labels(questions, parsed)
        if wrong:
            sys.exit(
                "Labels whose evidence is not on the labelled page/section:\n  "
                + "\n  ".join(wrong)
            )
        print(
            f"{len(spec['documents'])} documents, {pages} pages/sections, {chunks} chunks; "
            f"{len(questions)} questions. Ingest (parse + chunk + embed + store + BM25): "
            f"{seconds:.1f} s, {pages / seconds:.1f} pages/s, {chunks / seconds:.1f} chunks/s"
        )
        server, reranker = emulator_reranker()
        try:
            if args.only_scale:
                raise _SkipQuality
            rows = {
                "vector only": mode_search(store, embedder, "vector"),
                "BM25 only": keyword_search(store),
                f"hybrid (RRF, keywords x{hybrid.KEYWORD_WEIGHT:g}) - the default": mode_search(
                    store, embedder, "hybrid"
                ),
                "hybrid (plain RRF, equal weights)": mode_search(
                    store, embedder, "hybrid", keyword_weight=1.0
                ),
                "hybrid + rerank (emulator overlap reranker)": mode_search(
                    store, embedder, "rerank", reranker
                ),
            }
            para = sum(q.get("style") == "paraphrased" for q in questions)
            print(
                f"\n| search | hit@1 | hit@4 | MRR@10 | paraphrased ({para}): hit@4 / MRR@10 "
                "| ms/query p50 / p95 | of which search (no query embedding) p50 / p95 |"
            )
            print("|---|---|---|---|---|---|---|", flush=True)
            for name, search in rows.items():
                s = evaluate(questions, search, args.runs)
                print(
                    f"| {name} | {s.hit1:.2f} | {s.hit4:.2f} | {s.mrr10:.3f} | "
                    f"{s.paraphrased_hit4:.2f} / {s.paraphrased_mrr10:.3f} | "
                    f"{s.p50_ms:.1f} / {s.p95_ms:.1f} | "
                    f"{s.search_p50_ms:.1f} / {s.search_p95_ms:.1f} |",
                    flush=True,
                )
        except _SkipQuality:
            pass
        finally:
            server.stop()
        if args.scale:
            big, build = grown_store(Path(tmp) / "big", store, args.scale)
            print(f"\nAt {len(big):,} chunks (store write + BM25 build {build:.1f} s):")
            print("| search | ms/query p50 / p95 | of which search p50 / p95 |")
            print("|---|---|---|")
            for name, mode in (("vector only", "vector"), ("hybrid (the default)", "hybrid")):
                s = evaluate(questions, mode_search(big, embedder, mode), args.runs)  # type: ignore[arg-type]
                print(
                    f"| {name} | {s.p50_ms:.1f} / {s.p95_ms:.1f} | "
                    f"{s.search_p50_ms:.1f} / {s.search_p95_ms:.1f} |",
                    flush=True,
                )
            started = time.perf_counter()
            with big._lock:
                big._refresh_keywords()
            print(
                f"BM25 rebuild at this size (paid once per added or removed file): "
                f"{time.perf_counter() - started:.1f} s"
            )


if __name__ == "__main__":
    main()

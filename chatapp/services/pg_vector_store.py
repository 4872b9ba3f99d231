"""The vector store of a collection when the database is PostgreSQL: pgvector, HNSW (cosine).

Same interface as :class:`chatapp.services.vector_store.NumpyVectorStore` (what the documents
service, hybrid search and the page use: ``add``, ``delete`` by file, ``clear``,
``vector_search``, ``similarities``, ``keyword_search``, ``get_nodes``, ``file_nodes``,
``query``, ``len``), so every replica sees the same vectors. Rows live in the ``doc_vectors``
table (:mod:`chatapp.storage.vectors`); deleting the collection row deletes them by cascade.

Searches run ``ORDER BY embedding::vector(d) <=> query LIMIT k`` with
``hnsw.iterative_scan = strict_order``, so the HNSW index of dimension ``d`` serves a
collection that is a small part of the table without returning fewer than ``k`` rows (pgvector
0.8). Vectors are stored at unit length, like the NumPy store's, so similarities agree.

Keyword search (BM25) keeps its index in a local directory, as a cache: it is rebuilt from the
rows when the collection changed (row count or newest row id differ from what it was built
from), whichever replica made the change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from chatapp.services.keyword_index import DIR_NAME as KEYWORDS_DIR
from chatapp.services.keyword_index import KeywordIndex
from chatapp.services.vector_store import _keyword_text
from chatapp.storage.vectors import doc_vectors, ensure_hnsw_index

#: Rows per INSERT while adding (one round trip each).
BATCH = 1000
#: Candidates HNSW keeps while searching (pgvector's default is 40); more is slower and closer
#: to exact search. ``bench/bench_retrieval_pgvector.py`` measures recall at this value.
EF_SEARCH = 40


class PgVectorStore(BasePydanticVectorStore):
    """One collection's vectors in the ``doc_vectors`` table."""

    stores_text: bool = True
    flat_metadata: bool = False
    collection_id: str
    cache_dir: str

    _engine: Engine = PrivateAttr()
    _keywords: KeywordIndex = PrivateAttr()
    _lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def __init__(
        self, engine: Engine, collection_id: str, cache_dir: str | Path, **kwargs: Any
    ) -> None:
        super().__init__(collection_id=collection_id, cache_dir=str(cache_dir), **kwargs)
        self._engine = engine
        self._keywords = KeywordIndex(Path(self.cache_dir) / KEYWORDS_DIR)

    @classmethod
    def class_name(cls) -> str:
        return "PgVectorStore"

    @property
    def client(self) -> Engine:
        return self._engine

    # --- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(doc_vectors).where(self._mine())
                ).scalar()
                or 0
            )

    @property
    def dim(self) -> int | None:
        """Vector dimension, or None while the store is empty."""
        with self._engine.connect() as connection:
            return connection.execute(
                select(doc_vectors.c.dim).where(self._mine()).limit(1)
            ).scalar()

    def ref_doc_ids(self) -> set[str]:
        """The distinct ``ref_doc_id`` values (file hashes) that have vectors here."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(doc_vectors.c.ref_doc_id).where(self._mine()).distinct()
            )
            return {r or "" for (r,) in rows}

    def vector_search(self, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` ``(node id, cosine similarity)`` pairs for ``embedding``, best first."""
        if k <= 0:
            return []
        vector = _unit(embedding)
        dim = len(vector)
        cast = f"embedding::vector({dim})"
        query = text(
            f"SELECT node_id, 1 - ({cast} <=> CAST(:q AS vector({dim}))) AS similarity"
            f" FROM doc_vectors WHERE collection_id = :c AND dim = {dim}"
            f" ORDER BY {cast} <=> CAST(:q AS vector({dim})) LIMIT :k"
        )
        with self._engine.begin() as connection:
            _tune_search(connection)
            rows = connection.execute(
                query, {"q": _literal(vector), "c": self.collection_id, "k": int(k)}
            ).all()
        found = [(node_id, float(score)) for node_id, score in rows]
        return sorted(found, key=lambda pair: -pair[1])

    def similarities(self, node_ids: Sequence[str], embedding: Sequence[float]) -> dict[str, float]:
        """Cosine similarity of ``embedding`` to each of ``node_ids`` that the store holds."""
        if not node_ids:
            return {}
        vector = _unit(embedding)
        dim = len(vector)
        query = text(
            f"SELECT node_id, 1 - (embedding::vector({dim}) <=> CAST(:q AS vector({dim})))"
            f" FROM doc_vectors WHERE collection_id = :c AND dim = {dim}"
            " AND node_id = ANY(:ids)"
        )
        with self._engine.connect() as connection:
            rows = connection.execute(
                query, {"q": _literal(vector), "c": self.collection_id, "ids": list(node_ids)}
            )
            return {node_id: float(score) for node_id, score in rows}

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to ``k`` ``(node id, BM25 score)`` pairs sharing a term with ``query``."""
        with self._lock, self._engine.connect() as connection:
            generation = self._generation(connection)
            if self._keywords.generation != generation:
                rows = connection.execute(
                    select(doc_vectors.c.node_id, doc_vectors.c.payload)
                    .where(self._mine())
                    .order_by(doc_vectors.c.id)
                ).all()
                self._keywords.rebuild(
                    [r[0] for r in rows], [_keyword_text(r[1]) for r in rows], generation
                )
        return self._keywords.search(query, k)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Top ``similarity_top_k`` nodes by cosine similarity to ``query.query_embedding``."""
        if query.filters is not None and query.filters.filters:
            raise NotImplementedError("PgVectorStore does not support metadata filters.")
        if query.query_embedding is None:
            raise ValueError("PgVectorStore needs a query embedding.")
        if query.doc_ids or query.node_ids:
            found = self._restricted_search(query)
        else:
            found = self.vector_search(query.query_embedding, query.similarity_top_k)
        nodes = {n.node_id: n for n in self.get_nodes([node_id for node_id, _ in found])}
        kept = [(node_id, score) for node_id, score in found if node_id in nodes]
        return VectorStoreQueryResult(
            nodes=[nodes[i] for i, _ in kept],
            similarities=[s for _, s in kept],
            ids=[i for i, _ in kept],
        )

    def _restricted_search(self, query: VectorStoreQuery) -> list[tuple[str, float]]:
        """Exact search among the files / nodes a query names (few rows: no index needed)."""
        vector = _unit(query.query_embedding or [])
        dim = len(vector)
        conditions = ["collection_id = :c", f"dim = {dim}"]
        params: dict[str, Any] = {
            "q": _literal(vector),
            "c": self.collection_id,
            "k": int(query.similarity_top_k),
        }
        if query.doc_ids:
            conditions.append("ref_doc_id = ANY(:refs)")
            params["refs"] = list(query.doc_ids)
        if query.node_ids:
            conditions.append("node_id = ANY(:ids)")
            params["ids"] = list(query.node_ids)
        distance = f"embedding::vector({dim}) <=> CAST(:q AS vector({dim}))"
        sql = text(
            f"SELECT node_id, 1 - ({distance}) FROM doc_vectors"
            f" WHERE {' AND '.join(conditions)} ORDER BY {distance} LIMIT :k"
        )
        with self._engine.connect() as connection:
            return [(node_id, float(score)) for node_id, score in connection.execute(sql, params)]

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Nodes by id (all nodes when ``node_ids`` is None), in the order asked (or added)."""
        query = select(doc_vectors.c.node_id, doc_vectors.c.payload).where(self._mine())
        if node_ids is not None:
            if not node_ids:
                return []
            query = query.where(doc_vectors.c.node_id.in_(list(node_ids)))
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(doc_vectors.c.id)).all()
        found = {node_id: _node(payload) for node_id, payload in rows}
        order = [r[0] for r in rows] if node_ids is None else list(node_ids)
        return [found[n] for n in order if n in found]

    def file_nodes(self, ref_doc_id: str) -> list[BaseNode]:
        """Every node of one file (``ref_doc_id``: its SHA-256), in the order they were added."""
        query = (
            select(doc_vectors.c.payload)
            .where(self._mine(), doc_vectors.c.ref_doc_id == ref_doc_id)
            .order_by(doc_vectors.c.id)
        )
        with self._engine.connect() as connection:
            return [_node(payload) for (payload,) in connection.execute(query)]

    # --- writing ---------------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Add nodes with embeddings; replaces nodes with the same id. Committed at once."""
        if not nodes:
            return []
        vectors = _unit_rows([n.get_embedding() for n in nodes])
        dim = int(vectors.shape[1])
        rows = [
            {
                "collection_id": self.collection_id,
                "node_id": n.node_id,
                "ref_doc_id": n.ref_doc_id,
                "dim": dim,
                "embedding": vector,
                "payload": json.dumps(node_to_metadata_dict(n, remove_text=False)),
            }
            for n, vector in zip(nodes, vectors)
        ]
        with self._engine.begin() as connection:
            self._check_dim(connection, dim)
            ensure_hnsw_index(connection, dim)
            self._insert(connection, rows)
        return [n.node_id for n in nodes]

    def add_vectors(self, ids: Sequence[str], refs: Sequence[str], vectors: np.ndarray) -> None:
        """Bulk-add bare vectors (an empty payload): for benchmarks of the search alone."""
        matrix = _unit_rows(vectors)
        dim = int(matrix.shape[1])
        with self._engine.begin() as connection:
            self._check_dim(connection, dim)
            ensure_hnsw_index(connection, dim)
            for start in range(0, len(ids), BATCH):
                self._insert(
                    connection,
                    [
                        {
                            "collection_id": self.collection_id,
                            "node_id": node_id,
                            "ref_doc_id": ref,
                            "dim": dim,
                            "embedding": vector,
                            "payload": "{}",
                        }
                        for node_id, ref, vector in zip(
                            ids[start : start + BATCH],
                            refs[start : start + BATCH],
                            matrix[start : start + BATCH],
                        )
                    ],
                )

    def _insert(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), BATCH):
            statement = insert(doc_vectors)
            statement = statement.on_conflict_do_update(
                index_elements=["collection_id", "node_id"],
                set_={
                    c: statement.excluded[c] for c in ("ref_doc_id", "dim", "embedding", "payload")
                },
            )
            connection.execute(statement, rows[start : start + BATCH])

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Remove every node of ``ref_doc_id`` (a file's SHA-256)."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(doc_vectors).where(self._mine(), doc_vectors.c.ref_doc_id == ref_doc_id)
            )

    def clear(self) -> None:
        """Remove every node of the collection."""
        with self._engine.begin() as connection:
            connection.execute(delete(doc_vectors).where(self._mine()))

    def close(self) -> None:
        """Nothing to close: connections belong to the engine's pool."""

    def persist(self, persist_path: str | None = None, fs: Any = None) -> None:
        """Every write is already committed; kept for LlamaIndex's interface."""

    # --- helpers ---------------------------------------------------------------------------

    def _mine(self) -> Any:
        return doc_vectors.c.collection_id == self.collection_id

    def _generation(self, connection: Connection) -> int:
        """Changes whenever a row of the collection is added, replaced or deleted."""
        count, newest = connection.execute(
            select(func.count(), func.coalesce(func.max(doc_vectors.c.id), 0)).where(self._mine())
        ).one()
        return int(newest) * 2**32 + int(count)

    def _check_dim(self, connection: Connection, dim: int) -> None:
        held = connection.execute(
            select(doc_vectors.c.dim).where(self._mine(), doc_vectors.c.dim != dim).limit(1)
        ).scalar()
        if held is not None:
            raise ValueError(
                f"This index holds {held}-dimensional vectors but the embedding model produced"
                f" {dim}: re-index the collection with one embedding model."
            )


def _tune_search(connection: Connection) -> None:
    """HNSW settings for this transaction: keep scanning until ``k`` rows pass the filter."""
    connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
    connection.execute(text(f"SET LOCAL hnsw.ef_search = {int(EF_SEARCH)}"))


def _node(payload: str) -> BaseNode:
    return metadata_dict_to_node(json.loads(payload))


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / max(float(np.linalg.norm(array)), 1e-12)


def _unit_rows(vectors: Any) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _literal(vector: np.ndarray) -> str:
    """pgvector's text form of a vector: ``[0.1,0.2,...]``."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"

"""A small, fast, persistent LlamaIndex vector store over a NumPy matrix.

Why not LlamaIndex's ``SimpleVectorStore``: it scores nodes in a Python loop, far too slow at
100,000 chunks. Here every vector is normalised to unit length and kept as one float32
matrix, so cosine similarity for a query is a single matmul and the top k an
``argpartition``: a few milliseconds at 100k x 384 on two cores.

On disk, under one directory per collection:

- ``nodes.sqlite``: one row per node (id, ref_doc_id, the node as JSON). Only the top k of a
  query are read back, so node texts never have to sit in memory.
- ``vectors.<gen>.npy`` + ``ids.<gen>.json``: the matrix and the row order (node and ref ids).
- ``manifest.json``: which generation is current, replaced atomically.

Writes are ordered so that a crash at any point leaves a readable store: node rows are written
before the matrix that refers to them, and deleted after the matrix that no longer does.
Nodes whose ``ref_doc_id`` is a file's SHA-256 can be removed with :meth:`delete`.

Each write also rebuilds the collection's BM25 keyword index (``keywords/``, see
:mod:`chatapp.services.keyword_index`) from the chunk texts, so keywords are added and removed
with their file; :meth:`keyword_search` rebuilds it first if it belongs to another generation.
"""

from __future__ import annotations

import json
import os
import sqlite3
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
from llama_index.core.vector_stores.utils import (
    metadata_dict_to_node,
    node_to_metadata_dict,
)

from chatapp.services.keyword_index import DIR_NAME as KEYWORDS_DIR
from chatapp.services.keyword_index import KeywordIndex

MANIFEST = "manifest.json"
NODES_DB = "nodes.sqlite"


class NumpyVectorStore(BasePydanticVectorStore):
    """Cosine-similarity vector store: normalised float32 matrix, persisted in ``persist_dir``."""

    stores_text: bool = True
    flat_metadata: bool = False
    persist_dir: str

    _lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)
    _matrix: np.ndarray = PrivateAttr()
    _ids: list[str] = PrivateAttr(default_factory=list)
    _refs: np.ndarray = PrivateAttr()
    _generation: int = PrivateAttr(default=0)
    _db: sqlite3.Connection = PrivateAttr()
    _keywords: KeywordIndex = PrivateAttr()
    _rows: tuple[int, dict[str, int]] = PrivateAttr(default=(-1, {}))

    def __init__(self, persist_dir: str | Path, **kwargs: Any) -> None:
        super().__init__(persist_dir=str(persist_dir), **kwargs)
        Path(self.persist_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            Path(self.persist_dir) / NODES_DB, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS nodes (node_id TEXT PRIMARY KEY, ref_doc_id TEXT,"
            " payload TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS nodes_ref ON nodes (ref_doc_id)")
        self._load()
        self._keywords = KeywordIndex(Path(self.persist_dir) / KEYWORDS_DIR)

    @classmethod
    def class_name(cls) -> str:
        return "NumpyVectorStore"

    @property
    def client(self) -> None:
        """No external client: the store is the matrix itself."""
        return None

    # --- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def dim(self) -> int | None:
        """Vector dimension, or None while the store is empty."""
        return int(self._matrix.shape[1]) if len(self._ids) else None

    def ref_doc_ids(self) -> set[str]:
        """The distinct ``ref_doc_id`` values (file hashes) that have vectors here."""
        return set(self._refs.tolist())

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Top ``similarity_top_k`` nodes by cosine similarity to ``query.query_embedding``."""
        if query.filters is not None and query.filters.filters:
            raise NotImplementedError("NumpyVectorStore does not support metadata filters.")
        if query.query_embedding is None:
            raise ValueError("NumpyVectorStore needs a query embedding.")
        with self._lock:
            matrix, ids, refs = self._matrix, self._ids, self._refs
        if not ids:
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        scores = matrix @ _unit(np.asarray(query.query_embedding, dtype=np.float32))
        scores = _restrict(scores, ids, refs, query)
        top = _top_k(scores, query.similarity_top_k)
        top_ids = [ids[i] for i in top]
        nodes = self._fetch(top_ids)
        keep = [i for i, node_id in zip(top, top_ids) if node_id in nodes]
        return VectorStoreQueryResult(
            nodes=[nodes[ids[i]] for i in keep],
            similarities=[float(scores[i]) for i in keep],
            ids=[ids[i] for i in keep],
        )

    def vector_search(self, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` ``(node id, cosine similarity)`` pairs for ``embedding``, best first."""
        with self._lock:
            matrix, ids = self._matrix, self._ids
        if not ids or k <= 0:
            return []
        scores = matrix @ _unit(np.asarray(embedding, dtype=np.float32))
        return [(ids[i], float(scores[i])) for i in _top_k(scores, k)]

    def similarities(self, node_ids: Sequence[str], embedding: Sequence[float]) -> dict[str, float]:
        """Cosine similarity of ``embedding`` to each of ``node_ids`` that the store holds."""
        with self._lock:
            matrix, rows = self._matrix, self._row_index()
        wanted = [n for n in node_ids if n in rows]
        if not wanted:
            return {}
        vectors = matrix[[rows[n] for n in wanted]]
        scores = vectors @ _unit(np.asarray(embedding, dtype=np.float32))
        return {n: float(s) for n, s in zip(wanted, scores)}

    def _row_index(self) -> dict[str, int]:
        """Node id -> matrix row, built once per generation (call with the lock held)."""
        generation, rows = self._rows
        if generation != self._generation:
            rows = {node_id: row for row, node_id in enumerate(self._ids)}
            self._rows = (self._generation, rows)
        return rows

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to ``k`` ``(node id, BM25 score)`` pairs sharing a term with ``query``."""
        with self._lock:
            if self._keywords.generation != self._generation:
                self._refresh_keywords()
        return self._keywords.search(query, k)

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Nodes by id (all nodes when ``node_ids`` is None), in row order."""
        wanted = list(self._ids) if node_ids is None else list(node_ids)
        found = self._fetch(wanted)
        return [found[n] for n in wanted if n in found]

    def file_nodes(self, ref_doc_id: str) -> list[BaseNode]:
        """Every node of one file (``ref_doc_id``: its SHA-256), in the order they were added."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM nodes WHERE ref_doc_id = ? ORDER BY rowid", (ref_doc_id,)
            ).fetchall()
        return [metadata_dict_to_node(json.loads(payload)) for (payload,) in rows]

    def _fetch(self, node_ids: Sequence[str]) -> dict[str, BaseNode]:
        found: dict[str, BaseNode] = {}
        for start in range(0, len(node_ids), 500):
            batch = list(node_ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT node_id, payload FROM nodes WHERE node_id IN ({marks})", batch
                ).fetchall()
            for node_id, payload in rows:
                found[node_id] = metadata_dict_to_node(json.loads(payload))
        return found

    # --- writing ---------------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Add nodes with embeddings; replaces nodes with the same id. Persists at once."""
        if not nodes:
            return []
        vectors = np.asarray([n.get_embedding() for n in nodes], dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        rows = [
            (n.node_id, n.ref_doc_id, json.dumps(node_to_metadata_dict(n, remove_text=False)))
            for n in nodes
        ]
        with self._lock:
            self._check_dim(vectors.shape[1])
            self._db.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?)", rows)
            new_ids = {n.node_id for n in nodes}
            keep = np.array([i not in new_ids for i in self._ids], dtype=bool)
            self._commit(
                np.vstack([self._matrix[keep], vectors]),
                [i for i, k in zip(self._ids, keep) if k] + [n.node_id for n in nodes],
                np.concatenate(
                    [self._refs[keep], np.array([n.ref_doc_id or "" for n in nodes], dtype=object)]
                ),
            )
            self._refresh_keywords()
        return [n.node_id for n in nodes]

    def add_vectors(self, ids: Sequence[str], refs: Sequence[str], vectors: np.ndarray) -> None:
        """Bulk-add bare vectors (no node payload): for benchmarks of the matrix alone."""
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        with self._lock:
            self._check_dim(vectors.shape[1])
            self._commit(
                np.vstack([self._matrix, vectors]),
                self._ids + list(ids),
                np.concatenate([self._refs, np.array(list(refs), dtype=object)]),
            )

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Remove every node of ``ref_doc_id`` (a file's SHA-256) from the matrix and disk."""
        with self._lock:
            keep = self._refs != ref_doc_id
            if not keep.all():
                self._commit(
                    self._matrix[keep], [i for i, k in zip(self._ids, keep) if k], self._refs[keep]
                )
            self._db.execute("DELETE FROM nodes WHERE ref_doc_id = ?", (ref_doc_id,))
            if self._keywords.generation != self._generation:
                self._refresh_keywords()

    def clear(self) -> None:
        """Remove every node."""
        with self._lock:
            self._commit(np.zeros((0, 0), dtype=np.float32), [], np.array([], dtype=object))
            self._db.execute("DELETE FROM nodes")
            self._refresh_keywords()

    def close(self) -> None:
        """Close the node database (the store is unusable afterwards)."""
        with self._lock:
            self._db.close()

    # --- persistence -----------------------------------------------------------------------

    def _refresh_keywords(self) -> None:
        """Rebuild the BM25 index from the current rows' texts (call with the lock held)."""
        ids = list(self._ids)
        texts: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT node_id, payload FROM nodes WHERE node_id IN ({marks})", batch
            ).fetchall()
            texts.update((node_id, _keyword_text(payload)) for node_id, payload in rows)
        kept = [i for i in ids if i in texts]
        self._keywords.rebuild(kept, [texts[i] for i in kept], self._generation)

    def _check_dim(self, dim: int) -> None:
        if len(self._ids) and self._matrix.shape[1] != dim:
            raise ValueError(
                f"This index holds {self._matrix.shape[1]}-dimensional vectors but the embedding"
                f" model produced {dim}: re-index the collection with one embedding model."
            )
        if not len(self._ids):
            self._matrix = np.zeros((0, dim), dtype=np.float32)

    def _commit(self, matrix: np.ndarray, ids: list[str], refs: np.ndarray) -> None:
        """Write a new generation, switch the manifest to it, then drop the old one."""
        root = Path(self.persist_dir)
        old, gen = self._generation, self._generation + 1
        np.save(root / f"vectors.{gen}.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        (root / f"ids.{gen}.json").write_text(json.dumps({"ids": ids, "refs": refs.tolist()}))
        _atomic_write(root / MANIFEST, json.dumps({"generation": gen, "count": len(ids)}))
        self._matrix, self._ids, self._refs, self._generation = matrix, ids, refs, gen
        for name in (f"vectors.{old}.npy", f"ids.{old}.json"):
            (root / name).unlink(missing_ok=True)

    def _load(self) -> None:
        root = Path(self.persist_dir)
        manifest = root / MANIFEST
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._ids, self._refs = [], np.array([], dtype=object)
        if not manifest.exists():
            return
        gen = int(json.loads(manifest.read_text())["generation"])
        listing = json.loads((root / f"ids.{gen}.json").read_text())
        self._matrix = np.load(root / f"vectors.{gen}.npy")
        self._ids = list(listing["ids"])
        self._refs = np.array(listing["refs"], dtype=object)
        self._generation = gen

    def persist(self, persist_path: str | None = None, fs: Any = None) -> None:
        """Every write is already on disk; kept for LlamaIndex's interface."""
        return


def _keyword_text(payload: str) -> str:
    """A stored node's text for keyword search: its section heading, then its text."""
    data = json.loads(payload)
    try:
        text = str(json.loads(data.get("_node_content") or "{}").get("text") or "")
    except ValueError:
        text = ""
    section = data.get("section")
    return f"{section}\n{text}" if isinstance(section, str) and section else text


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.array([], dtype=int)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part])]


def _restrict(
    scores: np.ndarray, ids: list[str], refs: np.ndarray, query: VectorStoreQuery
) -> np.ndarray:
    """Mask out rows that ``query.doc_ids`` / ``query.node_ids`` exclude.

    An empty list means "no restriction": ``VectorStoreIndex.as_retriever`` passes ``[]`` for
    stores that keep their own text.
    """
    if not query.doc_ids and not query.node_ids:
        return scores
    mask = np.ones(len(ids), dtype=bool)
    if query.doc_ids:
        mask &= np.isin(refs, list(query.doc_ids))
    if query.node_ids:
        wanted = set(query.node_ids)
        mask &= np.array([i in wanted for i in ids], dtype=bool)
    return np.where(mask, scores, -np.inf)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def open_store(engine: Any, collection_id: str, directory: str | Path) -> Any:
    """The vector store of a collection: pgvector when ``engine`` is PostgreSQL (every replica
    sees the same vectors), else the NumPy store in ``directory`` (the embedded default).

    ``directory`` is the collection's index directory; with pgvector it only caches the
    keyword index.
    """
    if engine.dialect.name == "postgresql":
        from chatapp.services.pg_vector_store import PgVectorStore

        return PgVectorStore(engine, collection_id, directory)
    return NumpyVectorStore(directory)

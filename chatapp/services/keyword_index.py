"""BM25 keyword search over a collection's chunks, with ``bm25s``, persisted next to its vectors.

Vectors find passages that mean the same; keywords find the passage that contains the rare
word the question names (an option, a function, an error code), which a small embedding
model often misses. :mod:`chatapp.services.hybrid` fuses the two rankings.

BM25 scores depend on corpus-wide statistics (document frequencies, average length), so
``bm25s`` builds its index in one go: adding or removing a file rebuilds it from the store's
chunk texts. The build records the vector store's generation it was made from; a store opened
with a keyword index of another generation (an older version of the app, a crash between the
two writes) rebuilds it before its first keyword search.

On disk, under ``<collection index dir>/keywords/``: bm25s's own files, ``ids.json`` (the row
order: node ids) and ``manifest.json`` (``{"generation": N}``), written last.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DIR_NAME = "keywords"
MANIFEST = "manifest.json"
IDS = "ids.json"
STOPWORDS = "en_plus"  # English function words incl. question words (what, how, does)


@lru_cache(maxsize=1)
def _porter() -> Any:
    from nltk.stem.porter import PorterStemmer  # pure Python, no data

    return PorterStemmer()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_porter().stem(word))


def stem_words(words: Sequence[str]) -> list[str]:
    """English stems ("indexing", "indexes" -> "index"), as bm25s calls a stemmer."""
    return [_stem(w) for w in words]


def query_terms(text: str) -> list[str]:
    """The stemmed, lower-cased terms of ``text`` without English stop words."""
    import bm25s

    tokens = bm25s.tokenize(
        text, stopwords=STOPWORDS, stemmer=stem_words, return_ids=False, show_progress=False
    )
    return [t for t in tokens[0] if t] if tokens else []


class KeywordIndex:
    """A persisted BM25 index of ``(node id, text)`` rows; thread-safe."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.RLock()
        self._model: Any = None
        self._ids: list[str] = []
        self.generation: int | None = None
        self._load()

    def __len__(self) -> int:
        return len(self._ids)

    def rebuild(self, ids: Sequence[str], texts: Sequence[str], generation: int) -> None:
        """Index ``texts`` (one per node id) from scratch and persist, marked ``generation``."""
        import bm25s

        model = None
        if ids:
            tokens = bm25s.tokenize(
                list(texts), stopwords=STOPWORDS, stemmer=stem_words, show_progress=False
            )
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
        with self._lock:
            self._write(model, list(ids), generation)
            self._model, self._ids, self.generation = model, list(ids), generation

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to ``k`` ``(node id, BM25 score)`` pairs, best first; only rows sharing a term."""
        with self._lock:
            model, ids = self._model, self._ids
        if model is None or not ids or k <= 0:
            return []
        known = [t for t in query_terms(query) if t in model.vocab_dict]
        if not known:
            return []
        scores = np.asarray(model.get_scores(known), dtype=np.float32)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top]

    # --- persistence -------------------------------------------------------------------------

    def _write(self, model: Any, ids: list[str], generation: int) -> None:
        """Write into a fresh folder, then swap it in: a crash leaves the old index or none."""
        tmp = self.directory.with_name(self.directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if model is not None:
            model.save(str(tmp), show_progress=False)
        (tmp / IDS).write_text(json.dumps(ids))
        (tmp / MANIFEST).write_text(json.dumps({"generation": generation, "count": len(ids)}))
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            os.replace(self.directory, old)
        os.replace(tmp, self.directory)
        shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> None:
        manifest = self.directory / MANIFEST
        if not manifest.exists():
            return
        try:
            generation = int(json.loads(manifest.read_text())["generation"])
            ids = json.loads((self.directory / IDS).read_text())
            model = None
            if ids:
                import bm25s

                model = bm25s.BM25.load(str(self.directory), show_progress=False)
        except (OSError, ValueError, KeyError):
            return  # unreadable: treated as missing, so the store rebuilds it
        self._model, self._ids, self.generation = model, list(ids), generation

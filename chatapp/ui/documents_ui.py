"""Streamlit helpers for the documents page: per-process caches and rendering.

Caches (``st.cache_resource``, one per server process, shared by every tab):

- :func:`get_worker`: this process's :class:`~chatapp.services.upload_worker.IngestWorker`,
  which indexes the uploads queued in the database (by any replica).
- :func:`get_store`: one vector store per collection, opened once per process and shared with
  the worker; dropped with :func:`drop_store` when its collection is deleted.

The collection's embedder comes from :mod:`chatapp.resources` (``preload_embedder``,
``embedder_factory``), with the process's other singletons.

While files are indexing, :func:`render_jobs` runs as a fragment every :data:`POLL_SECONDS`. A
rerun is cheap (it reads the files' progress rows from the queue table) and the server's configuration turns
off Streamlit's full garbage collection after every run (``runner.postScriptGC``), which with
torch loaded would starve the embedding thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from chatapp import resources, state
from chatapp.services import documents as docs
from chatapp.services import rag
from chatapp.services import upload_worker as uploads
from chatapp.services.hybrid import DEFAULT_MODE, Mode
from chatapp.services.rerank import RerankSpec, make_reranker
from chatapp.ui.answer_view import (
    SourceContext,
    answer_markdown,
    render_sources,
    search_caption,
)
from chatapp.ui.safe_text import plain_text, safe_markdown

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from chatapp.services.vector_store import NumpyVectorStore

STATUS_ICONS = {"indexed": "✅", "skipped": "♻️", "failed": "❌", "canceled": "⏹️"}
STAGE_LABELS = {
    "queued": "Queued",
    "start": "Starting",
    "check": "Checking",
    "parse": "Parsing",
    "chunk": "Chunking",
    "embed": "Embedding",
    "save": "Saving",
    "done": "Done",
}
POLL_SECONDS = 1.0


@st.cache_resource(show_spinner=False, on_release=uploads.release_worker)
def get_worker() -> uploads.IngestWorker:
    """The process's ingest worker (started at server start by ``app.py``)."""
    from chatapp import resources

    return uploads.shared_worker(state.config(), resources.get_engine())


def get_store(collection_id: str, directory: str) -> NumpyVectorStore:
    """The vector store of one collection, opened once per process (shared with the worker)."""
    return uploads.indexer_of(get_worker()).store(collection_id)


def drop_store(collection_id: str, directory: str) -> None:
    """Close and forget a collection's cached store (before its directory is deleted)."""
    uploads.indexer_of(get_worker()).drop_store(collection_id)


# --- rendering ----------------------------------------------------------------------------------


def file_facts(file_type: str, size_bytes: int, pages: int, chunks: int) -> str:
    """``PDF · 2.3 KB · 3 pages · 3 chunks``: a small file shows its bytes, not "0 KB"."""
    if size_bytes < 1024:
        size = f"{size_bytes} byte{'s' if size_bytes != 1 else ''}"
    elif size_bytes < 1024 * 1024:
        size = f"{size_bytes / 1024:.1f} KB"
    else:
        size = f"{size_bytes / 1024 / 1024:.1f} MB"
    unit = ("page" if file_type == "pdf" else "section") + ("" if pages == 1 else "s")
    return (
        f"{file_type.upper()} · {size} · {pages} {unit} · "
        f"{chunks} chunk{'' if chunks == 1 else 's'}"
    )


def render_job(worker: uploads.IngestWorker, job: uploads.IngestJob) -> None:
    """One uploaded file: progress with numbers and a Cancel button, or its result when done."""
    outcome = job.outcome
    resumed = f" ({job.note})" if job.note else ""
    if outcome is None:
        label = STAGE_LABELS.get(job.stage, job.stage)
        bar, cancel = st.columns([7, 1], vertical_alignment="bottom")
        bar.progress(
            min(max(job.fraction, 0.0), 1.0),
            text=f"**{plain_text(job.filename)}**{resumed} · {label}: {job.detail}",
        )
        if cancel.button(
            "Cancel",
            key=f"docs_cancel_{job.id}",
            disabled=job.cancel_requested(),
            help="Stop indexing this file; nothing from it is kept.",
            width="stretch",
        ):
            worker.cancel(job.id)
        return
    icon = STATUS_ICONS.get(outcome.status, "")
    message = outcome.message
    if message.startswith(outcome.filename):
        message = message[len(outcome.filename) :].lstrip(" :")
    text = f"{icon} **{plain_text(outcome.filename)}**{resumed}: {plain_text(message)}"
    if outcome.status == "failed":
        st.error(text)
    elif outcome.status in ("skipped", "canceled"):
        st.info(text)
    else:
        st.success(f"{text} ({outcome.seconds:.1f} s)")
    if outcome.warning:
        st.warning(plain_text(f"{outcome.filename}: {outcome.warning}"))


def render_jobs(worker: uploads.IngestWorker, collection_id: str, polling: bool) -> None:
    """The collection's uploads; when the last one finishes, rerun the page to show it."""
    for job in worker.jobs(collection_id):
        render_job(worker, job)
    if polling and not worker.busy(collection_id):
        st.rerun()


def timing_caption(record: dict[str, Any]) -> str:
    """``Retrieval 0.04 s · generation 1.20 s · model``."""
    parts = [f"Retrieval {record.get('retrieval_s', 0.0):.2f} s"]
    if record.get("generation_s"):
        parts.append(f"generation {record['generation_s']:.2f} s")
    if record.get("model"):
        parts.append(str(record["model"]))
    return " · ".join(parts)


def render_record(record: dict[str, Any], context: SourceContext) -> None:
    """One stored question and its answer, with timings, the search used, and sources."""
    with st.chat_message("user"):
        st.markdown(safe_markdown(record["question"]))
    with st.chat_message("assistant"):
        sources = [rag.Source.from_dict(s) for s in record.get("sources") or []]
        if record.get("answer"):
            st.markdown(answer_markdown(record["answer"], sources, record["id"]))
        if record.get("error"):
            st.error(record["error"])
        st.caption(timing_caption(record))
        searched = search_caption(record, sources)
        if searched:
            st.caption(searched)
        render_sources(sources, record["id"], context)


@dataclass(frozen=True)
class SearchChoice:
    """How the page searches: a mode of :data:`hybrid.MODES`, and the reranker when it reranks."""

    mode: Mode = DEFAULT_MODE
    reranker: RerankSpec | None = None


def answer_question(
    engine: Any,
    collection: docs.CollectionInfo,
    store: NumpyVectorStore,
    embedder: Callable[[], BaseEmbedding],
    question: str,
    persona: Any,
    *,
    top_k: int,
    cutoff: float,
    context: SourceContext,
    search: SearchChoice | None = None,
) -> None:
    """Draw a question and its answer while :func:`chatapp.services.rag.answer` condenses,
    retrieves, streams and stores it."""
    search = search or SearchChoice()
    with st.chat_message("user"):
        st.markdown(safe_markdown(question))
    with st.chat_message("assistant"):
        with rag.answer(
            engine,
            collection.id,
            question,
            owner=collection.owner,
            model=state.target().label,
            mode=search.mode,
        ) as answering:
            generation = state.generation().with_persona_default(
                getattr(persona, "temperature", None)
            )
            llm = state.llm(generation_override=generation)
            reranker = None
            if search.mode == "rerank" and search.reranker is not None:
                reranker = make_reranker(
                    search.reranker,
                    state.config(),
                    state.api_key(),
                    http_client=resources.get_http_client(),
                )
            with st.spinner("Searching the documents…"):
                answering.search(
                    llm, store, embedder, top_k=top_k, cutoff=cutoff, reranker=reranker
                )
            _draw_answer(answering, getattr(persona, "system_prompt", None), context)
        if answering.record.error:
            st.error(answering.record.error)


def _draw_answer(
    answering: rag.Answering, persona_prompt: str | None, context: SourceContext
) -> None:
    record = answering.record
    if not record.sources:
        st.markdown(record.answer)
        st.caption(search_caption(record.shown(), []))
        return
    slot = st.empty()
    for text in answering.stream(persona_prompt):
        slot.markdown(safe_markdown(text) + " ▌")
    slot.markdown(answer_markdown(record.answer, record.sources, "new"))
    shown = record.shown()
    st.caption(timing_caption(shown))
    st.caption(search_caption(shown, record.sources))
    render_sources(record.sources, "new", context, expanded=True)

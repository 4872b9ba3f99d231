"""Answer questions from a collection: condense, retrieve, answer with citations.

Two steps with the same LLM (the sidebar's target), like LlamaIndex's
``CondensePlusContextChatEngine`` but with each step visible and timed:

1. :func:`condense_question` rewrites a follow-up ("and on page 4?") into a standalone question
   using the collection's recent Q&A history (skipped for the first question).
2. :func:`retrieve` searches the collection with both the question as asked and the standalone
   rewrite (so a poor rewrite cannot lose the passages), by vectors, keywords + vectors, or
   both and a reranker (:mod:`chatapp.services.hybrid`), keeping the top k that pass the
   similarity cutoff. When none remain, :data:`NO_CONTEXT_ANSWER` is the answer and the model
   is never called, so it cannot invent one.
3. :func:`stream_answer` sends the numbered passages (with file, page / section) in the system
   prompt and streams the reply.

:func:`answer` runs the three as one use case for the Documents page, which only draws: an
:class:`Answering` fills in one typed :class:`AnswerRecord` as it goes (the standalone
question, the sources, the answer with unknown citations dropped, the timings, or the error in
plain words) and stores it with the collection's history when its ``with`` block ends, whatever
happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llama_index.core.llms import ChatMessage, MessageRole

from chatapp.services import citations, hybrid, user_errors
from chatapp.services import documents as docs
from chatapp.services.hybrid import Mode, Reranker

if TYPE_CHECKING:
    from types import TracebackType

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM
    from llama_index.core.vector_stores.types import BasePydanticVectorStore
    from sqlalchemy import Engine


NO_CONTEXT_ANSWER = (
    "The documents in this collection do not contain an answer to this question: no passage"
    " scored above the similarity cutoff. Try rephrasing, lowering the cutoff, or adding the"
    " document that covers it."
)
CONDENSE_PROMPT = (
    "Given the conversation below and a follow-up question, rewrite the follow-up as one"
    " standalone question that can be understood without the conversation. Reply with the"
    " question only.\n\nConversation:\n{history}\n\nFollow-up question: {question}\n\n"
    "Standalone question:"
)
CONTEXT_PROMPT = (
    "Answer the user's question using only the numbered passages below, taken from the user's"
    " documents. After each sentence that uses a passage, cite it by its number in square"
    " brackets, like [1] or [2][3]; cite only the numbers listed below. If the passages do not"
    " contain the answer, say so instead of guessing.\n\n{context}"
)
HISTORY_TURNS = 4


@dataclass
class Source:
    """One retrieved passage, with where it came from and how well it matched."""

    file_name: str
    text: str
    score: float
    page: int | None = None
    section: str | None = None
    sha256: str = ""
    found_by: str = "vectors"  # "vectors", "keywords" or "both"
    ocr: bool = False
    node_id: str = ""
    rerank_score: float | None = None
    search: str = ""  # the search mode that found it: "vector", "hybrid" or "rerank"

    @property
    def location(self) -> str:
        """``page 3``, a heading path, ``rows 2-26`` ... or "" when the file has no parts."""
        if self.page is not None:
            return f"page {self.page} (OCR)" if self.ocr else f"page {self.page}"
        return self.section or ""

    @property
    def citation(self) -> str:
        """``report.pdf, page 3``."""
        return f"{self.file_name}, {self.location}" if self.location else self.file_name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record for the database."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Retrieval:
    """What :func:`retrieve` found, and how long it took (query embedding + search)."""

    query: str
    sources: list[Source]
    seconds: float
    below_cutoff: int = 0
    mode: str = "vector"
    queries: list[str] = field(default_factory=list)


class AnswerStream:
    """A streamed answer: iterate :meth:`deltas`. ``text`` and ``seconds`` are the library's
    stream's own figures (:class:`baseten_llm.ChatStream`), read as it goes, never added up here."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start = start
        self.stream: Any = None
        self._refused_after = 0.0

    def deltas(self) -> Iterator[str]:
        """The answer's text increments (the request goes out on the first iteration)."""
        started = time.perf_counter()
        try:
            self.stream = self._start()
        except Exception:
            self._refused_after = time.perf_counter() - started  # no stream, no figures of its own
            raise
        try:
            for chunk in self.stream:
                if chunk.delta:
                    yield chunk.delta
        finally:
            self.stream.close()

    @property
    def text(self) -> str:
        """The answer so far."""
        return "" if self.stream is None else self.stream.text

    @property
    def seconds(self) -> float:
        """From sending the request to the end of the answer (or to now, while it streams)."""
        return self._refused_after if self.stream is None else self.stream.metrics.elapsed_s


def history_text(history: Sequence[tuple[str, str]]) -> str:
    """The last few Q&A turns as plain text for the condense prompt."""
    turns = history[-HISTORY_TURNS:]
    return "\n".join(f"User: {q}\nAssistant: {a[:1000]}" for q, a in turns)


def condense_question(llm: LLM, history: Sequence[tuple[str, str]], question: str) -> str:
    """A standalone version of ``question`` given ``history`` (unchanged when there is none)."""
    if not history:
        return question
    prompt = CONDENSE_PROMPT.format(history=history_text(history), question=question)
    reply = llm.chat([ChatMessage(role=MessageRole.USER, content=prompt)])
    text = (reply.message.content or "").strip().strip('"')
    return text or question


def retrieve(
    store: BasePydanticVectorStore,
    embedder: BaseEmbedding,
    query: str,
    top_k: int = 4,
    cutoff: float = 0.3,
    *,
    mode: Mode = "vector",
    also: Sequence[str] = (),
    reranker: Reranker | None = None,
) -> Retrieval:
    """The top ``top_k`` passages for ``query`` (and the ``also`` queries, merged) that pass
    ``cutoff``, found by ``mode`` (see :mod:`chatapp.services.hybrid`)."""
    found = hybrid.search(
        store,
        embedder.get_query_embedding,
        [query, *also],
        mode=mode,
        top_k=top_k,
        cutoff=cutoff,
        reranker=reranker,
    )
    sources = [_source(hit, mode) for hit in found.hits]
    return Retrieval(
        query,
        sources,
        found.seconds,
        below_cutoff=found.below_cutoff,
        mode=mode,
        queries=found.queries,
    )


def _source(hit: hybrid.Hit, mode: str) -> Source:
    node = hit.node
    meta = node.metadata
    return Source(
        file_name=str(meta.get("file_name", "?")),
        text=node.get_content(),
        score=float(hit.similarity if hit.similarity is not None else 0.0),
        page=meta.get("page"),
        section=meta.get("section") or None,
        sha256=str(meta.get("sha256", "")),
        found_by=hit.found_by,
        ocr=bool(meta.get("ocr", False)),
        node_id=hit.node_id,
        rerank_score=hit.rerank_score,
        search=mode,
    )


def context_block(sources: Sequence[Source]) -> str:
    """The numbered passages, each headed by its citation."""
    return "\n\n".join(f"[{i}] {s.citation}\n{s.text}" for i, s in enumerate(sources, start=1))


def answer_messages(
    question: str,
    sources: Sequence[Source],
    history: Sequence[tuple[str, str]] = (),
    persona_prompt: str | None = None,
) -> list[ChatMessage]:
    """System prompt (persona + passages), the recent history, then the question."""
    system = CONTEXT_PROMPT.format(context=context_block(sources))
    if persona_prompt:
        system = f"{persona_prompt.strip()}\n\n{system}"
    messages = [ChatMessage(role=MessageRole.SYSTEM, content=system)]
    for q, a in history[-HISTORY_TURNS:]:
        messages.append(ChatMessage(role=MessageRole.USER, content=q))
        messages.append(ChatMessage(role=MessageRole.ASSISTANT, content=a))
    messages.append(ChatMessage(role=MessageRole.USER, content=question))
    return messages


def stream_answer(
    llm: LLM,
    question: str,
    sources: Sequence[Source],
    history: Sequence[tuple[str, str]] = (),
    persona_prompt: str | None = None,
) -> AnswerStream:
    """Start streaming the answer (the request goes out on the first iteration)."""
    if not sources:
        raise ValueError("stream_answer needs at least one source; use NO_CONTEXT_ANSWER.")
    messages = answer_messages(question, sources, history, persona_prompt)
    return AnswerStream(lambda: llm.stream_chat(messages))


# --- one question, as a use case ----------------------------------------------------------------


@dataclass
class AnswerRecord:
    """One question asked of a collection and what came of it: what is shown and stored."""

    question: str
    model: str
    mode: Mode = "vector"
    standalone: str = ""
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    retrieval_s: float = 0.0
    generation_s: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        self.standalone = self.standalone or self.question

    def stored_fields(self) -> dict[str, Any]:
        """The fields :func:`chatapp.services.documents.record_question` stores."""
        return {
            "question": self.question,
            "standalone_question": self.standalone,
            "answer": self.answer,
            "sources": [s.to_dict() for s in self.sources],
            "retrieval_s": self.retrieval_s,
            "generation_s": self.generation_s,
            "model": self.model,
            "error": self.error,
        }

    def shown(self) -> dict[str, Any]:
        """The record as :func:`chatapp.services.documents.history` lists stored ones, with
        the search mode it used."""
        fields = self.stored_fields()
        fields["standalone"] = fields.pop("standalone_question")
        return {**fields, "mode": self.mode}


class Answering:
    """One question being answered (see :func:`answer`): :meth:`search`, then :meth:`stream`.

    Leaving the ``with`` block stores :attr:`record`. An error raised inside the block (from
    the model, the search, or the page drawing it) is kept in ``record.error`` in plain words
    and not raised further.
    """

    def __init__(
        self, engine: Engine, collection_id: str, record: AnswerRecord, *, owner: str
    ) -> None:
        self.engine = engine
        self.collection_id = collection_id
        self.owner = owner
        self.record = record
        self._llm: LLM | None = None
        self._history: list[tuple[str, str]] = []
        self._streaming: Generator[str, None, None] | None = None

    def __enter__(self) -> Answering:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self._streaming is not None:  # left mid-stream: the answer so far is kept
            self._streaming.close()
        if isinstance(exc, Exception):
            self.record.error = user_errors.describe(exc, context="documents")
        docs.record_question(
            self.engine, self.collection_id, owner=self.owner, **self.record.stored_fields()
        )
        return isinstance(exc, Exception)

    def search(
        self,
        llm: LLM,
        store: BasePydanticVectorStore,
        embedder: Callable[[], BaseEmbedding],
        *,
        top_k: int,
        cutoff: float,
        reranker: Reranker | None = None,
    ) -> Retrieval:
        """Condense a follow-up with the collection's history, then retrieve its passages.
        With none found, the answer is :data:`NO_CONTEXT_ANSWER` and nothing is streamed."""
        record = self.record
        self._llm = llm
        self._history = docs.conversation(self.engine, self.collection_id, owner=self.owner)
        record.standalone = condense_question(llm, self._history, record.question)
        also = [record.question] if record.standalone != record.question else []
        found = retrieve(
            store,
            embedder(),
            record.standalone,
            top_k,
            cutoff,
            mode=record.mode,
            also=also,
            reranker=reranker,
        )
        record.retrieval_s, record.sources = found.seconds, found.sources
        if not found.sources:
            record.answer = NO_CONTEXT_ANSWER
        return found

    def stream(self, persona_prompt: str | None = None) -> Iterator[str]:
        """The answer so far, as it streams (nothing when no passage was found). When it
        ends, ``record.answer`` keeps only citations of real sources."""
        self._streaming = self._texts(persona_prompt)
        return self._streaming

    def _texts(self, persona_prompt: str | None) -> Generator[str, None, None]:
        record = self.record
        if self._llm is None or not record.sources:
            return
        stream = stream_answer(
            self._llm, record.question, record.sources, self._history, persona_prompt
        )
        try:
            for _ in stream.deltas():
                yield stream.text
        finally:
            record.answer = citations.drop_unknown(stream.text, len(record.sources))
            record.generation_s = stream.seconds


def answer(
    engine: Engine,
    collection_id: str,
    question: str,
    *,
    owner: str,
    model: str,
    mode: Mode = "vector",
) -> Answering:
    """Begin answering ``question`` from one of ``owner``'s collections; use it as a context
    manager. Raises :class:`~chatapp.services.documents.DocumentsError` for a collection that
    is not theirs (or no longer exists), before anything is searched.

    ``model`` names the target answering, as the page shows it; ``mode`` is the search.
    """
    if docs.get_collection(engine, collection_id, owner=owner) is None:
        raise docs.DocumentsError("This collection no longer exists.")
    return Answering(engine, collection_id, AnswerRecord(question, model, mode), owner=owner)

"""Answering from a collection: retrieval cites pages, follow-ups are condensed, nothing
relevant means no model call, and the passages reach the model (checked in the emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.llms import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

from baseten_llm import Baseten, ChatStream
from chatapp.services import documents as docs
from chatapp.services import ingest, rag
from chatapp.services.embedders import EmbedSpec, make_embedder
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.users import LOCAL_OWNER
from tests.pdfs import make_pdf
from tests.plain_words import assert_plain
from tests.sse_llm import DONE, scripted_baseten, sse_chunk


class ScriptedLLM(CustomLLM):
    """Replies with a fixed text and remembers the prompts it was sent."""

    reply: str = "What colour is the giraffe?"
    prompts: list[str] = []  # noqa: RUF012 - a pydantic field: each instance gets its own copy

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.reply)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    @llm_chat_callback()
    def chat(self, messages: list[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.prompts.append(messages[-1].content)
        return ChatResponse(message=ChatMessage(role="assistant", content=self.reply))


@pytest.fixture(scope="module")
def minilm() -> Any:
    return make_embedder(EmbedSpec())


@pytest.fixture
def store(tmp_path: Path, minilm: Any) -> NumpyVectorStore:
    data = make_pdf(
        [
            "Quarterly budget: office rent and salaries were paid on time.",
            "The violet giraffe of the zoo lives in Oslo and eats acacia leaves.",
            "Holiday calendar: the office closes for the winter break.",
        ]
    )
    chunked = ingest.chunk_file(ingest.parse_file("zoo.pdf", data), ingest.sha256_of(data), 256, 32)
    ingest.embed_nodes(chunked.nodes, minilm)
    store = NumpyVectorStore(tmp_path / "index")
    store.add(chunked.nodes)
    return store


def test_retrieval_cites_the_file_and_page_of_the_passage(store: Any, minilm: Any) -> None:
    found = rag.retrieve(store, minilm, "Where does the violet giraffe live?", top_k=2, cutoff=0.3)
    best = found.sources[0]
    assert best.citation == "zoo.pdf, page 2"
    assert "acacia leaves" in best.text and best.score > 0.5
    assert found.seconds > 0


def test_nothing_above_the_cutoff_leaves_no_sources(store: Any, minilm: Any) -> None:
    found = rag.retrieve(store, minilm, "quantum chromodynamics of quarks", top_k=3, cutoff=0.6)
    assert found.sources == [] and found.below_cutoff == 3
    with pytest.raises(ValueError):
        rag.stream_answer(ScriptedLLM(), "q", found.sources)


def test_a_first_question_is_not_condensed_and_costs_no_model_call() -> None:
    llm = ScriptedLLM(prompts=[])
    assert rag.condense_question(llm, [], "Where is it?") == "Where is it?"
    assert llm.prompts == []


def test_a_follow_up_is_condensed_with_the_history() -> None:
    llm = ScriptedLLM(prompts=[], reply='"What colour is the violet giraffe?"')
    history = [("Where does the violet giraffe live?", "In Oslo [1].")]
    standalone = rag.condense_question(llm, history, "What colour is it?")
    assert standalone == "What colour is the violet giraffe?"
    assert "Where does the violet giraffe live?" in llm.prompts[0]
    assert "Follow-up question: What colour is it?" in llm.prompts[0]


def test_the_answer_prompt_numbers_the_passages_with_citations_and_keeps_the_persona() -> None:
    sources = [
        rag.Source("a.pdf", "Rent is due on the 1st.", 0.8, page=3),
        rag.Source("b.md", "Keys are at reception.", 0.5, section="Office › Keys"),
    ]
    messages = rag.answer_messages(
        "When is rent due?", sources, [("Hi", "Hello")], persona_prompt="You are terse."
    )
    system = messages[0].content
    assert system.startswith("You are terse.")
    assert "[1] a.pdf, page 3\nRent is due on the 1st." in system
    assert "[2] b.md, Office › Keys" in system
    assert [m.content for m in messages[1:]] == ["Hi", "Hello", "When is rent due?"]


def test_the_streamed_answer_sends_the_passage_to_the_model(
    store: Any, minilm: Any, emulator: Any
) -> None:
    llm = Baseten(
        model_id="deepseek-ai/DeepSeek-V3.1",
        api_key=emulator.api_key,
        model_apis_url=emulator.model_apis_url,
    )
    found = rag.retrieve(store, minilm, "Where does the violet giraffe live?", 2, 0.3)
    answer = rag.stream_answer(llm, "Where does the violet giraffe live?", found.sources)
    deltas = list(answer.deltas())
    assert "".join(deltas) == answer.text
    assert answer.text.startswith("You said: Where does the violet giraffe live?")
    assert answer.seconds > 0
    sent = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")][-1]
    system = sent["body"]["messages"][0]["content"]
    assert "zoo.pdf, page 2" in system and "eats acacia leaves" in system


def test_sources_survive_a_round_trip_through_the_database_record() -> None:
    source = rag.Source("c.csv", "city: Oslo", 0.42, section="rows 2-26", sha256="ab")
    assert rag.Source.from_dict(source.to_dict() | {"extra": 1}) == source
    assert source.citation == "c.csv, rows 2-26"


def test_the_persona_temperature_applies_only_when_the_sidebar_leaves_it_unset(
    emulator: Any, store: Any, minilm: Any
) -> None:
    from chatapp.settings import AppConfig
    from chatapp.targets import GenerationSettings, Target, make_llm

    unset = GenerationSettings(max_tokens=50)
    assert unset.with_persona_default(0.2) == GenerationSettings(temperature=0.2, max_tokens=50)
    assert GenerationSettings(temperature=0.9).with_persona_default(0.2).temperature == 0.9
    assert unset.with_persona_default(None) is unset

    config = AppConfig(Path("."), "sqlite://", model_apis_url=emulator.model_apis_url)
    llm = make_llm(Target(), emulator.api_key, config, unset.with_persona_default(0.2))
    found = rag.retrieve(store, minilm, "Where does the violet giraffe live?", 1, 0.3)
    list(rag.stream_answer(llm, "Where does the violet giraffe live?", found.sources).deltas())
    sent = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")][-1]
    assert sent["body"]["temperature"] == 0.2


def test_the_emulator_answers_the_condense_prompt_with_a_standalone_question(emulator) -> None:
    llm = Baseten(
        model_id="deepseek-ai/DeepSeek-V3.1",
        api_key=emulator.api_key,
        model_apis_url=emulator.model_apis_url,
    )
    history = [("What is the violet giraffe?", "An animal."), ("Where is it kept?", "A zoo.")]
    standalone = rag.condense_question(llm, history, "And what does it eat?")
    assert standalone == "And what does it eat, regarding: What is the violet giraffe?"


def test_a_follow_up_retrieves_with_the_question_as_asked_even_when_the_rewrite_is_poor(
    store: Any, minilm: Any
) -> None:
    rewrite = "You said: something unrelated about budgets"
    alone = rag.retrieve(store, minilm, rewrite, top_k=1, cutoff=0.0)
    merged = rag.retrieve(
        store,
        minilm,
        rewrite,
        top_k=2,
        cutoff=0.0,
        also=["What does the violet giraffe eat?"],
        mode="hybrid",
    )
    assert "giraffe" not in alone.sources[0].text
    assert any("acacia" in s.text for s in merged.sources)
    assert merged.queries == [rewrite, "What does the violet giraffe eat?"]


# --- the whole question, as the Documents page runs it -------------------------------------


def emulator_llm(emulator: Any) -> Baseten:
    return Baseten(
        model_id="deepseek-ai/DeepSeek-V3.1",
        api_key=emulator.api_key,
        model_apis_url=emulator.model_apis_url,
        max_retries=0,
    )


def ask(
    engine: Any,
    collection_id: str,
    question: str,
    llm: Any,
    store: Any,
    minilm: Any,
) -> rag.AnswerRecord:
    texts: list[str] = []
    with rag.answer(
        engine, collection_id, question, model="Model API · test", owner=LOCAL_OWNER
    ) as answering:
        answering.search(llm, store, lambda: minilm, top_k=2, cutoff=0.3)
        texts.extend(answering.stream("You are terse."))
    assert not texts or texts[-1].startswith(answering.record.answer[:10])
    return answering.record


@pytest.fixture
def collection(engine: Any) -> Any:
    return docs.create_collection(engine, "Zoo", EmbedSpec(), owner=LOCAL_OWNER)


def test_a_question_is_answered_from_its_sources_and_stored_with_them(
    engine: Any, emulator: Any, store: Any, minilm: Any, collection: Any
) -> None:
    record = ask(
        engine,
        collection.id,
        "Where does the violet giraffe live?",
        emulator_llm(emulator),
        store,
        minilm,
    )
    assert record.error is None and record.answer
    assert record.sources[0].citation == "zoo.pdf, page 2"
    assert record.retrieval_s > 0 and record.generation_s > 0
    system = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")][-1][
        "body"
    ]["messages"][0]["content"]
    assert system.startswith("You are terse.") and "acacia leaves" in system
    stored = docs.history(engine, collection.id, owner=LOCAL_OWNER)[-1]
    assert (stored["question"], stored["answer"]) == (record.question, record.answer)
    assert stored["sources"] == [s.to_dict() for s in record.sources]


def test_a_question_nothing_matches_is_answered_without_the_model_and_stored(
    engine: Any, emulator: Any, store: Any, minilm: Any, collection: Any
) -> None:
    record = ask(
        engine,
        collection.id,
        "Quantum chromodynamics lattice gauge theory?",
        emulator_llm(emulator),
        store,
        minilm,
    )
    assert (record.answer, record.sources) == (rag.NO_CONTEXT_ANSWER, [])
    assert not [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]
    assert (
        docs.history(engine, collection.id, owner=LOCAL_OWNER)[-1]["answer"]
        == rag.NO_CONTEXT_ANSWER
    )


def test_a_failing_model_leaves_a_stored_question_with_the_error_in_plain_words(
    engine: Any, emulator: Any, store: Any, minilm: Any, collection: Any
) -> None:
    emulator.fault(status=401, path_contains="/chat")
    record = ask(
        engine,
        collection.id,
        "Where does the violet giraffe live?",
        emulator_llm(emulator),
        store,
        minilm,
    )
    assert record.error and record.answer == ""
    assert_plain(record.error)
    assert docs.history(engine, collection.id, owner=LOCAL_OWNER)[-1]["error"] == record.error


def test_the_answer_text_and_time_are_the_ones_its_stream_reports() -> None:
    ticks = iter([10.0, 10.5, 11.0, 12.5])  # request sent, "In Oslo", " [1].", end

    def body() -> Iterator[bytes]:
        yield sse_chunk("In Oslo")
        yield sse_chunk(" [1].", finish_reason="stop")
        yield DONE

    llm = scripted_baseten(body, clock=lambda: next(ticks))
    answer = rag.stream_answer(llm, "Where?", [rag.Source("zoo.pdf", "Oslo.", 0.9, page=2)])
    assert list(answer.deltas()) == ["In Oslo", " [1]."]
    assert isinstance(answer.stream, ChatStream)
    assert (answer.text, answer.seconds) == (answer.stream.text, 2.5) == ("In Oslo [1].", 2.5)

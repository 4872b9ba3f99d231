"""Chunks the embedding model reads whole: the default chunk size comes from the model's input
limit, bigger chunks are refused, and a fact at the end of a chunk can be found (with the
bundled all-MiniLM-L6-v2, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores.types import VectorStoreQuery

from chatapp.services import documents as docs
from chatapp.services import embedders
from chatapp.services.embedders import BUNDLED_MODEL, EmbedSpec
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.users import LOCAL_OWNER

FACT = "The spare key to the boathouse is kept under the blue flowerpot by the door."
QUESTION = "Where is the spare key to the boathouse kept?"
TOPICS = [
    "The orchestra rehearsed the second movement twice before the evening concert began.",
    "Tomatoes ripen faster on the sunny side of the greenhouse in late summer.",
    "The quarterly budget review moved the marketing spend into the next fiscal year.",
    "Glaciers carve deep valleys as they slowly advance and retreat over centuries.",
    "The new compiler release shortened build times for most of the larger projects.",
    "Migrating swallows gather on the telephone wires at the end of September.",
]


def long_section(first_topic: int, sentences: int) -> str:
    """Varied filler that no question here is about."""
    return " ".join(TOPICS[(first_topic + n) % len(TOPICS)] for n in range(sentences))


def test_the_default_chunk_fits_what_the_bundled_model_reads(engine: Any) -> None:
    limit = embedders.max_input_tokens(EmbedSpec())
    assert limit == 256  # all-MiniLM-L6-v2 reads 256 word pieces
    created = docs.create_collection(engine, "Manuals", EmbedSpec(), owner=LOCAL_OWNER)
    assert created.chunk_size == embedders.default_chunk_size(limit) == 192
    assert created.chunk_overlap == 24


def test_chunks_longer_than_the_model_reads_are_refused_with_what_to_use(engine: Any) -> None:
    with pytest.raises(docs.DocumentsError) as refused:
        docs.create_collection(
            engine, "Manuals", EmbedSpec(), chunk_size=512, chunk_overlap=64, owner=LOCAL_OWNER
        )
    message = str(refused.value)
    assert "reads at most 256 tokens" in message and "192" in message
    assert docs.list_collections(engine, owner=LOCAL_OWNER) == []


def test_a_baseten_deployment_gets_a_conservative_limit_that_the_person_can_raise(
    engine: Any,
) -> None:
    spec = EmbedSpec("baseten", "emb12345")
    assert docs.create_collection(engine, "Default", spec, owner=LOCAL_OWNER).chunk_size == 384
    with pytest.raises(docs.DocumentsError, match="enter its input limit"):
        docs.create_collection(engine, "Long", spec, chunk_size=1024, owner=LOCAL_OWNER)
    raised = docs.create_collection(
        engine, "Long", spec, chunk_size=1024, max_tokens=8192, owner=LOCAL_OWNER
    )
    assert raised.chunk_size == 1024


def test_a_fact_in_the_last_quarter_of_a_chunk_is_retrieved(engine: Any, tmp_path: Path) -> None:
    # Part 2 is longer than the model reads (about 310 word pieces) and ends with the fact:
    # one 512-token chunk would hold it all, and the model would never see the fact.
    sections = [f"# Part {n}\n\n{long_section(n, 30)}" for n in range(5)]
    sections[2] = f"# Part 2\n\n{long_section(2, 20)} {FACT}"
    data = "\n\n".join(sections).encode()
    collection = docs.create_collection(
        engine, "Handbook", EmbedSpec(), owner=LOCAL_OWNER
    )  # default chunking
    store = NumpyVectorStore(docs.index_dir(tmp_path, collection.id))
    model = embedders.local_embedder(BUNDLED_MODEL)
    outcome = docs.add_file(engine, collection, store, lambda: model, "handbook.md", data)
    assert outcome.status == "indexed", outcome.message

    found = store.query(
        VectorStoreQuery(query_embedding=model.get_query_embedding(QUESTION), similarity_top_k=1)
    )
    [best] = found.nodes
    text = best.get_content(metadata_mode=MetadataMode.EMBED)
    assert FACT in text
    assert text.index(FACT) >= 0.75 * len(text)  # the fact sits in the chunk's last quarter
    tokenizer = model._model.tokenizer  # what the model reads of it, special tokens included
    assert len(tokenizer(text)["input_ids"]) <= embedders.max_input_tokens(EmbedSpec())

"""Embedding models: the bundled MiniLM offline, a clear message for a model that cannot load,
Baseten embeddings through the emulator, and no torch for anyone who does not need it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chatapp.services import documents as docs
from chatapp.services.embedders import (
    BUNDLED_MODEL,
    EmbedderUnavailableError,
    EmbedSpec,
    bundled_model_path,
    make_embedder,
)
from chatapp.services.vector_store import NumpyVectorStore
from chatapp.settings import AppConfig
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER


def test_the_default_model_resolves_to_the_bundled_copy() -> None:
    assert (Path(bundled_model_path()) / "config.json").exists()
    assert EmbedSpec().model == BUNDLED_MODEL
    assert EmbedSpec("baseten", "emb12345").label == "Baseten embeddings · emb12345"


def test_a_model_that_cannot_be_loaded_fails_with_an_actionable_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never reach for the network in tests
    with pytest.raises(EmbedderUnavailableError, match=r"no-such/model.*bundled"):
        make_embedder(EmbedSpec("local", "no-such/model"))


def test_importing_the_documents_services_does_not_load_torch() -> None:
    code = (
        "import sys, chatapp.services.documents, chatapp.services.rag, "
        "chatapp.services.ingest, chatapp.services.embedders, chatapp.ui.documents_ui; "
        "print(any(m in sys.modules for m in ('torch', 'sentence_transformers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_collection_can_embed_through_a_baseten_deployment(tmp_path: Path, emulator) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    spec = EmbedSpec("baseten", "emb12345")
    collection = docs.create_collection(engine, "Remote", spec, owner=LOCAL_OWNER)
    config = AppConfig(
        data_dir=tmp_path, database_url="sqlite://", deployment_url=emulator.deployment_url
    )
    embedder = make_embedder(spec, config, emulator.api_key)
    store = NumpyVectorStore(docs.index_dir(tmp_path, collection.id))
    outcome = docs.add_file(engine, collection, store, lambda: embedder, "a.txt", b"Hello there.")
    assert outcome.status == "indexed"
    assert store.dim == 384
    assert any(
        "/model-emb12345/" in r["path"] and r["path"].endswith("/embeddings")
        for r in emulator.requests()
    )


def test_a_baseten_embedder_sends_its_requests_through_the_pool_it_is_given(
    tmp_path: Path, emulator
) -> None:
    sent: list[str] = []
    config = AppConfig(
        data_dir=tmp_path, database_url="sqlite://", deployment_url=emulator.deployment_url
    )
    with httpx.Client(
        event_hooks={"request": [lambda request: sent.append(request.url.path)]}
    ) as pool:
        embedder = make_embedder(
            EmbedSpec("baseten", "emb12345"), config, emulator.api_key, http_client=pool
        )
        assert len(embedder.get_text_embedding("Hello there.")) == 384
    assert sent and all(path.startswith("/model-emb12345/") for path in sent)

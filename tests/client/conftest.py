"""Client-test helpers: Baseten objects pointed at the emulator (fixture `emulator` in
tests/conftest.py), a clean catalog cache and environment, and a check that no error raised in
these tests ever shows the API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from baseten_llm import Baseten, BasetenEmbedding
from baseten_llm.catalog import ModelCatalog


@pytest.fixture(autouse=True)
def _clean_client_state(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASETEN_API_KEY", "BASETEN_MODEL_APIS_URL", "BASETEN_DEPLOYMENT_URL"):
        monkeypatch.delenv(name, raising=False)
    ModelCatalog.clear()


@pytest.fixture
def model_api(emulator) -> Callable[..., Baseten]:
    """Make a Model APIs Baseten against the emulator."""

    def make(model_id: str = "deepseek-ai/DeepSeek-V3.1", **kwargs: Any) -> Baseten:
        kwargs.setdefault("api_key", emulator.api_key)
        return Baseten(model_id=model_id, model_apis_url=emulator.model_apis_url, **kwargs)

    return make


@pytest.fixture
def dedicated(emulator) -> Callable[..., Baseten]:
    """Make a dedicated-deployment Baseten against the emulator."""

    def make(model_id: str = "abcd1234", **kwargs: Any) -> Baseten:
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("model_apis", False)
        return Baseten(model_id=model_id, deployment_url=emulator.deployment_url, **kwargs)

    return make


@pytest.fixture
def embedder(emulator) -> Callable[..., BasetenEmbedding]:
    """Make a BasetenEmbedding against the emulator."""

    def make(model_id: str = "emb12345", **kwargs: Any) -> BasetenEmbedding:
        kwargs.setdefault("api_key", emulator.api_key)
        return BasetenEmbedding(model_id=model_id, deployment_url=emulator.deployment_url, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _no_key_in_any_error(monkeypatch: pytest.MonkeyPatch, emulator) -> Any:
    """Record every BasetenError created during a test; none may show a key in str or repr."""
    from baseten_llm import errors

    created: list = []
    original = errors.BasetenError.__init__

    def recording_init(self, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(errors.BasetenError, "__init__", recording_init)
    yield created
    secrets = [emulator.api_key, "SECRET"]
    for error in created:
        for secret in secrets:
            assert secret not in str(error) and secret not in repr(error), (
                f"{type(error).__name__} leaks a key"
            )

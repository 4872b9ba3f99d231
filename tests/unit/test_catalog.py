"""The Model APIs catalog: lazy fetch, per-URL cache with TTL, dated snapshot fallback, suggestions."""

import pytest

from baseten_llm import errors
from baseten_llm.catalog import (
    SNAPSHOT,
    SNAPSHOT_DATE,
    ModelCatalog,
    parse_models,
    suggest_models,
    unknown_model_error,
)

LIVE = {
    "object": "list",
    "data": [
        {"id": "zai-org/GLM-4.7", "name": "GLM 4.7", "context_length": 204800},
        {"id": "openai/gpt-oss-120b", "object": "model"},
    ],
}


@pytest.fixture(autouse=True)
def clean_cache():
    ModelCatalog.clear()
    yield
    ModelCatalog.clear()


def test_snapshot_has_the_documented_slugs_and_contexts():
    by_id = {m.id: m.context_length for m in SNAPSHOT}
    assert by_id["deepseek-ai/DeepSeek-V3.1"] == 163_840
    assert by_id["moonshotai/Kimi-K2-Instruct-0905"] == 131_072
    assert by_id["zai-org/GLM-4.6"] == 200_000 and by_id["openai/gpt-oss-120b"] == 131_072
    assert len(by_id) == 17 and SNAPSHOT_DATE == "2026-12-01"


def test_snapshot_has_the_newer_slugs_of_baseten_s_current_docs():
    by_id = {m.id: m for m in SNAPSHOT}
    for slug in (
        "deepseek-ai/DeepSeek-V4-Pro",
        "moonshotai/Kimi-K2.6",
        "moonshotai/Kimi-K2.7-Code",
        "zai-org/GLM-5.1",
        "zai-org/GLM-5.2",
        "nvidia/Nemotron-120B-A12B",
        "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B",
    ):
        assert slug in by_id
    assert by_id["zai-org/GLM-5.2"].context_length == 131_072
    assert (
        by_id["deepseek-ai/DeepSeek-V4-Pro"].context_length is None
    )  # not stated by the docs: unknown, not guessed
    assert [m.id for m in SNAPSHOT if m.input_modalities and "image" in m.input_modalities] == [
        "moonshotai/Kimi-K2.5",
        "moonshotai/Kimi-K2.6",
    ]


def test_parse_models_reads_rows_with_optional_fields():
    rows = parse_models(LIVE)
    assert [(m.id, m.name, m.context_length) for m in rows] == [
        ("zai-org/GLM-4.7", "GLM 4.7", 204800),
        ("openai/gpt-oss-120b", "openai/gpt-oss-120b", None),
    ]


def test_fetch_happens_once_per_base_url_until_the_ttl_expires():
    now = [0.0]
    fetched = []

    def fetch(url):
        fetched.append(url)
        return LIVE

    catalog = ModelCatalog("https://a.example/v1/", ttl_s=100, clock=lambda: now[0])
    models, source = catalog.models(fetch)
    assert [m.id for m in models] == ["zai-org/GLM-4.7", "openai/gpt-oss-120b"] and "live" in source
    ModelCatalog("https://a.example/v1", clock=lambda: now[0]).models(fetch)
    assert fetched == ["https://a.example/v1/models"]
    ModelCatalog("https://b.example/v1", clock=lambda: now[0]).models(fetch)
    now[0] = 101
    catalog.models(fetch)
    assert fetched == [
        "https://a.example/v1/models",
        "https://b.example/v1/models",
        "https://a.example/v1/models",
    ]


def test_a_failed_fetch_falls_back_to_the_dated_snapshot():
    def fail(url):
        raise errors.APIConnectionError("offline")

    models, source = ModelCatalog("https://c.example/v1").models(fail)
    assert models == list(SNAPSHOT) and SNAPSHOT_DATE in source


def test_a_missing_key_is_not_hidden_by_the_fallback():
    def no_key(url):
        raise errors.MissingAPIKeyError("set BASETEN_API_KEY")

    with pytest.raises(errors.MissingAPIKeyError):
        ModelCatalog("https://d.example/v1").models(no_key)


@pytest.mark.parametrize(
    "typo, expected",
    [
        ("moonshotai/Kimi-k2-instruct-0905", "moonshotai/Kimi-K2-Instruct-0905"),
        ("ai-org/GLM-4.6", "zai-org/GLM-4.6"),
        ("deepseek-ai/deepseek-v3.1", "deepseek-ai/DeepSeek-V3.1"),
        ("gpt-oss-120b", "openai/gpt-oss-120b"),
    ],
)
def test_suggestions_are_case_insensitive_and_closest_first(typo, expected):
    assert suggest_models(typo, [m.id for m in SNAPSHOT])[0] == expected


def test_unknown_model_error_names_the_suggestions():
    error = unknown_model_error("deepseek-ai/DeepSeek-V3.2", SNAPSHOT, source="test")
    assert isinstance(error, errors.UnknownModelError)
    assert error.suggestions and error.suggestions[0].startswith("deepseek-ai/DeepSeek-V3")
    assert "Did you mean" in str(error) and "model_apis=False" in str(error)

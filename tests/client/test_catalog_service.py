"""The sidebar's model list: live from the emulator, else the dated snapshot with a reason."""

import httpx
import pytest

from baseten_llm.catalog import SNAPSHOT_DATE, ModelCatalog
from chatapp.services.catalog import CatalogRow, load_catalog


@pytest.fixture(autouse=True)
def _fresh_catalog_cache():
    ModelCatalog.clear()
    yield
    ModelCatalog.clear()


def test_with_a_key_the_list_comes_live_from_the_models_endpoint(emulator):
    catalog = load_catalog(emulator.model_apis_url, emulator.api_key)
    assert catalog.note is None
    assert "deepseek-ai/DeepSeek-V3.1" in [row.id for row in catalog.rows]
    assert any(r["path"].endswith("/v1/models") for r in emulator.requests())


def test_without_a_key_the_snapshot_is_shown_and_says_how_to_get_the_live_list():
    catalog = load_catalog(None, None)
    assert SNAPSHOT_DATE in catalog.note and "API key" in catalog.note
    assert "moonshotai/Kimi-K2-Instruct-0905" in [row.id for row in catalog.rows]


def test_when_the_list_cannot_be_fetched_the_snapshot_is_labelled_as_such(emulator):
    emulator.fault(status=503, times=5, path_contains="/models")
    catalog = load_catalog(emulator.model_apis_url, emulator.api_key)
    assert "could not be loaded" in catalog.note and SNAPSHOT_DATE in catalog.note
    assert catalog.rows


def test_a_row_label_shows_the_context_length_in_thousands():
    assert (
        CatalogRow("zai-org/GLM-4.6", "GLM 4.6", 200_000).label == "zai-org/GLM-4.6 · 200k context"
    )
    assert CatalogRow("x/y", "y", None).label == "x/y"


def test_the_list_is_fetched_over_the_connection_pool_it_is_given(emulator):
    sent = []
    with httpx.Client(
        event_hooks={"request": [lambda request: sent.append(request.url.path)]}
    ) as pool:
        catalog = load_catalog(emulator.model_apis_url, emulator.api_key, http_client=pool)
    assert catalog.note is None and sent == ["/v1/models"]

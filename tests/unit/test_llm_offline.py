"""Baseten's construction, validation and request building, with httpx.MockTransport."""

import json

import httpx
import pytest

from baseten_llm import Baseten, errors
from baseten_llm.catalog import ModelCatalog
from baseten_llm.predict import build_predict_input, extract_predict_text

KEY = "sk-offline-SECRET-999"


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("BASETEN_API_KEY", "BASETEN_MODEL_APIS_URL", "BASETEN_DEPLOYMENT_URL"):
        monkeypatch.delenv(name, raising=False)
    ModelCatalog.clear()


def recording_client(handler):
    seen = []

    def wrapped(request):
        seen.append(request)
        return handler(request)

    return httpx.Client(transport=httpx.MockTransport(wrapped)), seen


def test_construction_does_no_network_io_and_needs_no_key():
    client, seen = recording_client(lambda r: httpx.Response(500))
    llm = Baseten(model_id="deepseek-ai/DeepSeek-V3.1", http_client=client)
    Baseten(model_id="abcd1234", model_apis=False, http_client=client)
    assert seen == [] and llm.model_apis


def test_missing_key_fails_at_first_request_naming_the_variable():
    client, seen = recording_client(lambda r: httpx.Response(200, json={}))
    llm = Baseten(model_id="deepseek-ai/DeepSeek-V3.1", http_client=client)
    with pytest.raises(errors.MissingAPIKeyError, match="BASETEN_API_KEY"):
        llm.complete("hi")
    assert seen == []


def test_the_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", KEY)
    client, seen = recording_client(
        lambda r: httpx.Response(
            200, json={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
        )
    )
    llm = Baseten(model_id="abcd1234", model_apis=False, http_client=client)
    assert llm.complete("hi").text == "ok"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert (
        str(seen[0].url)
        == "https://model-abcd1234.api.baseten.co/environments/production/sync/v1/chat/completions"
    )


def test_webhook_on_model_apis_fails_at_construction():
    with pytest.raises(errors.AsyncModeError, match="dedicated deployment"):
        Baseten(model_id="deepseek-ai/DeepSeek-V3.1", webhook_endpoint="https://h/x")
    with pytest.raises(errors.AsyncModeError):
        Baseten(model_id="abcd1234", model_apis=True, webhook_endpoint="https://h/x")


def test_a_webhook_with_a_model_id_means_a_dedicated_deployment():
    assert Baseten(model_id="abcd1234", webhook_endpoint="https://h/x").model_apis is False


@pytest.mark.parametrize("bad", ["deepseek-ai/DeepSeek-V3.1", "", "abcd 1234"])
def test_dedicated_with_a_wrong_model_id_fails_at_construction(bad):
    with pytest.raises(errors.InvalidModelIdError, match="abcd1234"):
        Baseten(model_id=bad, model_apis=False)


def test_unknown_slug_fails_lazily_with_suggestions_from_the_snapshot():
    client, seen = recording_client(lambda r: httpx.Response(503))
    llm = Baseten(
        model_id="moonshotai/Kimi-k2-instruct-0905", api_key=KEY, http_client=client, max_retries=0
    )
    with pytest.raises(errors.UnknownModelError) as info:
        llm.validate()
    assert info.value.suggestions[0] == "moonshotai/Kimi-K2-Instruct-0905"
    assert [r.url.path for r in seen] == ["/v1/models"]


def test_metadata_uses_the_catalog_context_and_declares_tool_calling():
    client, seen = recording_client(
        lambda r: httpx.Response(
            200, json={"data": [{"id": "zai-org/GLM-4.7", "context_length": 200000}]}
        )
    )
    llm = Baseten(model_id="zai-org/GLM-4.7", api_key=KEY, http_client=client, max_tokens=512)
    assert (
        llm.metadata.context_window == 204_800 and seen == []
    )  # the snapshot; metadata never fetches
    llm.list_models()
    meta = llm.metadata
    assert (
        meta.context_window,
        meta.num_output,
        meta.is_chat_model,
        meta.is_function_calling_model,
    ) == (200000, 512, True, True)
    dedicated = Baseten(model_id="abcd1234", model_apis=False).metadata
    assert dedicated.context_window == 8192
    assert (
        Baseten(model_id="abcd1234", model_apis=False, context_window=32000).metadata.context_window
        == 32000
    )


def test_predict_mapping_default_and_custom():
    messages = [{"role": "user", "content": "hi"}]
    assert build_predict_input(messages, stream=True, params={"max_tokens": 5}) == {
        "messages": messages,
        "stream": True,
        "max_tokens": 5,
    }
    custom = build_predict_input(
        messages,
        stream=False,
        params={},
        builder=lambda m, **kw: {"prompt": m[-1]["content"], **kw},
    )
    assert custom == {"prompt": "hi", "stream": False}


@pytest.mark.parametrize(
    "reply, text",
    [
        ("plain", "plain"),
        ({"output": "o"}, "o"),
        ({"choices": [{"message": {"content": "c"}}]}, "c"),
        ({"result": {"text": "nested"}}, "nested"),
        (["a", "b"], "ab"),
        ({"other": 1}, '{"other": 1}'),
    ],
)
def test_predict_output_extraction(reply, text):
    assert extract_predict_text(reply) == text


def test_repr_and_serialization_never_contain_the_key():
    llm = Baseten(model_id="abcd1234", model_apis=False, api_key=KEY)
    assert (
        KEY not in repr(llm)
        and KEY not in str(llm)
        and KEY not in json.dumps(llm.to_dict(), default=str)
    )

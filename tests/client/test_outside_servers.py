"""The client trusts the server about models: a slug the catalog does not list is still sent,
a deployment URL may be one model's base URL, and metadata never costs a request."""

import asyncio
import json

import httpx
import pytest
from llama_index.core.llms import ChatMessage

from baseten_llm import Baseten, errors
from baseten_llm.catalog import SNAPSHOT, ModelCatalog
from baseten_llm.llm import DEFAULT_DEDICATED_CONTEXT_WINDOW

HI = [ChatMessage(role="user", content="hi")]


def _any_model_server(seen: list) -> httpx.MockTransport:
    """An OpenAI-compatible server that lists two models but answers for any model name."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "GET":
            return httpx.Response(
                200,
                json={"object": "list", "data": [{"id": "acme/listed-1"}, {"id": "acme/listed-2"}]},
            )
        body = json.loads(request.content)
        text = f"served {body['model']}"
        if not body.get("stream"):
            return httpx.Response(
                200, json={"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}
            )
        chunks = [{"choices": [{"delta": {"content": text}, "finish_reason": "stop"}]}]
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handler)


def test_an_outside_server_that_lists_other_models_still_serves_the_chosen_one():
    seen: list = []
    transport = _any_model_server(seen)
    llm = Baseten(
        model_id="acme/unlisted-preview",
        api_key="SECRET",
        model_apis_url="http://outside.test/v1",
        http_client=httpx.Client(transport=transport),
        async_http_client=httpx.AsyncClient(transport=transport),
    )
    assert llm.chat(HI).message.content == "served acme/unlisted-preview"
    assert list(llm.stream_chat(HI))[-1].message.content == "served acme/unlisted-preview"

    async def run():
        return (await llm.achat(HI)).message.content, [c async for c in await llm.astream_chat(HI)][
            -1
        ].message.content

    assert asyncio.run(run()) == ("served acme/unlisted-preview", "served acme/unlisted-preview")
    assert seen == [("POST", "/v1/chat/completions")] * 4  # never asked for /models first
    assert llm.metadata.context_window == DEFAULT_DEDICATED_CONTEXT_WINDOW
    assert [m.id for m in llm.list_models()] == [
        "acme/listed-1",
        "acme/listed-2",
    ]  # the picker's list still works


def test_metadata_costs_no_request_and_uses_the_live_list_once_loaded(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")
    assert llm.metadata.context_window == 200_000  # the built-in snapshot
    assert emulator.requests() == []
    llm.list_models()
    assert llm.metadata.context_window == 202_752  # the emulator's live row


def test_a_deployment_url_without_model_id_does_not_break_model_api_calls(emulator, monkeypatch):
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", "https://proxy.example/one-model")
    llm = Baseten(
        model_id="zai-org/GLM-4.6", api_key=emulator.api_key, model_apis_url=emulator.model_apis_url
    )
    assert llm.complete("hello").text.startswith("You said: hello")


def test_a_deployment_url_without_model_id_is_that_one_model_s_base_url(emulator, monkeypatch):
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", f"{emulator.base_url}/model-abcd1234")
    proxied = Baseten(
        model_id="efgh5678", model_apis=False, api_key=emulator.api_key, environment="staging"
    )
    assert proxied.complete("through the proxy").text.startswith("You said: through the proxy")
    assert (
        emulator.requests()[-1]["path"]
        == "/model-abcd1234/environments/staging/sync/v1/chat/completions"
    )


def test_validate_still_checks_the_slug_against_the_list_when_asked(emulator, model_api):
    with pytest.raises(errors.UnknownModelError) as info:
        model_api("zai-org/glm-4.6").validate()
    assert info.value.suggestions[0] == "zai-org/GLM-4.6"


def test_list_models_says_where_its_list_came_from(emulator, model_api, dedicated):
    live = model_api("zai-org/GLM-4.6").list_models()
    assert live.live and live.source == f"live list from {emulator.model_apis_url}/models"
    emulator.fault(status=503, times=10, path_contains="/models")
    ModelCatalog.clear()
    fallback = model_api("zai-org/GLM-4.6", max_retries=0).list_models()
    assert not fallback.live and fallback.source.startswith("built-in snapshot of 2026-12-01")
    assert fallback == list(SNAPSHOT)
    assert dedicated().list_models().source == "this dedicated deployment"


def test_the_jobs_client_is_built_once_and_serves_the_seed_aliases(emulator, dedicated):
    llm = dedicated()
    assert llm.jobs is llm.jobs
    request_id = llm.jobs.submit({"model_input": {"prompt": "hi"}})["request_id"]
    assert llm.get_async_request(request_id).request_id == request_id

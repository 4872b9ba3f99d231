"""Each error class from real HTTP replies, retries, broken and abandoned streams, and the key
never showing in any error or repr."""

import asyncio

import httpx
import pytest
from llama_index.core.llms import ChatMessage

from baseten_llm import Baseten, errors

HI = [ChatMessage(role="user", content="hi")]


def test_a_wrong_key_is_an_authentication_error_without_the_key(emulator, model_api):
    secret = "sk-wrong-SECRET-key-42"
    llm = model_api("zai-org/GLM-4.6", api_key=secret)
    with pytest.raises(errors.AuthenticationError) as info:
        llm.complete("hi")
    assert info.value.status_code == 401 and "BASETEN_API_KEY" in str(info.value)
    assert (
        secret not in str(info.value) and secret not in repr(info.value) and secret not in repr(llm)
    )


@pytest.mark.parametrize(
    "status, cls",
    [
        (402, errors.PaymentRequiredError),
        (403, errors.PermissionDeniedError),
        (413, errors.PayloadTooLargeError),
        (400, errors.BadRequestError),
        (422, errors.UnprocessableEntityError),
    ],
)
def test_injected_client_errors_map_to_their_class_without_retry(emulator, dedicated, status, cls):
    emulator.fault(status=status, times=1, path_contains="/chat")
    with pytest.raises(cls) as info:
        dedicated().chat(HI)
    assert info.value.status_code == status
    assert len(emulator.requests()) == 1
    assert emulator.api_key not in str(info.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_5xx_is_retried_then_raised(emulator, dedicated, status):
    emulator.fault(status=status, times=5, retry_after=0, path_contains="/chat")
    with pytest.raises(errors.ServerError) as info:
        dedicated(max_retries=2).chat(HI)
    assert info.value.status_code == status and len(emulator.requests()) == 3


def test_429_twice_with_retry_after_then_success(emulator, dedicated):
    emulator.fault(status=429, times=2, retry_after=1, path_contains="/chat")
    response = dedicated().chat(HI)
    assert response.message.content.startswith("You said: hi")
    log = emulator.requests()
    assert [r["status"] for r in log] == [429, 429, 200]
    assert log[2]["time"] - log[0]["time"] >= 1.9


def test_429_beyond_the_retries_is_a_rate_limit_error_with_retry_after(emulator, dedicated):
    emulator.fault(status=429, times=3, retry_after=0, path_contains="/chat")
    with pytest.raises(errors.RateLimitError) as info:
        asyncio.run(dedicated(max_retries=1).achat(HI))
    assert info.value.retry_after == 0.0 and len(emulator.requests()) == 2


def test_a_stream_cut_midway_keeps_the_partial_text_and_is_not_resent(emulator, model_api):
    emulator.fault(cut_after_chunks=5)
    received = []
    with pytest.raises(errors.StreamInterruptedError) as info:
        for chunk in model_api("zai-org/GLM-4.6").stream_chat(HI):
            received.append(chunk.delta)
    assert info.value.partial_text == "".join(received) and info.value.partial_text.startswith(
        "You said:"
    )
    chats = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]
    assert len(chats) == 1 and chats[0]["stream_cut"]


def test_an_async_stream_cut_midway_raises_too(emulator, dedicated):
    emulator.fault(cut_after_chunks=3)

    async def run():
        got = []
        with pytest.raises(errors.StreamInterruptedError) as info:
            async for chunk in await dedicated().astream_complete("hi"):
                got.append(chunk.delta)
        return got, info.value

    got, error = asyncio.run(run())
    assert error.partial_text == "".join(got) != ""
    assert len(emulator.requests()) == 1


def test_leaving_a_stream_early_closes_the_http_stream(emulator, dedicated):
    emulator.configure(tokens_per_second=50)
    stream = dedicated().stream_chat(HI)
    for index, _ in enumerate(stream):
        if index == 2:
            break
    stream.close()
    for _ in range(50):
        if emulator.requests()[-1]["stream_closed_early"]:
            break
        asyncio.run(asyncio.sleep(0.05))
    assert emulator.requests()[-1]["stream_closed_early"] is True


def test_a_read_timeout_is_an_api_timeout_error(emulator, dedicated):
    emulator.fault(first_token_delay_s=2)
    with pytest.raises(errors.APITimeoutError):
        list(dedicated(timeout=0.3).stream_chat(HI))


def test_an_unreachable_server_is_a_connection_error_after_retries():
    llm = Baseten(
        model_id="abcd1234",
        model_apis=False,
        api_key="k-SECRET",
        deployment_url="http://127.0.0.1:9/model-{model_id}",
        max_retries=1,
    )
    with pytest.raises(errors.APIConnectionError) as info:
        llm.complete("hi")
    assert "k-SECRET" not in str(info.value)


def test_async_mode_refuses_achat_and_model_apis_refuse_webhooks(model_api, dedicated):
    llm = dedicated(webhook_endpoint="https://example.com/hook")
    with pytest.raises(errors.AsyncModeError, match="achat"):
        asyncio.run(llm.achat(HI))
    with pytest.raises(errors.AsyncModeError, match="dedicated deployment"):
        model_api("zai-org/GLM-4.6", webhook_endpoint="https://example.com/hook")


def test_the_read_timeout_holds_with_an_injected_http_client_sync_and_async(emulator, dedicated):
    emulator.fault(first_token_delay_s=2)
    with httpx.Client(timeout=60.0) as shared, pytest.raises(errors.APITimeoutError):
        list(dedicated(timeout=0.3, http_client=shared).stream_chat(HI))

    async def run():
        async with httpx.AsyncClient(timeout=60.0) as shared:
            await dedicated(timeout=0.3, async_http_client=shared).achat(HI)

    emulator.fault(first_token_delay_s=2)
    with pytest.raises(errors.APITimeoutError):
        asyncio.run(run())


def test_the_connect_timeout_is_applied_per_request_to_an_injected_client(emulator):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(
            200, json={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
        )

    shared = httpx.Client(transport=httpx.MockTransport(handler), timeout=httpx.Timeout(99.0))
    Baseten(
        model_id="abcd1234",
        model_apis=False,
        api_key="k",
        deployment_url="http://d.test/{model_id}",
        timeout=12.0,
        connect_timeout=1.5,
        http_client=shared,
    ).chat(HI)
    assert seen == [{"connect": 1.5, "read": 12.0, "write": 12.0, "pool": 12.0}]

"""Per-request options the app relies on: extra headers (Baseten's session-affinity header per
conversation), default headers, extra body fields, images as content parts, cached-token usage."""

import asyncio
import base64
import json

import httpx
import pytest
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.llms import ChatMessage

from baseten_llm import Baseten

HELLO = [ChatMessage(role="user", content="Hello there")]
AFFINITY = {"x-session-affinity": "conversation-42"}
# The smallest valid PNG: 1x1 transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def chat_requests(emulator):
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def test_extra_headers_go_with_that_request_only_sync_and_streamed(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")
    llm.chat(HELLO, extra_headers=AFFINITY)
    list(llm.stream_chat(HELLO, extra_headers={"x-session-affinity": "conversation-43"}))
    llm.chat(HELLO)
    sent = [r["headers"].get("x-session-affinity") for r in chat_requests(emulator)]
    assert sent == ["conversation-42", "conversation-43", None]
    assert all("extra_headers" not in r["body"] for r in chat_requests(emulator))


def test_extra_headers_reach_the_server_from_the_async_methods_and_complete(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")

    async def run():
        await llm.achat(HELLO, extra_headers={"x-session-affinity": "a"})
        [c async for c in await llm.astream_chat(HELLO, extra_headers={"x-session-affinity": "b"})]
        await llm.acomplete("hi", extra_headers={"x-session-affinity": "c"})

    asyncio.run(run())
    llm.complete("hi", extra_headers={"x-session-affinity": "d"})
    assert [r["headers"]["x-session-affinity"] for r in chat_requests(emulator)] == [
        "a",
        "b",
        "c",
        "d",
    ]


def test_default_headers_go_with_every_request_and_per_call_headers_win(emulator, dedicated):
    llm = dedicated(default_headers={"x-team": "demo", "x-session-affinity": "default"})
    llm.chat(HELLO)
    llm.chat(HELLO, extra_headers={"x-session-affinity": "chosen"})
    first, second = chat_requests(emulator)
    assert first["headers"]["x-team"] == second["headers"]["x-team"] == "demo"
    assert (first["headers"]["x-session-affinity"], second["headers"]["x-session-affinity"]) == (
        "default",
        "chosen",
    )


def test_a_per_call_header_never_replaces_the_api_key(emulator, model_api):
    response = model_api("zai-org/GLM-4.6").chat(
        HELLO, extra_headers={"Authorization": "Bearer stolen"}
    )
    assert response.message.content.startswith(
        "You said: Hello there"
    )  # the emulator accepted the real key


def test_extra_body_fields_are_merged_into_the_json_body(emulator, model_api):
    model_api("zai-org/GLM-4.6").chat(
        HELLO, extra_body={"chat_template_args": {"enable_thinking": True}, "top_k": 20}
    )
    body = chat_requests(emulator)[-1]["body"]
    assert body["chat_template_args"] == {"enable_thinking": True} and body["top_k"] == 20
    assert "extra_body" not in body


def test_an_image_block_is_sent_as_a_data_url_content_part(emulator, model_api):
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="What is in this picture"), ImageBlock(image=PNG)]
    )
    response = model_api("moonshotai/Kimi-K2.5").chat([message])
    assert "You said: What is in this picture" in response.message.content
    parts = chat_requests(emulator)[-1]["body"]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What is in this picture"}
    assert parts[1]["type"] == "image_url"
    url = parts[1]["image_url"]["url"]
    assert (
        url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == PNG
    )


def test_an_image_file_is_read_and_sent_inline_when_streaming(emulator, model_api, tmp_path):
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="Describe"), ImageBlock(path=path, detail="low")]
    )
    list(model_api("moonshotai/Kimi-K2.5").stream_chat([message]))
    image = chat_requests(emulator)[-1]["body"]["messages"][0]["content"][1]["image_url"]
    assert image["detail"] == "low" and base64.b64decode(image["url"].split(",", 1)[1]) == PNG


def _usage_transport(cached: int) -> httpx.MockTransport:
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 2,
        "total_tokens": 122,
        "prompt_tokens_details": {"cached_tokens": cached},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "zai-org/GLM-4.6"}]})
        body = json.loads(request.content)
        if not body.get("stream"):
            return httpx.Response(
                200,
                json={
                    "choices": [
                        {"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                },
            )
        chunks = [
            {"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ]
        text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handler)


def test_cached_prompt_tokens_are_reported_in_usage():
    llm = Baseten(
        model_id="zai-org/GLM-4.6",
        api_key="SECRET",
        model_apis_url="http://upstream.test/v1",
        http_client=httpx.Client(transport=_usage_transport(96)),
    )
    assert llm.chat(HELLO).additional_kwargs["usage"]["cached_tokens"] == 96
    last = list(llm.stream_chat(HELLO))[-1]
    assert last.additional_kwargs["usage"] == {
        "prompt_tokens": 120,
        "completion_tokens": 2,
        "total_tokens": 122,
        "reasoning_tokens": 0,
        "cached_tokens": 96,
    }


def test_a_server_that_does_not_report_cached_tokens_gives_zero(model_api):
    assert (
        model_api("zai-org/GLM-4.6").complete("hi").additional_kwargs["usage"]["cached_tokens"] == 0
    )


def test_non_mapping_extra_headers_are_refused_before_sending(emulator, model_api):
    with pytest.raises(TypeError):
        model_api("zai-org/GLM-4.6").chat(HELLO, extra_headers=["x-session-affinity"])
    assert chat_requests(emulator) == []

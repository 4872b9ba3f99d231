"""Every example of the upstream llama-index-llms-baseten README, run unchanged except for the
placeholders (slug, model id, key, webhook) and base URLs taken from the environment, against
the emulator."""

import asyncio

import httpx
from llama_index.core.llms import ChatMessage

from baseten_llm import Baseten


def point_at(emulator, monkeypatch):
    monkeypatch.setenv("BASETEN_MODEL_APIS_URL", emulator.model_apis_url)
    monkeypatch.setenv("BASETEN_DEPLOYMENT_URL", emulator.deployment_url)


def test_basic_usage_completion_chat_and_streaming(emulator, monkeypatch, capsys):
    point_at(emulator, monkeypatch)
    MODEL_SLUG, YOUR_API_KEY, MODEL_ID = (
        "deepseek-ai/DeepSeek-V3-0324",
        emulator.api_key,
        "abcd1234",
    )
    llms = [
        Baseten(model_id=MODEL_SLUG, api_key=YOUR_API_KEY, model_apis=True),
        Baseten(model_id=MODEL_ID, api_key=YOUR_API_KEY, model_apis=False),
    ]
    for llm in llms:
        response = llm.complete("Paul Graham is")
        print(response.text)
        messages = [
            ChatMessage(role="system", content="You are a pirate with a colorful personality"),
            ChatMessage(role="user", content="What is your name"),
        ]
        response = llm.chat(messages)
        print(response)
        response = llm.stream_complete("Paul Graham is")
        for r in response:
            print(r.delta, end="")
        response = llm.stream_chat(messages)
        for r in response:
            print(r.delta, end="")
    out = capsys.readouterr().out
    assert out.count("You said: Paul Graham is") == 4
    assert out.count("assistant: You said: What is your name") == 2
    assert out.count("You said: What is your name") == 4


def test_async_operations_and_status_check(emulator, monkeypatch):
    point_at(emulator, monkeypatch)
    emulator.configure(hold_jobs=True)
    async_llm = Baseten(
        model_id="abcd1234",
        api_key=emulator.api_key,
        webhook_endpoint="https://example.com/webhook",
    )

    async def main():
        return await async_llm.acomplete("Paul Graham is")

    response = asyncio.run(main())
    request_id = str(response)
    # The README checks status with requests and the Api-Key scheme; httpx stands in for requests.
    resp = httpx.get(
        f"{emulator.deployment_url.format(model_id='abcd1234')}/async_request/{request_id}",
        headers={"Authorization": f"Api-Key {emulator.api_key}"},
    )
    assert resp.json()["request_id"] == request_id and resp.json()["status"] == "QUEUED"
    assert async_llm.get_async_request(request_id).status == "QUEUED"

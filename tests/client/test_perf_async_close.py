"""Leaving an async stream early closes its HTTP stream promptly (LlamaIndex's async callback
wrapper does not ``aclose`` the generator it wraps; :mod:`baseten_llm._streams` does)."""

from __future__ import annotations

import asyncio
import collections.abc
import time

from llama_index.core.llms import ChatMessage

HI = [ChatMessage(role="user", content="hi")]


def closed_early(emulator) -> bool:
    log = emulator.requests()
    return bool(log) and log[-1]["stream_closed_early"] is True


def wait_blocking(emulator, seconds: float = 2.0) -> bool:
    """Poll without yielding to the event loop: only a close already done can show up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if closed_early(emulator):
            return True
        time.sleep(0.02)
    return False


async def wait_async(emulator, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if closed_early(emulator):
            return True
        await asyncio.sleep(0.02)
    return False


def test_aclose_after_leaving_astream_chat_early_closes_the_http_stream_before_returning(
    emulator, model_api
):
    emulator.configure(tokens_per_second=50, reply_tokens=400)
    llm = model_api()

    async def run() -> bool:
        stream = await llm.astream_chat(HI)
        async for index, _ in _enumerate(stream):
            if index == 2:
                break
        await stream.aclose()
        return wait_blocking(emulator)

    assert asyncio.run(run()) is True


def test_aclose_after_leaving_astream_complete_early_closes_the_http_stream_before_returning(
    emulator, model_api
):
    emulator.configure(tokens_per_second=50, reply_tokens=400)
    llm = model_api()

    async def run() -> bool:
        stream = await llm.astream_complete("hi")
        async for index, _ in _enumerate(stream):
            if index == 2:
                break
        await stream.aclose()
        return wait_blocking(emulator)

    assert asyncio.run(run()) is True


def test_breaking_out_and_dropping_the_stream_closes_it_while_the_loop_runs(emulator, model_api):
    emulator.configure(tokens_per_second=50, reply_tokens=400)
    llm = model_api()

    async def run() -> bool:
        async for chunk in await llm.astream_chat(HI):
            if chunk.delta:
                break
        return await wait_async(emulator)

    assert asyncio.run(run()) is True


def test_aclose_of_a_stream_never_read_closes_the_http_stream(emulator, model_api):
    emulator.configure(tokens_per_second=50, reply_tokens=400)
    llm = model_api()

    async def run() -> bool:
        stream = await llm.astream_chat(HI)
        await stream.aclose()
        return await wait_async(emulator)

    assert asyncio.run(run()) is True


def test_a_fully_read_async_stream_is_unchanged(emulator, model_api):
    emulator.configure(reply_tokens=12)
    llm = model_api("deepseek-ai/DeepSeek-V3-0324")

    async def run():
        stream = await llm.astream_chat(HI)
        chunks = [chunk async for chunk in stream]
        await stream.aclose()  # closing a finished stream is harmless
        return stream, chunks

    stream, chunks = asyncio.run(run())
    assert isinstance(stream, collections.abc.AsyncGenerator)
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content
    assert chunks[-1].message.content.startswith("You said: hi")
    assert chunks[-1].additional_kwargs["finish_reason"] == "stop"
    assert emulator.requests()[-1]["stream_closed_early"] is False


async def _enumerate(stream):
    index = 0
    async for item in stream:
        yield index, item
        index += 1

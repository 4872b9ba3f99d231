"""``stream_chat`` and friends return stream objects that own their HTTP response, close it, and
say how the reply went (text so far, time to first token, usage, tokens per second)."""

from __future__ import annotations

import asyncio
import time

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import (
    LLMChatInProgressEvent,
    LLMCompletionInProgressEvent,
)
from llama_index.core.llms import ChatMessage

from baseten_llm import AsyncChatStream, ChatStream

HI = [ChatMessage(role="user", content="hi")]


def closed_early(emulator, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = emulator.requests()
        if log and log[-1]["stream_closed_early"]:
            return True
        time.sleep(0.02)
    return False


def test_a_read_stream_reports_its_answer_usage_and_timings(emulator, model_api):
    emulator.configure(reply_tokens=24)
    stream = model_api("deepseek-ai/DeepSeek-V3-0324").stream_chat(HI)
    assert isinstance(stream, ChatStream)
    assert stream.metrics.time_to_first_token_s is None and stream.text == ""
    chunks = list(stream)
    metrics = stream.metrics
    assert stream.text == chunks[-1].message.content == "".join(c.delta or "" for c in chunks)
    assert (
        metrics.usage == chunks[-1].additional_kwargs["usage"]
        and metrics.usage["completion_tokens"] > 0
    )
    assert metrics.finish_reason == "stop"
    assert 0 < metrics.time_to_first_token_s <= metrics.elapsed_s
    assert metrics.tokens_per_s is not None and metrics.tokens_per_s > 0
    assert stream.response.is_closed


def test_reasoning_so_far_is_kept_apart_from_the_answer(model_api):
    stream = model_api("deepseek-ai/DeepSeek-V3.1").stream_chat(HI)
    chunks = list(stream)
    assert stream.reasoning == "Thinking about: hi"
    assert (
        stream.reasoning
        and stream.reasoning == chunks[-1].message.additional_kwargs["reasoning_content"]
    )
    assert stream.text == chunks[-1].message.content and stream.reasoning not in stream.text


def test_leaving_a_with_block_early_closes_the_http_stream(emulator, dedicated):
    emulator.configure(tokens_per_second=50, reply_tokens=400)
    with dedicated().stream_chat(HI) as stream:
        for index, _ in enumerate(stream):
            if index == 2:
                break
    assert stream.response.is_closed
    assert closed_early(emulator)


def test_stream_complete_is_a_stream_of_completions_with_the_same_metrics(emulator, model_api):
    emulator.configure(reply_tokens=12)
    stream = model_api("deepseek-ai/DeepSeek-V3-0324").stream_complete("hi")
    chunks = list(stream)
    assert isinstance(stream, ChatStream)
    assert chunks[-1].text == stream.text and chunks[-1].text.startswith("You said: hi")
    assert stream.metrics.usage == chunks[-1].additional_kwargs["usage"]


def test_an_async_stream_reports_its_metrics_and_closes_when_its_block_ends(emulator, model_api):
    emulator.configure(reply_tokens=12)
    llm = model_api("deepseek-ai/DeepSeek-V3-0324")

    async def read_all():
        async with await llm.astream_chat(HI) as stream:
            chunks = [chunk async for chunk in stream]
        return stream, chunks

    stream, chunks = asyncio.run(read_all())
    assert isinstance(stream, AsyncChatStream)
    assert (
        stream.text == chunks[-1].message.content
        and stream.metrics.usage == chunks[-1].additional_kwargs["usage"]
    )
    assert stream.metrics.time_to_first_token_s is not None and stream.response.is_closed

    emulator.configure(tokens_per_second=50, reply_tokens=400)

    async def leave_early():
        async with await llm.astream_complete("hi") as stream:
            async for _ in stream:
                break
        return stream.response.is_closed

    assert asyncio.run(leave_early()) is True
    assert closed_early(emulator)


class _InProgress(BaseEventHandler):
    seen: list = []  # noqa: RUF012 - a pydantic field: each instance gets its own copy

    @classmethod
    def class_name(cls) -> str:
        return "InProgressCounter"

    def handle(self, event, **kwargs) -> None:
        if isinstance(event, (LLMChatInProgressEvent, LLMCompletionInProgressEvent)):
            self.seen.append(event.response.delta)


def test_llama_index_instrumentation_still_sees_every_chunk(emulator, model_api):
    emulator.configure(reply_tokens=10)
    handler = _InProgress(seen=[])
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(handler)
    try:
        llm = model_api("deepseek-ai/DeepSeek-V3-0324")
        chat = [c.delta for c in llm.stream_chat(HI)]
        complete = [c.delta for c in llm.stream_complete("hi")]
    finally:
        dispatcher.event_handlers.remove(handler)
    assert handler.seen == chat + complete and len(chat) > 2

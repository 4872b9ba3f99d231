"""The fast paths of the stream (SSE data split, response construction) equal the general ones."""

from __future__ import annotations

import json

import pytest

from baseten_llm import _responses
from baseten_llm._sse import SSEDecoder
from baseten_llm.chat import (
    ChatResult,
    StreamAssembler,
    chat_response,
    completion_from_chat,
)

STREAMS = [
    b'data: {"a": 1}\n\ndata:{"b": 2}\n\n: comment\n\nevent: note\ndata: one\ndata: two\n\n'
    b"id: 7\ndata: caf\xc3\xa9 \xe2\x9c\x93\n\n\n\ndata\n\ndata: [DONE]\n\n",
    b'data: {"a": 1}\n\ndata: bad \xff utf8\n\ndata: {"c": 3}\r\n\r\ndata: x\rdata: y\r\rdata: tail',
    b": only a comment\n\nevent: ping\n\ndata:  two spaces\n\n",
]


def events_by_feed(stream: bytes, cut: int) -> list:
    decoder = SSEDecoder()
    return [e.data for part in (stream[:cut], stream[cut:]) for e in decoder.feed(part)] + [
        e.data for e in decoder.flush()
    ]


def events_by_feed_data(stream: bytes, cut: int) -> list:
    decoder = SSEDecoder()
    data = [
        d for part in (stream[:cut], stream[cut:]) for d in decoder.feed_data(part)
    ] + decoder.flush_data()
    return [d.decode("utf-8", errors="replace") for d in data]


@pytest.mark.parametrize("stream", STREAMS)
def test_feed_data_gives_the_data_of_the_same_events_at_every_split(stream: bytes) -> None:
    for cut in range(len(stream) + 1):
        assert events_by_feed_data(stream, cut) == events_by_feed(stream, cut), cut


def test_feed_data_one_byte_at_a_time() -> None:
    for stream in STREAMS:
        decoder = SSEDecoder()
        data = [
            d for i in range(len(stream)) for d in decoder.feed_data(stream[i : i + 1])
        ] + decoder.flush_data()
        assert [d.decode("utf-8", errors="replace") for d in data] == events_by_feed(stream, 0)


def test_invalid_utf8_in_a_chunk_is_replaced_not_dropped() -> None:
    assembler = StreamAssembler(sse=True)
    body = b'data: {"choices": [{"delta": {"content": "a\xffb"}}]}\n\n'
    out = assembler.feed(body)
    assert [r.delta for r in out] == ["a\ufffdb"]


def test_the_fast_construction_is_in_use_with_the_installed_llama_index() -> None:
    assert _responses.assistant_response is _responses._constructed_assistant_response
    assert _responses.completion_response is _responses._constructed_completion_response


RESULTS = [
    ChatResult(content=""),
    ChatResult(
        content="Hello",
        reasoning="hmm",
        finish_reason="stop",
        usage={
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
            "reasoning_tokens": 0,
        },
    ),
    ChatResult(
        content="",
        tool_calls=[
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
        ],
    ),
]


@pytest.mark.parametrize("result", RESULTS)
@pytest.mark.parametrize("final", [True, False])
def test_constructed_responses_equal_validated_ones(result: ChatResult, final: bool) -> None:
    raw = {"choices": []}
    built = chat_response(result, raw=raw, delta="lo", reasoning_delta="", final=final)
    message_kwargs = dict(built.message.additional_kwargs)
    checked = _responses.validated_assistant_response(
        result.content, message_kwargs, raw, "lo", dict(built.additional_kwargs)
    )
    assert built == checked
    assert built.model_fields_set == checked.model_fields_set
    assert built.message.model_fields_set == checked.message.model_fields_set
    assert built.model_dump() == checked.model_dump()
    assert json.loads(built.model_dump_json()) == json.loads(checked.model_dump_json())
    assert built.message.content == result.content and built.delta == "lo"
    assert [type(b) for b in built.message.blocks] == [type(b) for b in checked.message.blocks]
    # The instances behave like validated ones: assignment and copies work.
    if len(checked.message.blocks) == 1:
        built.message.content = "changed"
        assert built.message.content == "changed" and checked.message.content == result.content
    else:  # thinking or tool-call blocks: LlamaIndex refuses to replace them through .content
        with pytest.raises(ValueError):
            checked.message.content = "changed"
        with pytest.raises(ValueError):
            built.message.content = "changed"
    assert built.model_copy(deep=True) == built

    completion = completion_from_chat(checked)
    expected = _responses.validated_completion_response(
        checked.message.content or "",
        "lo",
        raw,
        {**checked.message.additional_kwargs, **checked.additional_kwargs},
    )
    assert completion == expected and completion.model_fields_set == expected.model_fields_set
    assert completion.model_dump_json() == expected.model_dump_json()


def test_each_response_owns_its_dicts() -> None:
    result = ChatResult(content="a", reasoning="r")
    first = chat_response(result, delta="a", reasoning_delta="r", final=False)
    second = chat_response(result, delta="", reasoning_delta="", final=True)
    first.message.additional_kwargs["x"] = 1
    first.additional_kwargs["y"] = 2
    assert "x" not in second.message.additional_kwargs and "y" not in second.additional_kwargs

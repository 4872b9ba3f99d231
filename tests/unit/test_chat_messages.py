"""Message conversion, payload building and response/stream parsing (pure)."""

import json

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)

from baseten_llm import errors
from baseten_llm.chat import (
    ChatStreamState,
    StreamAssembler,
    build_chat_payload,
    completion_from_chat,
    generation_params,
    message_to_dict,
    messages_to_dicts,
    parse_chat_response,
    request_options,
)

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
}


def test_system_user_assistant_become_openai_roles_and_strings():
    messages = [
        ChatMessage(role="system", content="Be a pirate"),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(
            role="assistant", content="Arr", additional_kwargs={"reasoning_content": "secret"}
        ),
    ]
    assert messages_to_dicts(messages) == [
        {"role": "system", "content": "Be a pirate"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Arr"},
    ]


def test_assistant_tool_calls_and_tool_results_round_trip():
    assistant = ChatMessage(
        role="assistant", content=None, additional_kwargs={"tool_calls": [CALL]}
    )
    tool = ChatMessage(
        role=MessageRole.TOOL,
        content="3",
        additional_kwargs={"tool_call_id": "call_1", "name": "add"},
    )
    assert message_to_dict(assistant) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [CALL],
    }
    assert message_to_dict(tool) == {
        "role": "tool",
        "content": "3",
        "tool_call_id": "call_1",
        "name": "add",
    }


def test_tool_call_blocks_are_sent_as_tool_calls():
    message = ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id="c9", tool_name="mul", tool_kwargs={"x": 2})],
    )
    assert message_to_dict(message)["tool_calls"] == [
        {"id": "c9", "type": "function", "function": {"name": "mul", "arguments": '{"x": 2}'}}
    ]


def test_images_become_content_parts():
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is this?"),
            ImageBlock(url="https://e.x/cat.png", detail="low"),
        ],
    )
    assert message_to_dict(message)["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://e.x/cat.png", "detail": "low"}},
    ]


def test_generation_params_layer_constructor_additional_and_call_kwargs():
    params = generation_params(
        temperature=0.2,
        max_tokens=100,
        additional_kwargs={"top_p": 0.9, "temperature": 0.5},
        call_kwargs={"stop": ["\n"], "max_tokens": None, "reasoning_effort": "low"},
    )
    assert params == {
        "temperature": 0.5,
        "max_tokens": 100,
        "top_p": 0.9,
        "stop": ["\n"],
        "reasoning_effort": "low",
    }


def test_streamed_payload_asks_for_usage_and_keeps_extra_options():
    payload = build_chat_payload(
        "m",
        [ChatMessage(role="user", content="x")],
        stream=True,
        params={
            "stream_options": {"continuous_usage_stats": False},
            "response_format": {"type": "json_object"},
        },
    )
    assert payload["stream"] is True
    assert payload["stream_options"] == {"continuous_usage_stats": False, "include_usage": True}
    assert payload["response_format"] == {"type": "json_object"}
    assert "stream_options" not in build_chat_payload("m", [], stream=False, params={})


def test_non_streamed_reply_keeps_reasoning_apart_and_reports_usage():
    result = parse_chat_response(
        {
            "choices": [
                {
                    "message": {
                        "content": "42",
                        "reasoning_content": "think",
                        "tool_calls": [CALL],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": 7,
                "total_tokens": 12,
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
        }
    )
    assert (result.content, result.reasoning, result.finish_reason) == ("42", "think", "tool_calls")
    assert result.tool_calls == [CALL]
    assert result.usage == {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "reasoning_tokens": 3,
        "cached_tokens": 0,
    }


def test_streamed_tool_calls_are_assembled_by_index():
    state = ChatStreamState()
    for delta in [
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c0",
                    "type": "function",
                    "function": {"name": "add", "arguments": ""},
                }
            ]
        },
        {
            "tool_calls": [
                {"index": 1, "id": "c1", "function": {"name": "mul", "arguments": '{"x"'}}
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1,'}}]},
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": ' "b": 2}'}},
                {"index": 1, "function": {"arguments": ": 3}"}},
            ]
        },
    ]:
        state.feed({"choices": [{"delta": delta}]})
    state.feed({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]})
    calls = state.result.tool_calls
    assert [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls
    ] == [("c0", "add", {"a": 1, "b": 2}), ("c1", "mul", {"x": 3})]
    assert state.complete


def sse(*chunks, done=True):
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def test_assembler_yields_deltas_reasoning_and_a_final_usage_chunk():
    assembler = StreamAssembler(sse=True)
    data = sse(
        {"choices": [{"delta": {"reasoning_content": "hmm "}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
    )
    out = [
        r for i in range(0, len(data), 7) for r in assembler.feed(data[i : i + 7])
    ] + assembler.finish()
    assert [r.delta for r in out] == ["", "Hel", "lo", ""]
    assert [r.additional_kwargs["reasoning_delta"] for r in out] == ["hmm ", "", "", ""]
    assert out[2].message.content == "Hello"
    assert out[-1].message.additional_kwargs["reasoning_content"] == "hmm "
    assert out[-1].additional_kwargs["usage"]["total_tokens"] == 3
    assert out[-1].additional_kwargs["finish_reason"] == "stop"
    completion = completion_from_chat(out[-1])
    assert (
        completion.text == "Hello" and completion.additional_kwargs["reasoning_content"] == "hmm "
    )


def test_a_stream_ending_without_finish_or_done_is_interrupted_with_partial_text():
    assembler = StreamAssembler(sse=True)
    assembler.feed(sse({"choices": [{"delta": {"content": "partial "}}]}, done=False))
    with pytest.raises(errors.StreamInterruptedError) as info:
        assembler.finish()
    assert info.value.partial_text == "partial "


def test_raw_text_streams_decode_utf8_split_across_chunks():
    assembler = StreamAssembler(sse=False)
    data = "Grüße ✓".encode()
    out = [r for b in data for r in assembler.feed(bytes([b]))] + assembler.finish()
    assert "".join(r.delta for r in out) == "Grüße ✓"
    assert (
        out[-1].message.content == "Grüße ✓"
        and out[-1].additional_kwargs["finish_reason"] == "stop"
    )


def test_image_bytes_of_an_unknown_kind_are_refused_with_how_to_name_the_type():
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="What is this?"), ImageBlock(image=b"not an image")]
    )
    with pytest.raises(ValueError, match="image_mimetype"):
        message_to_dict(message)
    message.blocks[1].image_mimetype = "image/webp"
    assert message_to_dict(message)["content"][1]["image_url"]["url"].startswith(
        "data:image/webp;base64,"
    )


def test_extra_headers_and_extra_body_are_taken_out_of_the_body_parameters():
    options = request_options(
        {"temperature": 0.1, "extra_headers": {"x-session-affinity": 7}, "extra_body": {"top_k": 5}}
    )
    assert options.call_kwargs == {"temperature": 0.1}
    assert options.extra_headers == {"x-session-affinity": "7"} and options.extra_body == {
        "top_k": 5
    }


def test_thinking_blocks_are_not_sent_back_and_text_stays_a_string():
    from llama_index.core.base.llms.types import ThinkingBlock

    message = ChatMessage(
        role="assistant", blocks=[ThinkingBlock(content="secret plan"), TextBlock(text="Arr")]
    )
    assert message_to_dict(message) == {"role": "assistant", "content": "Arr"}


def test_audio_and_documents_become_input_audio_and_file_parts():
    import base64

    from llama_index.core.base.llms.types import AudioBlock, DocumentBlock

    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="Listen and read"),
            AudioBlock(audio=b"RIFF\x24\x00WAVEfmt ", format="wav"),
            DocumentBlock(
                data=b"%PDF-1.4 tiny", title="notes.pdf", document_mimetype="application/pdf"
            ),
        ],
    )
    text, audio, document = message_to_dict(message)["content"]
    assert text == {"type": "text", "text": "Listen and read"}
    assert audio["type"] == "input_audio" and audio["input_audio"]["format"] == "wav"
    assert base64.b64decode(audio["input_audio"]["data"]) == b"RIFF\x24\x00WAVEfmt "
    assert document["file"]["filename"] == "notes.pdf"
    assert document["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert base64.b64decode(document["file"]["file_data"].split(",", 1)[1]) == b"%PDF-1.4 tiny"


def test_a_block_the_endpoint_cannot_take_is_refused_instead_of_dropped():
    from llama_index.core.base.llms.types import VideoBlock

    message = ChatMessage(
        role="user", blocks=[TextBlock(text="watch"), VideoBlock(video=b"\x00\x00\x00\x18ftypmp42")]
    )
    with pytest.raises(ValueError, match="VideoBlock"):
        message_to_dict(message)

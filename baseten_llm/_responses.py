"""The ``ChatResponse`` / ``CompletionResponse`` of a reply or stream chunk, built cheaply when safe.

The assistant message's blocks are what a first-class LlamaIndex integration returns: a
``ThinkingBlock`` with the reasoning so far (when there is any), the ``TextBlock`` of the
answer, and one ``ToolCallBlock`` per tool call (arguments as the JSON text received). The
same reasoning and tool calls stay in ``additional_kwargs`` (``reasoning_content``,
``tool_calls``), which this package promised first.

A streamed chat builds one ``ChatResponse(message=ChatMessage(...))`` per chunk. Pydantic
validation of the three models (response, message, text block) costs about 6 µs, more than
parsing the chunk's JSON. Our inputs are already of the right types, so
:func:`assistant_response` and :func:`completion_response` fill the instances the way
pydantic's ``model_construct`` does (``model_construct`` itself is pure Python and slower than
validating).

That is only equivalent while the models have the fields and validators checked by
:func:`_fast_path_is_equivalent` (the one model validator, ``ChatMessage``'s
``legacy_additional_kwargs_image``, only acts on an ``images`` key we never set); the check runs
once, compares against validated construction, and otherwise every response is validated.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel

__all__ = [
    "assistant_response",
    "completion_response",
    "validated_assistant_response",
    "validated_completion_response",
]

_set = object.__setattr__
_BLOCK_SET = frozenset({"text"})
_THINKING_SET = frozenset({"content"})
_TOOL_CALL_SET = frozenset({"tool_call_id", "tool_name", "tool_kwargs"})
_MESSAGE_SET = frozenset({"role", "additional_kwargs", "blocks"})
_RESPONSE_SET = frozenset({"message", "raw", "delta", "additional_kwargs"})
_COMPLETION_SET = frozenset({"text", "delta", "raw", "additional_kwargs"})
_KNOWN_MODELS: dict[type[BaseModel], tuple[tuple[str, ...], tuple[str, ...]]] = {
    TextBlock: (("block_type", "text"), ()),
    ThinkingBlock: (("block_type", "content", "num_tokens", "additional_information"), ()),
    ToolCallBlock: (("block_type", "tool_call_id", "tool_name", "tool_kwargs"), ()),
    ChatMessage: (("role", "additional_kwargs", "blocks"), ("legacy_additional_kwargs_image",)),
    ChatResponse: (("message", "raw", "delta", "logprobs", "additional_kwargs"), ()),
    CompletionResponse: (("text", "additional_kwargs", "raw", "logprobs", "delta"), ()),
}


def validated_assistant_response(
    content: str, message_kwargs: dict[str, Any], raw: Any, delta: str | None, extra: dict[str, Any]
) -> ChatResponse:
    """``ChatResponse(message=ChatMessage(role=ASSISTANT, blocks=[...]), ...)``, fully validated."""
    blocks: list[Any] = [TextBlock(text=content)]
    if message_kwargs:
        reasoning = message_kwargs.get("reasoning_content")
        if reasoning:
            blocks.insert(0, ThinkingBlock(content=reasoning))
        for call in message_kwargs.get("tool_calls") or ():
            function = call["function"]
            blocks.append(
                ToolCallBlock(
                    tool_call_id=call["id"],
                    tool_name=function["name"],
                    tool_kwargs=function["arguments"],
                )
            )
    message = ChatMessage(
        role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=message_kwargs
    )
    return ChatResponse(message=message, raw=raw, delta=delta, additional_kwargs=extra)


def validated_completion_response(
    text: str, delta: str | None, raw: Any, extra: dict[str, Any]
) -> CompletionResponse:
    """``CompletionResponse(text=..., delta=..., raw=..., additional_kwargs=...)``, fully validated."""
    return CompletionResponse(text=text, delta=delta, raw=raw, additional_kwargs=extra)


def _filled(cls: type, values: dict[str, Any], fields_set: frozenset[str]) -> Any:
    """An instance of ``cls`` holding ``values``, as ``cls.model_construct`` would leave it."""
    instance = cls.__new__(cls)  # type: ignore[call-overload]
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(fields_set))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def _constructed_assistant_response(
    content: str, message_kwargs: dict[str, Any], raw: Any, delta: str | None, extra: dict[str, Any]
) -> ChatResponse:
    """Same result as :func:`validated_assistant_response` for fresh dicts of plain values."""
    blocks = [_filled(TextBlock, {"block_type": "text", "text": content}, _BLOCK_SET)]
    if message_kwargs:
        reasoning = message_kwargs.get("reasoning_content")
        if reasoning:
            blocks.insert(
                0,
                _filled(
                    ThinkingBlock,
                    {
                        "block_type": "thinking",
                        "content": reasoning,
                        "num_tokens": None,
                        "additional_information": {},
                    },
                    _THINKING_SET,
                ),
            )
        for call in message_kwargs.get("tool_calls") or ():
            function = call["function"]
            blocks.append(
                _filled(
                    ToolCallBlock,
                    {
                        "block_type": "tool_call",
                        "tool_call_id": call["id"],
                        "tool_name": function["name"],
                        "tool_kwargs": function["arguments"],
                    },
                    _TOOL_CALL_SET,
                )
            )
    message = _filled(
        ChatMessage,
        {"role": MessageRole.ASSISTANT, "additional_kwargs": message_kwargs, "blocks": blocks},
        _MESSAGE_SET,
    )
    return _filled(
        ChatResponse,
        {
            "message": message,
            "raw": raw,
            "delta": delta,
            "logprobs": None,
            "additional_kwargs": extra,
        },
        _RESPONSE_SET,
    )


def _constructed_completion_response(
    text: str, delta: str | None, raw: Any, extra: dict[str, Any]
) -> CompletionResponse:
    """Same result as :func:`validated_completion_response` for a fresh dict of plain values."""
    return _filled(
        CompletionResponse,
        {"text": text, "additional_kwargs": extra, "raw": raw, "logprobs": None, "delta": delta},
        _COMPLETION_SET,
    )


def _models_are_as_expected() -> bool:
    for cls, (fields, model_validators) in _KNOWN_MODELS.items():
        decorators = cls.__pydantic_decorators__
        if (
            tuple(cls.model_fields) != fields
            or tuple(decorators.model_validators) != model_validators
            or decorators.validators
            or decorators.field_validators
            or decorators.root_validators
            or cls.__pydantic_post_init__ is not None
            or cls.__pydantic_root_model__
            or cls.__private_attributes__
            or cls.model_config.get("extra") == "allow"
        ):
            return False
    return True


def _fast_path_is_equivalent() -> bool:
    """True when constructed responses equal validated ones (checked once, at import)."""
    if not _models_are_as_expected():
        return False
    sample: tuple[Any, ...] = (
        "Hello",
        {
            "reasoning_content": "hmm",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"choices": []},
        "lo",
        {"reasoning_delta": "", "usage": None, "finish_reason": None},
    )
    built, checked = _constructed_assistant_response(*sample), validated_assistant_response(*sample)
    completion: tuple[Any, ...] = (
        "Hello",
        "lo",
        {"choices": []},
        {"reasoning_content": "hmm", "usage": None},
    )
    built_c, checked_c = (
        _constructed_completion_response(*completion),
        validated_completion_response(*completion),
    )
    return (
        built_c == checked_c
        and built_c.model_fields_set == checked_c.model_fields_set
        and built_c.model_dump_json() == checked_c.model_dump_json()
        and built == checked
        and built.model_fields_set == checked.model_fields_set
        and built.message.model_fields_set == checked.message.model_fields_set
        and [b.model_fields_set for b in built.message.blocks]
        == [b.model_fields_set for b in checked.message.blocks]
        and [type(b) for b in built.message.blocks] == [ThinkingBlock, TextBlock, ToolCallBlock]
        and built.model_dump_json() == checked.model_dump_json()
        and built.message.content == checked.message.content
    )


_FAST = _fast_path_is_equivalent()
#: The ChatResponse of a reply or chunk: ``content`` is the answer so far, the dicts are fresh.
assistant_response = _constructed_assistant_response if _FAST else validated_assistant_response
#: The CompletionResponse of a reply or chunk: ``extra`` is a fresh dict.
completion_response = _constructed_completion_response if _FAST else validated_completion_response

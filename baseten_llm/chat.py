"""OpenAI-style chat completions: payload building and response/chunk parsing. Pure, no I/O.

Shared by the sync and async paths of :class:`baseten_llm.Baseten` (Model APIs and dedicated
``/sync/v1`` routes, and ``/predict`` models that answer in the OpenAI shape).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from ._responses import assistant_response, completion_response
from ._sse import DONE, SSEDecoder
from .errors import StreamInterruptedError
from .predict import TextStreamDecoder

__all__ = [
    "message_to_dict",
    "messages_to_dicts",
    "build_chat_payload",
    "generation_params",
    "usage_from_json",
    "ChatResult",
    "parse_chat_response",
    "ChatStreamState",
    "chat_response",
    "completion_from_chat",
    "StreamAssembler",
    "RequestOptions",
    "request_options",
]

_DONE = DONE.encode()

_ROLE_NAMES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


# ----------------------------------------------------------------------------- requests
_NOT_CONTENT = (
    ThinkingBlock,
    ToolCallBlock,
)  # reasoning is not sent back; tool calls go in tool_calls


def _content_parts(message: ChatMessage) -> Any:
    """A plain string for text-only messages, else OpenAI content parts (text, images, audio, files)."""
    blocks = message.blocks
    if all(isinstance(b, (TextBlock, *_NOT_CONTENT)) for b in blocks):
        texts = [b.text for b in blocks if isinstance(b, TextBlock)]
        return "\n".join(texts) if texts else None
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(image_part(block))
        elif isinstance(block, AudioBlock):
            data = block.resolve_audio(as_base64=True).read().decode("ascii")
            parts.append(
                {"type": "input_audio", "input_audio": {"data": data, "format": block.format}}
            )
        elif isinstance(block, DocumentBlock):
            parts.append(
                {"type": "file", "file": {"filename": block.title, "file_data": block.inline_url()}}
            )
        elif not isinstance(block, _NOT_CONTENT):
            raise ValueError(
                f"A {type(block).__name__} cannot be sent to a chat completions endpoint; send text, "
                "images (ImageBlock), audio (AudioBlock) or documents (DocumentBlock)."
            )
    return parts


def image_part(block: ImageBlock) -> dict[str, Any]:
    """An OpenAI ``image_url`` part: a URL as given, image bytes or a file as a base64 data URL."""
    if block.url:
        url = str(block.url)
    else:
        data = block.resolve_image(as_base64=True).read().decode("ascii")
        mimetype = block.image_mimetype
        if not mimetype or not mimetype.startswith("image/"):
            raise ValueError(
                "Cannot tell which kind of image this is: pass ImageBlock(image_mimetype='image/png') "
                "or another image/* type."
            )
        url = f"data:{mimetype};base64,{data}"
    image: dict[str, Any] = {"url": url}
    if block.detail:
        image["detail"] = block.detail
    return {"type": "image_url", "image_url": image}


def _tool_calls_of(message: ChatMessage) -> list[dict[str, Any]]:
    """OpenAI-shape tool calls from ``additional_kwargs`` or ``ToolCallBlock`` blocks."""
    calls = [dict(c) for c in message.additional_kwargs.get("tool_calls") or []]
    for block in message.blocks:
        if isinstance(block, ToolCallBlock) and not any(
            c.get("id") == block.tool_call_id for c in calls
        ):
            arguments = (
                block.tool_kwargs
                if isinstance(block.tool_kwargs, str)
                else json.dumps(block.tool_kwargs)
            )
            calls.append(
                {
                    "id": block.tool_call_id or "",
                    "type": "function",
                    "function": {"name": block.tool_name, "arguments": arguments},
                }
            )
    return [_plain_tool_call(c) for c in calls]


def _plain_tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    if hasattr(function, "model_dump"):
        function = function.model_dump()
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {
        "id": call.get("id", ""),
        "type": "function",
        "function": {"name": function.get("name", ""), "arguments": arguments},
    }


def message_to_dict(message: ChatMessage) -> dict[str, Any]:
    """One LlamaIndex message as an OpenAI chat message dict (reasoning is not sent back)."""
    role = _ROLE_NAMES.get(message.role, str(message.role.value))
    result: dict[str, Any] = {"role": role, "content": _content_parts(message)}
    if role == "tool":
        result["tool_call_id"] = message.additional_kwargs.get("tool_call_id", "")
        result["content"] = result["content"] or ""
    if role == "assistant":
        calls = _tool_calls_of(message)
        if calls:
            result["tool_calls"] = calls
    if result["content"] is None and role != "assistant":
        result["content"] = ""
    if message.additional_kwargs.get("name"):
        result["name"] = message.additional_kwargs["name"]
    return result


def messages_to_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Convert a conversation."""
    return [message_to_dict(m) for m in messages]


def generation_params(
    *,
    temperature: float | None,
    max_tokens: int | None,
    additional_kwargs: Mapping[str, Any],
    call_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """Sampling parameters: constructor values < ``additional_kwargs`` < per-call kwargs."""
    params: dict[str, Any] = {}
    if temperature is not None:
        params["temperature"] = temperature
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    params.update(additional_kwargs)
    # A per-call None means "not given", so it does not erase a constructor value.
    params.update({k: v for k, v in call_kwargs.items() if v is not None and not k.startswith("_")})
    return {k: v for k, v in params.items() if v is not None}


@dataclass
class RequestOptions:
    """A call's keyword arguments split into body parameters and request options."""

    call_kwargs: dict[str, Any]
    extra_headers: dict[str, str] | None = None
    extra_body: dict[str, Any] | None = None


def request_options(kwargs: Mapping[str, Any]) -> RequestOptions:
    """Take ``extra_headers`` (sent with this request only, e.g. a session-affinity header) and
    ``extra_body`` (merged into the JSON body last) out of a call's kwargs, as openai-python does."""
    if "extra_headers" not in kwargs and "extra_body" not in kwargs:
        return RequestOptions(dict(kwargs))
    rest = dict(kwargs)
    headers = rest.pop("extra_headers", None)
    body = rest.pop("extra_body", None)
    if headers is not None and not isinstance(headers, Mapping):
        raise TypeError("extra_headers must be a mapping of header names to values")
    if body is not None and not isinstance(body, Mapping):
        raise TypeError("extra_body must be a mapping (merged into the JSON body)")
    return RequestOptions(
        rest,
        {str(k): str(v) for k, v in (headers or {}).items()} or None,
        dict(body) if body else None,
    )


def build_chat_payload(
    model: str, messages: Sequence[ChatMessage], *, stream: bool, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body of ``POST .../chat/completions``; streams ask for usage in the last chunk."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages_to_dicts(messages),
        **params,
        "stream": stream,
    }
    if stream:
        options = dict(payload.get("stream_options") or {})
        options.setdefault("include_usage", True)
        payload["stream_options"] = options
    else:
        payload.pop("stream_options", None)
    return payload


# ----------------------------------------------------------------------------- responses
def usage_from_json(usage: Mapping[str, Any] | None) -> dict[str, int] | None:
    """The usage numbers the contract promises, from an OpenAI ``usage`` object.

    ``cached_tokens`` (from ``prompt_tokens_details``) is the part of ``prompt_tokens`` served
    from the provider's prompt cache; 0 when the server does not say.
    """
    if not usage:
        return None
    details = usage.get("completion_tokens_details") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
        "reasoning_tokens": int(details.get("reasoning_tokens") or 0),
        "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
    }


@dataclass
class ChatResult:
    """What a chat completion said, before it becomes LlamaIndex objects."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None


def parse_chat_response(data: Mapping[str, Any]) -> ChatResult:
    """Parse a non-streamed ``chat.completion`` object."""
    choices = data.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return ChatResult(
        content=message.get("content") or "",
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
        tool_calls=[_plain_tool_call(c) for c in message.get("tool_calls") or []],
        finish_reason=choices[0].get("finish_reason"),
        usage=usage_from_json(data.get("usage")),
    )


@dataclass
class ChunkDelta:
    """The increments one stream chunk brought."""

    content: str = ""
    reasoning: str = ""
    tool_calls_changed: bool = False

    @property
    def empty(self) -> bool:
        """True when the chunk brought nothing to show."""
        return not (self.content or self.reasoning or self.tool_calls_changed)


class ChatStreamState:
    """Accumulates ``chat.completion.chunk`` objects; tool calls are assembled by index."""

    def __init__(self) -> None:
        self.result = ChatResult()
        self._calls: dict[int, dict[str, Any]] = {}
        self.done = False
        #: The chunk that brought the usage (the raw of the last response, for token counters).
        self.usage_chunk: Mapping[str, Any] | None = None

    def feed(self, chunk: Mapping[str, Any]) -> ChunkDelta:
        """Apply one chunk; return what it added."""
        result = self.result
        usage = chunk.get("usage")
        if usage:
            result.usage = usage_from_json(usage)
            self.usage_chunk = chunk
        content = reasoning = ""
        tool_calls_changed = False
        for choice in chunk.get("choices") or ():
            piece = choice.get("delta") or {}
            content += piece.get("content") or ""
            reasoning += piece.get("reasoning_content") or piece.get("reasoning") or ""
            for call in piece.get("tool_calls") or ():
                self._merge_tool_call(call)
                tool_calls_changed = True
            if choice.get("finish_reason"):
                result.finish_reason = choice["finish_reason"]
        if content:
            result.content += content
        if reasoning:
            result.reasoning += reasoning
        return ChunkDelta(content, reasoning, tool_calls_changed)

    def _merge_tool_call(self, call: Mapping[str, Any]) -> None:
        index = call.get("index", len(self._calls))
        entry = self._calls.setdefault(
            index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            entry["id"] = call["id"]
        function = call.get("function") or {}
        if function.get("name"):
            entry["function"]["name"] += function["name"]
        arguments = function.get("arguments")
        if arguments:
            entry["function"]["arguments"] += (
                arguments if isinstance(arguments, str) else json.dumps(arguments)
            )
        self.result.tool_calls = [self._calls[i] for i in sorted(self._calls)]

    @property
    def complete(self) -> bool:
        """True once the server said it finished ([DONE] or a finish reason)."""
        return self.done or self.result.finish_reason is not None


# ----------------------------------------------------------------------------- LlamaIndex objects
def chat_response(
    result: ChatResult,
    *,
    raw: Any = None,
    delta: str | None = None,
    reasoning_delta: str | None = None,
    final: bool = True,
) -> ChatResponse:
    """A ``ChatResponse``: answer in ``message.content``, reasoning and tool calls beside it."""
    message_kwargs: dict[str, Any] = {}
    if result.reasoning:
        message_kwargs["reasoning_content"] = result.reasoning
    if result.tool_calls:
        message_kwargs["tool_calls"] = [
            dict(c, function=dict(c["function"])) for c in result.tool_calls
        ]
    extra: dict[str, Any] = {}
    if reasoning_delta is not None:
        extra["reasoning_delta"] = reasoning_delta
        if (
            reasoning_delta
        ):  # LlamaIndex's name for it (agents stream it as AgentStream.thinking_delta)
            extra["thinking_delta"] = reasoning_delta
    if final:
        extra["usage"] = result.usage
        extra["finish_reason"] = result.finish_reason
    return assistant_response(result.content, message_kwargs, raw, delta, extra)


def completion_from_chat(response: ChatResponse) -> CompletionResponse:
    """A ``CompletionResponse`` with the same text, delta and extras (reasoning, usage, ...)."""
    extra = {**response.message.additional_kwargs, **response.additional_kwargs}
    return completion_response(response.message.content or "", response.delta, response.raw, extra)


def decode_chunk(data: str | bytes) -> dict[str, Any] | None:
    """One SSE ``data`` payload as JSON, or None when it is not a JSON object.

    Bytes are decoded as UTF-8 with invalid sequences replaced, like :class:`SSEDecoder` does.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class StreamAssembler:
    """Turns the bytes of a streamed reply into ``ChatResponse`` chunks. Pure, no I/O.

    ``sse=True``: Server-Sent Events of OpenAI chunks (ends with ``[DONE]`` or a finish reason;
    ending without either means the stream was cut). ``sse=False``: raw UTF-8 text (``/predict``
    generators). The last response always has ``delta=""`` and carries usage and finish reason.
    """

    def __init__(self, *, sse: bool) -> None:
        self.state = ChatStreamState()
        self._sse = SSEDecoder() if sse else None
        self._text = None if sse else TextStreamDecoder()

    @property
    def text(self) -> str:
        """The answer received so far."""
        return self.state.result.content

    def feed(self, data: bytes) -> list[ChatResponse]:
        """Responses completed by these bytes."""
        if self._sse is not None:
            return self._events(self._sse.feed_data(data))
        return self._raw(self._text.feed(data))  # type: ignore[union-attr]

    def finish(self) -> list[ChatResponse]:
        """End of the byte stream: the remaining responses, or StreamInterruptedError."""
        if self._sse is not None:
            out = self._events(self._sse.flush_data())
            if not self.state.complete:
                raise StreamInterruptedError(
                    f"The stream ended early after {len(self.text)} characters, without a finish "
                    "reason; the partial answer is in .partial_text.",
                    partial_text=self.text,
                )
        else:
            out = self._raw(self._text.flush())  # type: ignore[union-attr]
            self.state.result.finish_reason = self.state.result.finish_reason or "stop"
        return [
            *out,
            chat_response(
                self.state.result,
                raw=self.state.usage_chunk,
                delta="",
                reasoning_delta="",
                final=True,
            ),
        ]

    def _events(self, datas: list[bytes]) -> list[ChatResponse]:
        out = []
        state = self.state
        for data in datas:
            if state.done:
                break
            if data[:1] != b"{" and data.strip() == _DONE:  # a JSON object is never [DONE]
                state.done = True
                break
            chunk = decode_chunk(data)
            if chunk is None:
                continue
            if "error" in chunk:
                raise StreamInterruptedError(
                    f"The server reported an error mid-stream: {chunk['error']}",
                    partial_text=self.text,
                )
            delta = state.feed(chunk)
            if not delta.empty:
                out.append(
                    chat_response(
                        state.result,
                        raw=chunk,
                        delta=delta.content,
                        reasoning_delta=delta.reasoning,
                        final=False,
                    )
                )
        return out

    def _raw(self, text: str) -> list[ChatResponse]:
        if not text:
            return []
        self.state.result.content += text
        return [
            chat_response(self.state.result, raw=text, delta=text, reasoning_delta="", final=False)
        ]

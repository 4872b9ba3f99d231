"""Custom Truss models on ``{target}/predict``: input mapping and output extraction. Pure.

Input (default mapping, :func:`default_predict_input`)::

    {"messages": [{"role": ..., "content": ...}, ...], "stream": <bool>,
     ...generation parameters (temperature, max_tokens, additional_kwargs, per-call kwargs)}

Pass ``predict_input_builder(messages, **kw) -> dict`` to ``Baseten`` for another shape; it gets
the OpenAI-style message dicts and ``stream=`` plus the generation parameters as keywords.

Output: a JSON reply goes through ``predict_output_parser(json) -> str`` when given, else
:func:`extract_predict_text` (OpenAI shape, or the common ``output``/``text``/... keys, or a bare
string). A streamed reply is ``text/event-stream`` (SSE of OpenAI chunks) or raw bytes decoded
incrementally as UTF-8 text by :class:`TextStreamDecoder`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "PredictInputBuilder",
    "PredictOutputParser",
    "default_predict_input",
    "build_predict_input",
    "extract_predict_text",
    "is_sse",
    "TextStreamDecoder",
]

PredictInputBuilder = Callable[..., dict[str, Any]]
PredictOutputParser = Callable[[Any], str]

_TEXT_KEYS = (
    "output",
    "text",
    "generated_text",
    "completion",
    "response",
    "result",
    "content",
    "answer",
    "data",
)


def default_predict_input(
    messages: list[dict[str, Any]], *, stream: bool, **params: Any
) -> dict[str, Any]:
    """The documented default body: messages, stream flag and generation parameters."""
    return {"messages": messages, "stream": stream, **params}


def build_predict_input(
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    params: Mapping[str, Any],
    builder: PredictInputBuilder | None = None,
) -> dict[str, Any]:
    """Apply the user's builder, or the default mapping."""
    body = (builder or default_predict_input)(messages, stream=stream, **params)
    if not isinstance(body, dict):
        raise TypeError("predict_input_builder must return a dict (the JSON body for /predict)")
    return body


def extract_predict_text(data: Any) -> str:
    """Best-effort answer text from a ``/predict`` JSON reply."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return "".join(extract_predict_text(item) for item in data)
    if isinstance(data, dict):
        choices = data.get("choices")
        if isinstance(choices, list) and choices:
            first = choices[0] or {}
            message = first.get("message") or {}
            return message.get("content") or first.get("text") or ""
        for key in _TEXT_KEYS:
            if key in data:
                return extract_predict_text(data[key])
    return json.dumps(data)


def is_sse(content_type: str | None) -> bool:
    """True when a streamed reply is Server-Sent Events rather than raw text."""
    return (
        content_type is not None
        and content_type.split(";")[0].strip().lower() == "text/event-stream"
    )


class TextStreamDecoder:
    """UTF-8 decoding across chunk boundaries (a character may be split between chunks)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, chunk: bytes) -> str:
        """Text completed by ``chunk``."""
        return self._decoder.decode(chunk)

    def flush(self) -> str:
        """Whatever is left at the end of the stream."""
        return self._decoder.decode(b"", final=True)

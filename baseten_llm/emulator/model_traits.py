"""What a model can and cannot do, so that capability checks find real differences.

A catalog entry may set:
- `input_modalities`: when it is listed, a request with `image_url` parts to a model without
  "image" gets 400; a model with "image" describes each image it got (format and size) at the
  start of its answer. Entries without the key accept images silently (lenient default).
- `quirks`, a list among: "no_tools" (ignores `tools`, answers in text), "no_json_schema"
  (ignores `response_format`, answers in text), "no_usage" (never reports usage),
  "fixed_reasoning" (thinks whatever `enable_thinking` / `reasoning_effort` say);
- `real_context_length`: the context the model really has, below the one it advertises; a
  longer prompt (in `prompt_tokens` words) gets 400.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from . import replies


def image_urls(messages: list[dict[str, Any]]) -> list[str]:
    return [
        part.get("image_url", {}).get("url", "")
        for m in messages
        if isinstance(m.get("content"), list)
        for part in m["content"]
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]


def adjust(body: dict[str, Any], entry: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The request as this model will treat it, or why it refuses it (a 400 message)."""
    quirks = set(entry.get("quirks") or ())
    modalities = entry.get("input_modalities")
    if modalities is not None and "image" not in modalities and image_urls(body["messages"]):
        return body, "This model does not accept image input; send text only."
    limit = entry.get("real_context_length")
    used = replies.prompt_tokens(body["messages"])
    if limit and used > limit:
        return body, (
            f"This model's maximum context length is {limit} tokens, but the "
            f"messages have {used} tokens."
        )
    changed = dict(body)
    if "no_tools" in quirks:
        changed.pop("tools", None)
        changed.pop("tool_choice", None)
    if "no_json_schema" in quirks:
        changed.pop("response_format", None)
    if "fixed_reasoning" in quirks:
        changed.pop("chat_template_args", None)
        changed.pop("reasoning_effort", None)
    if "no_usage" in quirks:
        changed["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": False}
    return changed, None


def reports_usage(entry: dict[str, Any]) -> bool:
    return "no_usage" not in (entry.get("quirks") or ())


def describe_images(messages: list[dict[str, Any]]) -> str | None:
    """`I see 1 image: PNG 8x8.` for the images of a request, or None without images."""
    urls = image_urls(messages)
    if not urls:
        return None
    kinds = [_describe(url) for url in urls]
    noun = "image" if len(urls) == 1 else "images"
    return f"I see {len(urls)} {noun}: {', '.join(kinds)}."


def _describe(url: str) -> str:
    if not url.startswith("data:"):
        return "a linked image I did not fetch"
    try:
        data = base64.b64decode(url.partition(",")[2], validate=True)
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return f"{image.format} {image.width}x{image.height}"
    except (binascii.Error, ValueError, OSError):
        return "an image I could not read"

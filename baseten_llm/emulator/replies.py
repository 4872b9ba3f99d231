"""Deterministic reply content: pure functions, no I/O.

Rules (docs/contracts.md, "The emulator"):
- The answer is `You said: <last user text, first 200 chars>` padded with filler words to
  `reply_tokens` words; a reply is a list of pieces, one word (with its trailing space, the last
  word without) per piece, so "".join(pieces) is the text.
- After a tool result (last message role "tool") the answer is `Tool result: <content>`.
- Reasoning text is `Thinking about: <last user text, first 200 chars>`.
- A condense request (a prompt holding `Conversation:` with `User:` turns, then
  `Follow-up question: <q>`, ending `Standalone question:`) is answered with one standalone
  question: the follow-up joined to the first user question shown (the one that usually names
  the topic), `<follow-up>, regarding: <first question>?`, with no filler.
- JSON mode answers `{"answer": "<the answer>"}`; a json_schema answers an object built by
  `fill_schema`, also used for tool-call arguments:
  enum -> first value, const -> it, string -> the word after the property name in the user text
  (`city Paris`, `city: Paris`, `city=Paris`), else the last word of the user text (a sample
  value for a known `format`; padded or cut to `minLength`/`maxLength`); integer/number -> 1
  moved within `minimum`/`maximum` (and their exclusive forms), boolean -> true, array ->
  `minItems` items (at least one, at most `maxItems`), object -> its required properties (all
  properties when none is required), null -> null. The answer to a `json_schema` request is
  therefore valid against the schema for the keywords above (not `pattern`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import struct
from typing import Any

FILLER = [
    "this",
    "is",
    "a",
    "deterministic",
    "reply",
    "from",
    "the",
    "Baseten",
    "API",
    "emulator,",
    "a",
    "test",
    "double",
    "that",
    "streams",
    "one",
    "word",
    "at",
    "a",
    "time.",
]


def content_text(content: Any) -> str:
    """Text of a message `content`: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Words in all messages."""
    return sum(len(content_text(m.get("content")).split()) for m in messages)


def pieces(text: str) -> list[str]:
    """Split text into one-word pieces that join back to exactly `text` (spaces kept)."""
    return re.findall(r"\S+\s*|\s+", text)


def answer_text(user_text: str, reply_tokens: int) -> str:
    words = f"You said: {user_text[:200]}".split()
    filler = iter(FILLER * (reply_tokens // len(FILLER) + 1))
    while len(words) < reply_tokens:
        words.append(next(filler))
    return " ".join(words)


_CONDENSE = re.compile(
    r"Conversation:\s*\n(?P<history>.*)\n\s*Follow-up question:\s*(?P<question>.+?)\s*"
    r"\n\s*Standalone question:\s*$",
    re.DOTALL,
)


def standalone_question(user_text: str) -> str | None:
    """The emulator's rewrite of a condense request's follow-up, or None for other prompts."""
    match = _CONDENSE.search(user_text)
    if match is None:
        return None
    follow_up = " ".join(match.group("question").split()).rstrip("?. ")
    asked = re.findall(r"^User:\s*(.+)$", match.group("history"), re.MULTILINE)
    if not asked:
        return f"{follow_up}?"
    previous = " ".join(asked[0].split()).rstrip("?. ")
    return f"{follow_up}, regarding: {previous}?"


def reasoning_text(user_text: str) -> str:
    return " ".join(f"Thinking about: {user_text[:200]}".split())


def tool_result_text(messages: list[dict[str, Any]]) -> str:
    return " ".join(f"Tool result: {content_text(messages[-1].get('content'))[:200]}".split())


def _word_after(name: str, text: str) -> str | None:
    match = re.search(rf"\b{re.escape(name)}\b\s*[:=]?\s*([\w.@-]+)", text, re.IGNORECASE)
    return match.group(1) if match else None


def _last_word(text: str) -> str:
    words = re.findall(r"[\w.@-]+", text)
    return words[-1].strip(".") if words else "emulator"


def fill_schema(schema: Any, text: str, name: str = "", root: Any = None) -> Any:
    """A value that satisfies the common parts of a JSON schema, derived from `text`."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return fill_schema(target, text, name, root)
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return fill_schema(options[0], text, name, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        wanted = schema.get("required") or list(props)
        return {k: fill_schema(props.get(k, {}), text, k, root) for k in wanted}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [fill_schema(schema.get("items", {}), text, name, root) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, (_word_after(name, text) if name else None) or _last_word(text))


_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    """1 when the schema's bounds allow it, else a value inside them (inclusive or exclusive)."""
    low = max(schema.get("minimum", -math.inf), schema.get("exclusiveMinimum", -math.inf))
    high = min(schema.get("maximum", math.inf), schema.get("exclusiveMaximum", math.inf))
    low_open = "exclusiveMinimum" in schema and low == schema["exclusiveMinimum"]
    high_open = "exclusiveMaximum" in schema and high == schema["exclusiveMaximum"]

    def allowed(value: float) -> bool:
        return (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )

    if allowed(1):
        return 1
    if integer and math.isfinite(low):
        return math.floor(low) + 1 if low_open or low != math.floor(low) else int(low)
    if integer:
        return math.ceil(high) - 1 if high_open or high != math.ceil(high) else int(high)
    if math.isfinite(low) and math.isfinite(high):
        return (low + high) / 2
    return low + 1 if math.isfinite(low) else high - 1


def _string(schema: dict[str, Any], word: str) -> str:
    """`word` (or a sample of the schema's format), padded or cut to its length bounds."""
    value = _FORMATS.get(schema.get("format", ""), word)
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(value) < low:
        value = (value + "-" + "x" * low)[:low] if value else "x" * low
    return value[: int(high)] if high is not None else value


def json_reply(response_format: dict[str, Any], user_text: str, reply_tokens: int) -> str:
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"]["schema"]
        return json.dumps(fill_schema(schema, user_text))
    return json.dumps({"answer": answer_text(user_text, reply_tokens)})


def tool_call_id(name: str, arguments: str) -> str:
    return "call_" + hashlib.sha256(f"{name}:{arguments}".encode()).hexdigest()[:24]


def split_arguments(arguments: str, parts: int = 4) -> list[str]:
    """Split an arguments string into up to `parts` consecutive pieces."""
    size = max(1, math.ceil(len(arguments) / parts))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector derived from a hash of the text."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    rng = random.Random(seed)
    vector = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embedding_base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def predict_pieces(model_input: Any, reply_tokens: int) -> list[str] | None:
    """Reply pieces for a custom-Truss predict input `{"prompt": str}` or `{"messages": [...]}`
    (optional `max_tokens`); None when the input has neither."""
    if not isinstance(model_input, dict):
        return None
    if isinstance(model_input.get("prompt"), str):
        user_text = model_input["prompt"]
    elif isinstance(model_input.get("messages"), list) and model_input["messages"]:
        user_text = last_user_text(model_input["messages"])
    else:
        return None
    result = pieces(answer_text(user_text, reply_tokens))
    limit = model_input.get("max_tokens")
    return result[:limit] if isinstance(limit, int) and limit >= 1 else result

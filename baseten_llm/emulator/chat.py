"""Chat completions: request validation, the reply plan, and OpenAI-shape bodies and chunks.

Pure functions; the routes add pacing and I/O. A `ChatPlan` lists the pieces a reply is made
of (reasoning words, answer words or tool-call argument pieces); each piece is one streamed
chunk and one completion token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import replies

REASONING_EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh", "max"}
ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass
class ChatPlan:
    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    tool_call: dict[str, Any] | None = None  # {"id", "name", "arguments": [pieces]}
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    cached_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        tool_pieces = len(self.tool_call["arguments"]) if self.tool_call else 0
        return len(self.reasoning) + len(self.content) + tool_pieces


def validate(body: Any) -> str | None:
    """Why the request is invalid (a 400), or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' is required and must be a non-empty list."
    if any(not isinstance(m, dict) or m.get("role") not in ROLES for m in messages):
        return f"Each message needs a 'role' among {sorted(ROLES)}."
    if body.get("n", 1) != 1:
        return "Only n=1 is supported."
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            return f"'{key}' must be an integer >= 1."
    temperature = body.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, (int, float)) and 0 <= temperature <= 4
    ):
        return "'temperature' must be between 0 and 4."
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        return f"'reasoning_effort' must be one of {sorted(REASONING_EFFORTS)}."
    return _validate_response_format(body.get("response_format")) or _validate_tools(body)


def _validate_response_format(fmt: Any) -> str | None:
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        return "'response_format.type' must be 'text', 'json_object' or 'json_schema'."
    if fmt["type"] == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return "'response_format.json_schema.name' is required."
        if not isinstance(spec.get("schema"), dict):
            return "'response_format.json_schema.schema' must be a JSON schema object."
    return None


def _validate_tools(body: dict[str, Any]) -> str | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or any(
        not isinstance(t, dict) or not isinstance(t.get("function", {}).get("name"), str)
        for t in tools
    ):
        return "Each tool needs the shape {'type': 'function', 'function': {'name': ...}}."
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if name not in {t["function"]["name"] for t in tools}:
            return f"tool_choice names a function that is not in 'tools': {name!r}."
    return None


def reasoning_on(body: dict[str, Any], default: bool) -> bool:
    args = body.get("chat_template_args") or {}
    if isinstance(args, dict) and isinstance(args.get("enable_thinking"), bool):
        return args["enable_thinking"]
    if body.get("reasoning_effort") == "none":
        return False
    return default


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools, choice = body.get("tools") or [], body.get("tool_choice", "auto")
    if not tools or choice == "none" or body["messages"][-1].get("role") != "user":
        return None
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        return next(t["function"] for t in tools if t["function"]["name"] == name)
    return tools[0]["function"]


def plan(body: dict[str, Any], *, reply_tokens: int, reasoning_default: bool) -> ChatPlan:
    """What to answer to a valid request."""
    messages = body["messages"]
    user_text = replies.last_user_text(messages)
    result = ChatPlan(prompt_tokens=replies.prompt_tokens(messages))
    if reasoning_on(body, reasoning_default):
        result.reasoning = replies.pieces(replies.reasoning_text(user_text))
    tool = _chosen_tool(body)
    if tool is not None:
        arguments = json.dumps(replies.fill_schema(tool.get("parameters") or {}, user_text))
        result.tool_call = {
            "id": replies.tool_call_id(tool["name"], arguments),
            "name": tool["name"],
            "arguments": replies.split_arguments(arguments),
        }
        result.finish_reason = "tool_calls"
        return result
    result.content = replies.pieces(_answer(body, user_text, reply_tokens))
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if limit is not None and limit < len(result.content):
        result.content, result.finish_reason = result.content[:limit], "length"
    return result


def _answer(body: dict[str, Any], user_text: str, reply_tokens: int) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        return replies.json_reply(fmt, user_text, reply_tokens)
    if body["messages"][-1].get("role") == "tool":
        return replies.tool_result_text(body["messages"])
    return replies.standalone_question(user_text) or replies.answer_text(user_text, reply_tokens)


def usage(result: ChatPlan, completion_tokens: int | None = None) -> dict[str, Any]:
    done = result.completion_tokens if completion_tokens is None else completion_tokens
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": done,
        "total_tokens": result.prompt_tokens + done,
        "prompt_tokens_details": {"cached_tokens": result.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": min(done, len(result.reasoning))},
    }


def completion(result: ChatPlan, *, completion_id: str, model: str) -> dict[str, Any]:
    """The non-streamed `chat.completion` body."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if result.tool_call else "".join(result.content),
    }
    if result.reasoning:
        message["reasoning_content"] = "".join(result.reasoning)
    if result.tool_call:
        message["tool_calls"] = [
            {
                "id": result.tool_call["id"],
                "type": "function",
                "function": {
                    "name": result.tool_call["name"],
                    "arguments": "".join(result.tool_call["arguments"]),
                },
            }
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": result.finish_reason,
            }
        ],
        "usage": usage(result),
    }


def chunk(
    completion_id: str, model: str, delta: dict[str, Any] | None, finish_reason: str | None = None
) -> dict[str, Any]:
    """One `chat.completion.chunk`; delta None makes the usage-only chunk (`choices: []`)."""
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    )
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }


def deltas(result: ChatPlan) -> Iterator[dict[str, Any]]:
    """The token-bearing deltas in order: reasoning, then answer words or tool-call pieces."""
    for piece in result.reasoning:
        yield {"reasoning_content": piece}
    for piece in result.content:
        yield {"content": piece}
    if result.tool_call:
        call = result.tool_call
        for i, piece in enumerate(call["arguments"]):
            entry: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                entry.update(id=call["id"], type="function")
                entry["function"]["name"] = call["name"]
            yield {"tool_calls": [entry]}

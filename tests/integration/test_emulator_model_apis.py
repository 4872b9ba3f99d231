"""The emulator's Model APIs surface (`/v1`), over real loopback HTTP with httpx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

MODEL = "zai-org/GLM-4.6"  # not a reasoning model by default
REASONING_MODEL = "deepseek-ai/DeepSeek-V3.1"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "required": ["city", "days"],
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
        },
    },
}


def auth(emulator: Any, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {emulator.api_key}"}


def post_chat(emulator: Any, **body: Any) -> httpx.Response:
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "hello emulator"}])
    return httpx.post(
        f"{emulator.model_apis_url}/chat/completions", json=body, headers=auth(emulator), timeout=10
    )


def stream_events(emulator: Any, **body: Any) -> list[Any]:
    """The parsed `data:` payloads of a streamed completion ("[DONE]" kept as a string)."""
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "hello emulator"}])
    body["stream"] = True
    with httpx.stream(
        "POST",
        f"{emulator.model_apis_url}/chat/completions",
        json=body,
        headers=auth(emulator),
        timeout=10,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    blocks = [b for b in raw.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks), raw
    return [b[6:] if b[6:] == "[DONE]" else json.loads(b[6:]) for b in blocks]


def test_both_bearer_and_api_key_schemes_are_accepted(emulator):
    for scheme in ("Bearer", "Api-Key"):
        response = httpx.get(f"{emulator.model_apis_url}/models", headers=auth(emulator, scheme))
        assert response.status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic emulator-key"}]
)
def test_a_missing_or_wrong_key_gets_401_with_an_openai_error_body(emulator, headers):
    response = httpx.post(
        f"{emulator.model_apis_url}/chat/completions",
        headers=headers,
        json={"model": "no/such-model"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert "emulator-key" not in response.text


def test_responses_say_they_come_from_the_emulator(emulator):
    response = httpx.get(f"{emulator.base_url}/")
    assert "emulator" in response.headers["server"]
    assert "not Baseten" in response.json()["about"]


def test_a_non_streamed_reply_echoes_the_user_and_pads_to_reply_tokens(emulator):
    body = post_chat(emulator).json()
    message = body["choices"][0]["message"]
    assert body["object"] == "chat.completion"
    assert message["content"].startswith("You said: hello emulator ")
    assert len(message["content"].split()) == 24
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 2
    assert body["usage"]["completion_tokens"] == 24
    assert body["usage"]["total_tokens"] == 26


def test_the_same_request_gets_the_same_reply(emulator):
    first, second = post_chat(emulator).json(), post_chat(emulator).json()
    assert first["choices"] == second["choices"]
    assert first["id"] != second["id"]


def test_sse_sends_role_then_one_word_per_chunk_then_finish_usage_and_done(emulator):
    events = stream_events(emulator)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    words = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(words) == 24 and all(len(w.split()) == 1 for w in words)
    assert "".join(words) == post_chat(emulator).json()["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 24


def test_the_usage_chunk_is_left_out_when_include_usage_is_false(emulator):
    events = stream_events(emulator, stream_options={"include_usage": False})
    assert events[-1] == "[DONE]"
    assert all(e["choices"] for e in events[:-1])


def test_max_tokens_truncates_with_finish_reason_length(emulator):
    body = post_chat(emulator, max_tokens=3).json()
    assert body["choices"][0]["message"]["content"] == "You said: hello "
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    events = stream_events(emulator, max_tokens=3)
    assert (
        len(
            [
                e
                for e in events[:-1]
                if e["choices"]
                and "content" in e["choices"][0]["delta"]
                and e["choices"][0]["delta"]["content"]
            ]
        )
        == 3
    )


def test_a_reasoning_model_returns_reasoning_apart_from_the_answer(emulator):
    body = post_chat(emulator, model=REASONING_MODEL).json()
    message = body["choices"][0]["message"]
    assert message["reasoning_content"] == "Thinking about: hello emulator"
    assert message["content"].startswith("You said:")
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4
    assert body["usage"]["completion_tokens"] == 28


def test_streamed_reasoning_comes_before_the_answer(emulator):
    events = stream_events(emulator, model=REASONING_MODEL)
    deltas = [e["choices"][0]["delta"] for e in events[1:-1] if e["choices"]]
    kinds = [
        ("r" if "reasoning_content" in d else "c")
        for d in deltas
        if d.get("reasoning_content") or d.get("content")
    ]
    assert kinds == ["r"] * 4 + ["c"] * 24


def test_enable_thinking_switches_reasoning_off_and_on(emulator):
    off = post_chat(
        emulator, model=REASONING_MODEL, chat_template_args={"enable_thinking": False}
    ).json()
    on = post_chat(emulator, chat_template_args={"enable_thinking": True}).json()
    assert "reasoning_content" not in off["choices"][0]["message"]
    assert on["choices"][0]["message"]["reasoning_content"].startswith("Thinking about:")


def test_a_tool_call_fills_arguments_from_the_schema(emulator):
    body = post_chat(
        emulator,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    ).json()
    choice = body["choices"][0]
    call = choice["message"]["tool_calls"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "days": 1}


def test_a_streamed_tool_call_splits_its_arguments_over_several_chunks(emulator):
    events = stream_events(
        emulator,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "forecast for city Oslo please"}],
    )
    pieces = [
        e["choices"][0]["delta"]["tool_calls"][0]
        for e in events[:-1]
        if e["choices"] and "tool_calls" in e["choices"][0]["delta"]
    ]
    assert len(pieces) > 1 and all(p["index"] == 0 for p in pieces)
    assert pieces[0]["id"].startswith("call_") and pieces[0]["function"]["name"] == "get_weather"
    arguments = "".join(p["function"]["arguments"] for p in pieces)
    assert json.loads(arguments) == {"city": "Oslo", "days": 1}
    assert events[-3]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice_none_answers_in_text_and_a_tool_result_is_echoed(emulator):
    plain = post_chat(emulator, tools=[WEATHER_TOOL], tool_choice="none").json()
    assert plain["choices"][0]["message"]["content"].startswith("You said:")
    after = post_chat(
        emulator,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather in Paris"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "22C and sunny"},
        ],
    ).json()
    assert after["choices"][0]["message"]["content"] == "Tool result: 22C and sunny"


def test_json_schema_mode_returns_an_object_with_the_required_properties(emulator):
    schema = {
        "type": "object",
        "required": ["title", "count", "tags"],
        "properties": {
            "title": {"type": "string"},
            "count": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    body = post_chat(
        emulator,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "summary", "schema": schema},
        },
    ).json()
    assert json.loads(body["choices"][0]["message"]["content"]) == {
        "title": "emulator",
        "count": 1,
        "tags": ["emulator"],
    }
    json_mode = post_chat(emulator, response_format={"type": "json_object"}).json()
    assert json.loads(json_mode["choices"][0]["message"]["content"])["answer"].startswith("You")


def test_models_lists_the_catalog_with_baseten_extras(emulator):
    body = httpx.get(f"{emulator.model_apis_url}/models", headers=auth(emulator)).json()
    rows = {row["id"]: row for row in body["data"]}
    assert body["object"] == "list"
    assert rows[REASONING_MODEL]["context_length"] == 163840
    assert {"name", "max_completion_tokens", "pricing", "object", "owned_by"} <= set(rows[MODEL])


def test_an_unknown_slug_is_a_404_with_an_openai_error_body(emulator):
    response = post_chat(emulator, model="no-such/model")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "code"}


@pytest.mark.parametrize(
    "changes",
    [
        {"messages": []},
        {"n": 2},
        {"max_tokens": 0},
        {"temperature": 5},
        {"reasoning_effort": "extreme"},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        {
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "nope"}},
        },
    ],
)
def test_invalid_requests_are_400s(emulator, changes):
    response = post_chat(emulator, **changes)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_request_log_keeps_bodies_but_not_the_key(emulator):
    post_chat(emulator, max_tokens=5)
    [entry] = emulator.requests()
    assert entry["method"] == "POST" and entry["path"] == "/v1/chat/completions"
    assert entry["body"]["max_tokens"] == 5 and entry["status"] == 200
    assert "authorization" not in entry["headers"]
    assert emulator.api_key not in json.dumps(entry)


def test_a_single_model_can_be_fetched_by_slug(emulator):
    response = httpx.get(
        f"{emulator.model_apis_url}/models/openai/gpt-oss-120b", headers=auth(emulator)
    )
    assert response.json()["id"] == "openai/gpt-oss-120b"
    missing = httpx.get(f"{emulator.model_apis_url}/models/no/such", headers=auth(emulator))
    assert missing.status_code == 404

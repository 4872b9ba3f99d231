"""An outside check of the emulator's wire format: the official `openai` SDK drives /v1."""

from __future__ import annotations

import json

import openai


def test_the_openai_sdk_can_chat_stream_call_tools_and_list_models(emulator):
    client = openai.OpenAI(
        base_url=emulator.model_apis_url, api_key=emulator.api_key, max_retries=0
    )
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]

    completion = client.chat.completions.create(model="zai-org/GLM-4.6", messages=messages)
    assert completion.choices[0].message.content.startswith("You said: What is the weather")
    assert completion.usage.completion_tokens == 24

    stream = client.chat.completions.create(
        model="deepseek-ai/DeepSeek-V3.1",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content
    usage = chunks[-1].usage
    assert usage.completion_tokens_details.reasoning_tokens == 8  # "Thinking about: <6 words>"
    assert usage.completion_tokens == 24 + 8
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    called = client.chat.completions.create(model="zai-org/GLM-4.6", messages=messages, tools=tools)
    call = called.choices[0].message.tool_calls[0]
    assert called.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    assert "openai/gpt-oss-120b" in {m.id for m in client.models.list()}

    try:
        client.chat.completions.create(model="no-such/model", messages=messages)
    except openai.NotFoundError as exc:
        assert exc.status_code == 404
    else:
        raise AssertionError("an unknown slug should raise openai.NotFoundError")

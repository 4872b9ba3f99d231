"""Tool calling through LlamaIndex: chat_with_tools, predict_and_call, streamed tool calls."""

import asyncio
import json

from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOL = FunctionTool.from_defaults(fn=add)


def test_chat_with_tools_returns_openai_shape_tool_calls(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")
    response = llm.chat_with_tools([TOOL], user_msg="add a 2 and b 3")
    call = response.message.additional_kwargs["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "add" and call["id"]
    assert isinstance(json.loads(call["function"]["arguments"]), dict)
    selections = llm.get_tool_calls_from_response(response)
    assert selections[0].tool_name == "add" and set(selections[0].tool_kwargs) == {"a", "b"}
    body = emulator.requests()[-1]["body"]
    assert body["tools"][0]["function"]["name"] == "add" and body["tool_choice"] == "auto"


def test_predict_and_call_runs_the_function_sync_and_async(model_api):
    llm = model_api("zai-org/GLM-4.6")
    result = llm.predict_and_call([TOOL], user_msg="add 1 and 1")
    assert result.sources[0].tool_name == "add" and result.response == "2"
    result = asyncio.run(llm.apredict_and_call([TOOL], user_msg="add 1 and 1"))
    assert result.response == "2"


def test_tool_results_are_sent_back_and_answered(emulator, dedicated):
    llm = dedicated()
    first = llm.chat_with_tools([TOOL], user_msg="add", tool_required=True)
    call = first.message.additional_kwargs["tool_calls"][0]
    history = [
        ChatMessage(role="user", content="add"),
        first.message,
        ChatMessage(
            role="tool", content="5", additional_kwargs={"tool_call_id": call["id"], "name": "add"}
        ),
    ]
    final = llm.chat(history)
    assert final.message.content.startswith("Tool result: 5")
    sent = emulator.requests()[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call["id"] and sent[2]["tool_call_id"] == call["id"]
    assert emulator.requests()[0]["body"]["tool_choice"] == "required"


def test_streamed_tool_calls_are_assembled_from_deltas(model_api):
    llm = model_api("zai-org/GLM-4.6")
    chunks = list(llm.stream_chat_with_tools([TOOL], user_msg="add a 4 and b 5"))
    calls = chunks[-1].message.additional_kwargs["tool_calls"]
    assert len(calls) == 1 and calls[0]["function"]["name"] == "add"
    assert set(json.loads(calls[0]["function"]["arguments"])) == {"a", "b"}
    assert chunks[-1].additional_kwargs["finish_reason"] == "tool_calls"

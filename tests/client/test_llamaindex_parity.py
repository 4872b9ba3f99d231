"""What a first-class LlamaIndex integration returns today (llama-index-llms-openai / -anthropic):
ThinkingBlock and thinking_delta for reasoning, ToolCallBlock for tool calls, structured
prediction through response_format, and agents that use all of them."""

import asyncio
import json

import jsonschema
import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent
from llama_index.core.base.llms.types import TextBlock, ThinkingBlock, ToolCallBlock
from llama_index.core.llms import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, Field

QUESTION = [ChatMessage(role="user", content="What is your name")]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOL = FunctionTool.from_defaults(fn=add)


class City(BaseModel):
    """A city and a few facts about it."""

    city: str
    population: int = Field(ge=1000)
    rating: float = Field(gt=0, lt=1)
    sights: list[str] = Field(min_length=2)


CITY_PROMPT = PromptTemplate("Describe this place: {name}")


def kinds(message: ChatMessage) -> list:
    return [type(b) for b in message.blocks]


def test_a_reasoning_reply_carries_a_thinking_block_beside_the_answer(model_api):
    message = model_api("deepseek-ai/DeepSeek-V3.1").chat(QUESTION).message
    assert kinds(message) == [ThinkingBlock, TextBlock]
    assert (
        message.blocks[0].content
        == message.additional_kwargs["reasoning_content"]
        == "Thinking about: What is your name"
    )
    assert message.content.startswith(
        "You said: What is your name"
    )  # the thinking is not in the answer


def test_streamed_reasoning_arrives_as_thinking_deltas_and_thinking_blocks(model_api):
    chunks = list(model_api("deepseek-ai/DeepSeek-V3.1").stream_chat(QUESTION))
    thinking = "".join(c.additional_kwargs.get("thinking_delta", "") for c in chunks)
    assert thinking == "".join(
        c.additional_kwargs["reasoning_delta"] for c in chunks
    )  # the older name still works
    assert thinking == chunks[-1].message.blocks[0].content == "Thinking about: What is your name"
    first_thought = next(c for c in chunks if c.additional_kwargs.get("thinking_delta"))
    assert first_thought.delta == "" and kinds(first_thought.message) == [ThinkingBlock, TextBlock]
    assert "thinking_delta" not in chunks[-1].additional_kwargs


def test_async_streams_carry_thinking_deltas_too(model_api):
    llm = model_api("deepseek-ai/DeepSeek-V3.1")

    async def run():
        return [c async for c in await llm.astream_chat(QUESTION)], [
            c async for c in await llm.astream_complete("hi")
        ]

    chat, completion = asyncio.run(run())
    assert (
        "".join(c.additional_kwargs.get("thinking_delta", "") for c in chat)
        == "Thinking about: What is your name"
    )
    assert (
        "".join(c.additional_kwargs.get("thinking_delta", "") for c in completion)
        == "Thinking about: hi"
    )


def test_a_model_without_reasoning_has_only_the_text_block(model_api):
    chunks = list(model_api("zai-org/GLM-4.6").stream_chat(QUESTION))
    assert all(kinds(c.message) == [TextBlock] for c in chunks)
    assert all("thinking_delta" not in c.additional_kwargs for c in chunks)


def test_tool_calls_come_as_tool_call_blocks_and_tool_calls(model_api):
    llm = model_api("zai-org/GLM-4.6")
    for response in (
        llm.chat_with_tools([TOOL], user_msg="add a 2 and b 3"),
        list(llm.stream_chat_with_tools([TOOL], user_msg="add a 2 and b 3"))[-1],
    ):
        blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        call = response.message.additional_kwargs["tool_calls"][0]
        assert [(b.tool_call_id, b.tool_name) for b in blocks] == [(call["id"], "add")]
        assert json.loads(blocks[0].tool_kwargs) == json.loads(call["function"]["arguments"])


def test_tool_call_blocks_alone_are_enough_to_select_and_send_back_a_tool_call(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")
    assistant = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(tool_call_id="call_9", tool_name="add", tool_kwargs={"a": 2, "b": 5})
        ],
    )
    from llama_index.core.base.llms.types import ChatResponse

    selections = llm.get_tool_calls_from_response(ChatResponse(message=assistant))
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("call_9", "add", {"a": 2, "b": 5})
    ]
    answer = llm.chat(
        [
            ChatMessage(role="user", content="add"),
            assistant,
            ChatMessage(role="tool", content="7", additional_kwargs={"tool_call_id": "call_9"}),
        ]
    )
    assert answer.message.content.startswith("Tool result: 7")
    sent = emulator.requests()[-1]["body"]["messages"][1]
    assert sent["tool_calls"] == [
        {
            "id": "call_9",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 5}'},
        }
    ]


def test_a_reply_with_both_forms_sends_each_tool_call_once(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")
    first = llm.chat_with_tools([TOOL], user_msg="add a 2 and b 3")
    call_id = first.message.additional_kwargs["tool_calls"][0]["id"]
    llm.chat(
        [
            ChatMessage(role="user", content="add a 2 and b 3"),
            first.message,
            ChatMessage(role="tool", content="5", additional_kwargs={"tool_call_id": call_id}),
        ]
    )
    assert [c["id"] for c in emulator.requests()[-1]["body"]["messages"][1]["tool_calls"]] == [
        call_id
    ]


def test_a_function_agent_streams_thinking_and_runs_the_tool(emulator, model_api):
    agent = FunctionAgent(tools=[TOOL], llm=model_api("deepseek-ai/DeepSeek-V3.1"), streaming=True)

    async def run():
        handler = agent.run(user_msg="add a 20 and b 22")
        thinking = [
            e.thinking_delta
            async for e in handler.stream_events()
            if isinstance(e, AgentStream) and e.thinking_delta
        ]
        return thinking, await handler

    thinking, result = asyncio.run(run())
    assert "".join(thinking).startswith("Thinking about: add a 20 and b 22")
    # The emulator fills integer arguments with 1 (docs/contracts.md), so add(1, 1) ran.
    assert (
        result.tool_calls[0].tool_name == "add" and result.tool_calls[0].tool_output.content == "2"
    )
    assert str(result).startswith("Tool result: 2")
    sent = emulator.requests()[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"] and len(
        sent[1]["tool_calls"]
    ) == 1


def _schema_sent(emulator) -> dict:
    body = emulator.requests()[-1]["body"]
    assert "tools" not in body and body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "City"
    return body["response_format"]["json_schema"]["schema"]


def test_structured_predict_asks_for_the_json_schema_and_returns_the_model(emulator, model_api):
    city = model_api("zai-org/GLM-4.6").structured_predict(City, CITY_PROMPT, name="city Lisbon")
    assert isinstance(city, City) and city.city == "Lisbon"
    jsonschema.validate(city.model_dump(), _schema_sent(emulator))
    assert _schema_sent(emulator) == City.model_json_schema()


def test_astructured_predict_and_a_reasoning_model_return_the_model(emulator, model_api):
    city = asyncio.run(
        model_api("deepseek-ai/DeepSeek-V3.1").astructured_predict(
            City, CITY_PROMPT, name="city Oslo"
        )
    )
    assert city.city == "Oslo" and len(city.sights) >= 2
    _schema_sent(emulator)


def test_stream_structured_predict_yields_growing_partials_then_the_model(emulator, model_api):
    partials = list(
        model_api("zai-org/GLM-4.6").stream_structured_predict(City, CITY_PROMPT, name="city Rome")
    )
    assert len(partials) > 3 and isinstance(partials[-1], City) and partials[-1].city == "Rome"
    assert emulator.requests()[-1]["body"]["stream"] is True
    _schema_sent(emulator)


def test_astream_structured_predict_yields_the_model_last(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6")

    async def run():
        return [
            p
            async for p in await llm.astream_structured_predict(City, CITY_PROMPT, name="city Kyiv")
        ]

    partials = asyncio.run(run())
    assert isinstance(partials[-1], City) and partials[-1].city == "Kyiv"
    assert emulator.requests()[-1]["stream_closed_early"] is False


def test_a_structured_llm_answers_with_the_model_as_json(emulator, model_api):
    response = (
        model_api("zai-org/GLM-4.6")
        .as_structured_llm(City)
        .chat([ChatMessage(role="user", content="city Porto")])
    )
    assert (
        isinstance(response.raw, City) and json.loads(response.message.content)["city"] == "Porto"
    )


def test_function_program_mode_still_uses_tool_calling(emulator, model_api):
    llm = model_api("zai-org/GLM-4.6", pydantic_program_mode=PydanticProgramMode.FUNCTION)
    city = llm.structured_predict(City, CITY_PROMPT, name="city Bern")
    body = emulator.requests()[-1]["body"]
    assert (
        isinstance(city, City)
        and body["tools"][0]["function"]["name"] == "City"
        and "response_format" not in body
    )


def test_a_custom_predict_model_falls_back_to_llama_index_s_own_program(emulator, dedicated):
    llm = dedicated(api_style="predict", pydantic_program_mode=PydanticProgramMode.LLM)
    with pytest.raises(ValueError):  # the echoing /predict model does not answer JSON
        llm.structured_predict(City, CITY_PROMPT, name="city Bern")
    assert "response_format" not in json.dumps(emulator.requests()[-1]["body"])


def test_llama_index_token_counting_sees_the_usage_of_plain_and_streamed_chats(model_api):
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

    counter = TokenCountingHandler()
    llm = model_api("zai-org/GLM-4.6", callback_manager=CallbackManager([counter]))
    plain = llm.chat(QUESTION).additional_kwargs["usage"]
    streamed = list(llm.stream_chat(QUESTION))[-1].additional_kwargs["usage"]
    assert [(e.prompt_token_count, e.completion_token_count) for e in counter.llm_token_counts] == [
        (plain["prompt_tokens"], plain["completion_tokens"]),
        (streamed["prompt_tokens"], streamed["completion_tokens"]),
    ]

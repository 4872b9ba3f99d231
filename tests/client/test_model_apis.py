"""Model APIs over real loopback HTTP: every LlamaIndex method, sync and async."""

import asyncio
import itertools

import pytest
from llama_index.core.llms import ChatMessage

from baseten_llm import errors

PIRATE = [
    ChatMessage(role="system", content="You are a pirate"),
    ChatMessage(role="user", content="What is your name"),
]


def last_body(emulator):
    return emulator.requests()[-1]["body"]


def test_complete_goes_through_chat_completions_and_reports_usage(emulator, model_api):
    response = model_api("zai-org/GLM-4.6").complete("Paul Graham is")
    assert response.text.startswith("You said: Paul Graham is")
    usage = response.additional_kwargs["usage"]
    assert usage["completion_tokens"] == 24 and usage["total_tokens"] == usage["prompt_tokens"] + 24
    log = emulator.requests()
    assert [r["path"] for r in log] == ["/v1/chat/completions"]  # no catalog round trip first
    assert log[-1]["body"]["messages"] == [{"role": "user", "content": "Paul Graham is"}]


def test_chat_with_system_and_user_messages(emulator, model_api):
    response = model_api("zai-org/GLM-4.6").chat(PIRATE)
    assert response.message.content.startswith("You said: What is your name")
    assert last_body(emulator)["messages"][0] == {"role": "system", "content": "You are a pirate"}
    assert response.additional_kwargs["finish_reason"] == "stop"


def test_reasoning_is_kept_apart_from_the_answer(model_api):
    response = model_api("deepseek-ai/DeepSeek-V3.1").chat(PIRATE)
    assert response.message.content.startswith("You said:")
    assert (
        response.message.additional_kwargs["reasoning_content"]
        == "Thinking about: What is your name"
    )
    assert response.additional_kwargs["usage"]["reasoning_tokens"] > 0


def test_stream_chat_deltas_rebuild_the_answer_and_the_last_chunk_has_usage(emulator, model_api):
    chunks = list(model_api("deepseek-ai/DeepSeek-V3.1").stream_chat(PIRATE))
    answer = "".join(c.delta for c in chunks)
    assert answer == chunks[-1].message.content and answer.startswith("You said: What is your name")
    reasoning = "".join(c.additional_kwargs.get("reasoning_delta", "") for c in chunks)
    assert (
        reasoning
        == chunks[-1].message.additional_kwargs["reasoning_content"]
        == "Thinking about: What is your name"
    )
    assert chunks[-1].additional_kwargs["usage"]["completion_tokens"] > 0
    body = last_body(emulator)
    assert body["stream"] is True and body["stream_options"]["include_usage"] is True


def test_stream_complete_text_is_the_answer_so_far(model_api):
    chunks = list(model_api("zai-org/GLM-4.6").stream_complete("Paul Graham is"))
    texts = [c.text for c in chunks]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert "".join(c.delta for c in chunks) == texts[-1]
    assert chunks[-1].additional_kwargs["usage"]["completion_tokens"] == 24


def test_async_methods_are_real_async_calls(emulator, model_api):
    llm = model_api("deepseek-ai/DeepSeek-V3.1")

    async def run():
        done = await asyncio.gather(llm.acomplete("one"), llm.achat(PIRATE))
        streamed = [c async for c in await llm.astream_chat(PIRATE)]
        completed = [c async for c in await llm.astream_complete("two")]
        return done, streamed, completed

    (completion, chat), streamed, completed = asyncio.run(run())
    assert completion.text.startswith("You said: one")
    assert completion.additional_kwargs["reasoning_content"] == "Thinking about: one"
    assert chat.message.content.startswith("You said: What is your name")
    assert "".join(c.delta for c in streamed) == streamed[-1].message.content
    assert (
        completed[-1].text.startswith("You said: two") and completed[-1].additional_kwargs["usage"]
    )


def test_parameters_and_response_format_pass_through(emulator, model_api):
    llm = model_api(
        "zai-org/GLM-4.6",
        temperature=0.3,
        max_tokens=200,
        additional_kwargs={"top_p": 0.9, "chat_template_args": {"enable_thinking": False}},
    )
    llm.complete(
        "city Paris", response_format={"type": "json_object"}, stop=["\n\n"], reasoning_effort="low"
    )
    body = last_body(emulator)
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.3, 200, 0.9)
    assert body["chat_template_args"] == {"enable_thinking": False}
    assert body["response_format"] == {"type": "json_object"} and body["stop"] == ["\n\n"]
    assert body["reasoning_effort"] == "low"


def test_max_tokens_truncation_reports_length(model_api):
    response = model_api("zai-org/GLM-4.6", max_tokens=3).chat(PIRATE)
    assert response.additional_kwargs["finish_reason"] == "length"
    assert len(response.message.content.split()) == 3


def test_catalog_lists_models_and_gives_the_real_context_window(emulator, model_api):
    llm = model_api("moonshotai/Kimi-K2-Thinking")
    rows = llm.list_models()
    assert "deepseek-ai/DeepSeek-V3.1" in [r.id for r in rows] and all(
        r.context_length for r in rows
    )
    kimi = next(r for r in rows if r.id == "moonshotai/Kimi-K2-Thinking")
    assert llm.metadata.context_window == kimi.context_length
    assert [r.id for r in llm.available_models] == [r.id for r in rows]
    assert [r["path"] for r in emulator.requests()] == ["/v1/models"]  # cached afterwards


def test_an_unknown_slug_is_sent_and_its_404_names_the_closest_listed_slugs(emulator, model_api):
    llm = model_api("deepseek-ai/deepseek-v3.1")
    assert emulator.requests() == []
    with pytest.raises(errors.NotFoundError) as info:
        llm.complete("hi")
    assert info.value.suggestions[0] == "deepseek-ai/DeepSeek-V3.1"
    assert "not in the model list" in str(info.value) and info.value.status_code == 404
    assert [r["path"] for r in emulator.requests()] == ["/v1/chat/completions", "/v1/models"]


def test_an_unknown_slug_404s_with_suggestions_from_the_async_and_streamed_calls_too(
    emulator, model_api
):
    llm = model_api("zai-org/glm-4.7")

    async def run():
        with pytest.raises(errors.NotFoundError) as streamed:
            await llm.astream_chat(PIRATE)
        with pytest.raises(errors.NotFoundError) as plain:
            await llm.achat(PIRATE)
        return streamed.value, plain.value

    for error in asyncio.run(run()):
        assert error.suggestions[0] == "zai-org/GLM-4.7"
    with pytest.raises(errors.NotFoundError) as info:
        list(llm.stream_chat(PIRATE))
    assert info.value.suggestions[0] == "zai-org/GLM-4.7"


def test_a_404_for_a_listed_slug_says_it_may_be_retired_or_not_enabled(emulator, model_api):
    emulator.fault(status=404, times=1, path_contains="/chat")
    with pytest.raises(errors.NotFoundError) as info:
        model_api("deepseek-ai/DeepSeek-V3.1").complete("hi")
    assert "may be retired or not enabled" in str(info.value)
    assert info.value.suggestions == ["deepseek-ai/DeepSeek-V3.1"]


def test_the_app_can_tell_which_slug_a_404_was_about(emulator, model_api):
    from chatapp.services.user_errors import describe

    emulator.fault(status=404, times=1, path_contains="/chat")
    with pytest.raises(errors.NotFoundError) as listed:
        model_api("deepseek-ai/DeepSeek-V3.1").complete("hi")
    with pytest.raises(errors.NotFoundError) as unlisted:
        model_api("deepseek-ai/deepseek-v3.1").complete("hi")
    assert "“deepseek-ai/DeepSeek-V3.1”" in describe(listed.value)
    assert "“deepseek-ai/deepseek-v3.1”" in describe(
        unlisted.value
    ) and "DeepSeek-V3.1" in describe(unlisted.value)

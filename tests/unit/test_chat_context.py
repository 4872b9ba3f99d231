"""Trimming a long conversation to the model's context window."""

from __future__ import annotations

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from chatapp.services.chat import estimate_tokens, fit_to_context


def turns(count: int, size: int) -> list[ChatMessage]:
    messages = []
    for i in range(count):
        messages.append(ChatMessage(role=MessageRole.USER, content=f"q{i} " + "x" * size))
        messages.append(ChatMessage(role=MessageRole.ASSISTANT, content=f"a{i} " + "y" * size))
    messages.append(ChatMessage(role=MessageRole.USER, content="latest question"))
    return messages


def test_tokens_are_estimated_at_about_four_characters_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("a" * 400) == 100


def test_a_short_conversation_is_sent_whole_after_the_system_prompt() -> None:
    history = turns(2, 10)
    fitted = fit_to_context("Be brief.", history, context_window=8000, max_tokens=500)
    assert fitted.dropped == 0
    assert fitted.messages[0].role == MessageRole.SYSTEM
    assert fitted.messages[0].content == "Be brief."
    assert fitted.messages[1:] == history


def test_the_oldest_turns_are_left_out_when_the_window_is_full() -> None:
    history = turns(10, 400)  # ~100 tokens per message
    fitted = fit_to_context("Be brief.", history, context_window=1000, max_tokens=400)
    assert fitted.dropped > 0
    assert fitted.messages[0].content == "Be brief."
    assert fitted.messages[-1].content == "latest question"
    kept = fitted.messages[1:]
    assert kept == history[-len(kept) :]
    assert kept[0].role == MessageRole.USER
    total = sum(estimate_tokens(m.content) + 4 for m in fitted.messages)
    assert total <= 1000 - 400


def test_the_question_is_always_sent_even_if_it_alone_is_too_long() -> None:
    history = [ChatMessage(role=MessageRole.USER, content="z" * 10_000)]
    fitted = fit_to_context("", history, context_window=500, max_tokens=100)
    assert fitted.messages == history
    assert fitted.dropped == 0

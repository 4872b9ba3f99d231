"""Conversation exports (Markdown, JSON) and the metrics line under an answer."""

from __future__ import annotations

import json

import pytest

from chatapp.services import conversations as convs
from chatapp.services import export, personas
from chatapp.services.chat import ReplyMetrics
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER

METRICS = ReplyMetrics(
    ttft_s=0.25, total_s=1.5, tokens_in=12, tokens_out=30, tokens_per_s=24.0, finish_reason="stop"
)
TARGET = {"kind": "model_apis", "model": "deepseek-ai/DeepSeek-V3.1"}


@pytest.fixture()
def saved(database_url: str):
    engine = make_engine(database_url)
    init_db(engine)
    pirate = next(
        p for p in personas.list_personas(engine, owner=LOCAL_OWNER) if p.name == "Pirate"
    )
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "Where is the treasure?", owner=LOCAL_OWNER)
    answer = convs.start_answer(engine, conv.id, TARGET, owner=LOCAL_OWNER)
    convs.finish_answer(
        engine,
        answer,
        text="Arr, under the `<palm>`.",
        reasoning="hmm",
        status="stopped",
        metrics=METRICS.to_dict(),
        owner=LOCAL_OWNER,
    )
    conv = convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER)
    return conv, convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)


def test_the_metrics_line_names_target_and_every_figure() -> None:
    line = export.metrics_line(METRICS, TARGET)
    assert line == (
        "Model API · deepseek-ai/DeepSeek-V3.1 · first token 0.25 s · 24.0 tokens/s"
        " · 12 tokens in · 30 tokens out · total 1.50 s"
    )


def test_estimated_token_counts_are_marked_as_estimates() -> None:
    estimated = ReplyMetrics(None, 2.0, 10, 5, None, None, estimated=True)
    line = export.metrics_line(estimated)
    assert "~10 tokens in" in line and "token counts estimated" in line


def test_an_answer_that_failed_before_any_token_shows_no_line_of_zeros() -> None:
    nothing = ReplyMetrics(None, 0.01, 14, 0, None, None, estimated=True)
    assert export.metrics_line(nothing, TARGET) == "Model API · deepseek-ai/DeepSeek-V3.1"
    assert export.metrics_line(nothing) == ""


def test_markdown_export_has_title_persona_messages_status_and_metrics(saved) -> None:
    conv, messages = saved
    text = export.to_markdown(conv, messages)
    assert text.startswith("# Where is the treasure?\n")
    assert "Persona: 🏴‍☠️ Pirate" in text
    assert "System prompt: You are a pirate with a colorful personality" in text
    assert "## You\n\nWhere is the treasure?" in text
    assert "## Assistant" in text and "Arr, under the `<palm>`." in text
    assert "_(stopped before the end)_" in text
    assert "first token 0.25 s" in text


def test_json_export_round_trips_every_message_with_its_metrics(saved) -> None:
    conv, messages = saved
    document = json.loads(export.to_json(conv, messages))
    assert document["format"] == "baseten-chat-conversation"
    assert document["persona"]["name"] == "Pirate"
    assert [m["role"] for m in document["messages"]] == ["user", "assistant"]
    answer = document["messages"][1]
    assert answer["status"] == "stopped" and answer["reasoning"] == "hmm"
    assert ReplyMetrics.from_dict(answer["metrics"]) == METRICS
    assert "api_key" not in json.dumps(document).lower()


def test_download_names_come_from_the_title(saved) -> None:
    conv, _ = saved
    assert export.filename(conv, "md") == "where-is-the-treasure.md"

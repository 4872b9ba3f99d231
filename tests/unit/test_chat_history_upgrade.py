"""Each answer keeps its persona; a database from the previous version upgrades in place;
answers a dead process left streaming are marked interrupted; exports say so."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, inspect

from chatapp.services import avatars, export, personas
from chatapp.services import conversations as convs
from chatapp.storage import conversations as store
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.users import LOCAL_OWNER

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chat_db_2026_11.sql"
TARGET = {"kind": "model_apis", "model": "deepseek-ai/DeepSeek-V3.1"}


def old_database(tmp_path: Path) -> Engine:
    """A SQLite file with the chat tables and rows exactly as the previous version wrote."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    return make_engine(f"sqlite:///{path}")


def answer(
    engine: Engine, conversation_id: int, question: str, text: str, target: dict | None = None
) -> int:
    convs.add_user_message(engine, conversation_id, question, owner=LOCAL_OWNER)
    message_id = convs.start_answer(engine, conversation_id, target or TARGET, owner=LOCAL_OWNER)
    convs.finish_answer(
        engine, message_id, text=text, reasoning="", status="complete", owner=LOCAL_OWNER
    )
    return message_id


def persona(engine: Engine, name: str) -> personas.PersonaInfo:
    return next(p for p in personas.list_personas(engine, owner=LOCAL_OWNER) if p.name == name)


# --- per-answer persona --------------------------------------------------------------------


def test_a_persona_change_applies_to_the_next_answer_and_leaves_earlier_ones(
    engine: Engine,
) -> None:
    pirate, tutor = persona(engine, "Pirate"), persona(engine, "Socratic tutor")
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    answer(engine, conv.id, "Where is the gold?", "Arr.")
    convs.set_persona(engine, conv.id, tutor, owner=LOCAL_OWNER)
    answer(engine, conv.id, "And now?", "What do you think?")
    first, second = [
        m for m in convs.list_messages(engine, conv.id, owner=LOCAL_OWNER) if m.role == "assistant"
    ]
    assert first.persona_key == (pirate.name, pirate.avatar, pirate.system_prompt)
    assert second.persona_key == (tutor.name, tutor.avatar, tutor.system_prompt)


def test_the_markdown_export_shows_the_persona_where_it_changed(engine: Engine) -> None:
    pirate, tutor = persona(engine, "Pirate"), persona(engine, "Socratic tutor")
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    answer(engine, conv.id, "Where is the gold?", "Arr.")
    answer(engine, conv.id, "Still gold?", "Arr again.")
    convs.set_persona(engine, conv.id, tutor, owner=LOCAL_OWNER)
    answer(engine, conv.id, "And now?", "What do you think?")
    conv = convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER)
    text = export.to_markdown(conv, convs.list_messages(engine, conv.id, owner=LOCAL_OWNER))
    header, rest = text.split("## You", 1)
    assert f"Persona: {pirate.avatar} Pirate" in header
    assert pirate.system_prompt in header and tutor.system_prompt not in header
    assert rest.count("Persona changed to:") == 1
    before, after = rest.split("Persona changed to:", 1)
    assert "Arr again." in before and "What do you think?" in after
    assert tutor.system_prompt in after


def test_the_json_export_carries_each_answers_persona(engine: Engine) -> None:
    pirate, tutor = persona(engine, "Pirate"), persona(engine, "Socratic tutor")
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    answer(engine, conv.id, "Q1", "A1")
    convs.set_persona(engine, conv.id, tutor, owner=LOCAL_OWNER)
    answer(engine, conv.id, "Q2", "A2")
    conv = convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER)
    document = json.loads(
        export.to_json(conv, convs.list_messages(engine, conv.id, owner=LOCAL_OWNER))
    )
    assert document["persona"]["name"] == "Pirate"
    assert document["next_answer_persona"]["name"] == "Socratic tutor"
    answers = [m for m in document["messages"] if m["role"] == "assistant"]
    assert [a["persona"]["name"] for a in answers] == ["Pirate", "Socratic tutor"]
    assert answers[1]["persona"]["system_prompt"] == tutor.system_prompt


# --- offline demo marking ------------------------------------------------------------------


def test_exports_say_at_the_top_when_answers_came_from_the_offline_demo(engine: Engine) -> None:
    conv = convs.create_conversation(engine, persona(engine, "Pirate"), owner=LOCAL_OWNER)
    answer(engine, conv.id, "Q1", "A1", {**TARGET, "demo": True})
    answer(engine, conv.id, "Q2", "A2")
    messages = convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)
    text = export.to_markdown(conv, messages)
    assert text.split("\n")[2].startswith("> **Offline demo: 1 of 2 answers")
    document = json.loads(export.to_json(conv, messages))
    assert document["offline_demo"].startswith("Offline demo: 1 of 2 answers")
    assert [m["offline_demo"] for m in document["messages"] if m["role"] == "assistant"] == [
        True,
        False,
    ]


def test_exports_without_demo_answers_carry_no_demo_notice(engine: Engine) -> None:
    conv = convs.create_conversation(engine, persona(engine, "Pirate"), owner=LOCAL_OWNER)
    answer(engine, conv.id, "Q1", "A1")
    messages = convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)
    assert "Offline demo" not in export.to_markdown(conv, messages)
    assert json.loads(export.to_json(conv, messages))["offline_demo"] is None


# --- a database written by the previous version --------------------------------------------


def test_a_database_from_the_previous_version_gains_the_new_columns_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    engine = old_database(tmp_path)
    columns = {c["name"] for c in inspect(engine).get_columns("chat_messages")}
    assert "persona_name" not in columns  # the fixture really is the old schema
    init_db(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("chat_messages")}
    assert {"persona_name", "persona_avatar", "system_prompt", "writer"} <= columns
    init_db(engine)  # a second start changes nothing
    messages = convs.list_messages(engine, 1, owner=LOCAL_OWNER)
    assert [m.content for m in messages][:2] == [
        "Where is the treasure?",
        "Arr, under the palm tree.",
    ]
    assert messages[1].persona_key is None  # made before answers recorded their persona
    conv = convs.get_conversation(engine, 1, owner=LOCAL_OWNER)
    assert conv is not None
    text = export.to_markdown(conv, messages)
    assert "Persona: 🤖 Old pirate" in text and "Persona changed" not in text


def test_bad_avatars_stored_by_the_previous_version_show_the_default(tmp_path: Path) -> None:
    engine = old_database(tmp_path)
    init_db(engine)
    assert {p.name: p.avatar for p in personas.list_personas(engine, owner=LOCAL_OWNER)}[
        "Old pirate"
    ] == "🤖"
    assert {p.name: p.avatar for p in personas.list_personas(engine, owner=LOCAL_OWNER)}[
        "Web face"
    ] == "🤖"
    for conversation in convs.list_conversations(engine, owner=LOCAL_OWNER):
        assert conversation.persona_avatar == avatars.DEFAULT_AVATAR
    assert avatars.for_display(engine, "/etc/passwd") == avatars.DEFAULT_AVATAR


def test_new_answers_in_an_upgraded_database_record_their_persona(tmp_path: Path) -> None:
    engine = old_database(tmp_path)
    init_db(engine)
    answer(engine, 2, "Another face?", "Here.")
    last = convs.list_messages(engine, 2, owner=LOCAL_OWNER)[-1]
    assert last.persona_key == ("Deleted one", avatars.DEFAULT_AVATAR, "You were deleted.")


# --- answers left streaming ----------------------------------------------------------------


def test_an_answer_left_streaming_by_the_previous_version_is_interrupted_at_once(
    tmp_path: Path,
) -> None:
    engine = old_database(tmp_path)
    init_db(engine)
    assert convs.recover_interrupted(engine) == 1
    cut = convs.list_messages(engine, 1, owner=LOCAL_OWNER)[3]
    assert cut.status == "interrupted" and cut.content == "The map is in the"


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def streaming_answer(engine: Engine, writer: str | None) -> int:
    conv = convs.create_conversation(engine, None, owner=LOCAL_OWNER)
    message_id = convs.start_answer(engine, conv.id, TARGET, owner=LOCAL_OWNER)
    with session_scope(engine) as session:
        store.get_message(session, message_id, LOCAL_OWNER).writer = writer
    return message_id


def test_a_dead_writer_on_this_host_is_told_from_a_live_one(engine: Engine) -> None:
    host = convs.WRITER.split(":")[0]
    live = streaming_answer(engine, convs.WRITER)
    dead = streaming_answer(engine, f"{host}:{dead_pid()}:abcdef123456")
    reused = streaming_answer(engine, f"{host}:{os.getpid()}:000000000000")
    assert convs.recover_interrupted(engine) == 2
    with session_scope(engine) as session:
        status = {
            i: store.get_message(session, i, LOCAL_OWNER).status for i in (live, dead, reused)
        }
    assert status == {live: "streaming", dead: "interrupted", reused: "interrupted"}


def test_a_writer_on_another_host_counts_as_alive_until_its_row_goes_stale() -> None:
    now = store.utcnow()
    writer = "elsewhere:123:abcdef123456"
    assert convs.writer_alive(writer, now - timedelta(seconds=5), now=now)
    assert not convs.writer_alive(
        writer, now - timedelta(seconds=convs.STALE_WRITER_S + 1), now=now
    )
    assert not convs.writer_alive(None, now, now=now)


def test_the_page_note_for_an_interrupted_answer_says_what_to_do() -> None:
    from chatapp.ui.messages import _status_note

    message = convs.MessageInfo(
        1, "assistant", "part", "", "interrupted", None, None, None, store.utcnow()
    )
    note = _status_note(message)
    assert note is not None and "interrupted" in note and "Retry" in note

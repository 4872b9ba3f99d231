"""The chat page with history an older version stored, and with a persona change mid-way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.app.test_chat_page import ask, no_traceback, open_app

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chat_db_2026_11.sql"


def test_a_conversation_with_bad_stored_avatars_opens_with_the_default_avatar(
    data_dir: Path, emulator
) -> None:
    with sqlite3.connect(data_dir / "baseten_chat.db") as connection:
        connection.executescript(FIXTURE.read_text(encoding="utf-8"))
    at = open_app()
    no_traceback(at)
    at = at.button(key="chat_open_1").click().run()
    no_traceback(at)
    assert [m.avatar for m in at.chat_message] == ["🧑", "🤖", "🧑", "🤖"]
    assert "Still being written" not in " ".join(c.value for c in at.caption)
    assert any("interrupted" in c.value for c in at.chat_message[3].caption)
    assert at.button(key="chat_retry")  # an interrupted answer can be asked again


def test_an_earlier_answer_keeps_its_avatar_after_the_persona_changes(
    data_dir: Path, emulator
) -> None:
    at = ask(open_app(), "Ahoy?")
    no_traceback(at)
    picker = at.selectbox(key="chat_persona")
    at = picker.select(next(o for o in picker.options if "Pirate" in o)).run()
    at = ask(at, "Now as a pirate?")
    no_traceback(at)
    avatars = [m.avatar for m in at.chat_message]
    assert avatars == ["🧑", "🤖", "🧑", "🏴‍☠️"]
    assert any("Persona changed" in c.value for c in at.chat_message[3].caption)

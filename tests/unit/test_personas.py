"""Personas: built-ins, the user's own CRUD, JSON import and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatapp.services import personas
from chatapp.storage.db import init_db, make_engine
from chatapp.users import LOCAL_OWNER


def test_there_are_at_least_six_distinct_builtins_including_the_readme_pirate(engine) -> None:
    listed = personas.list_personas(engine, owner=LOCAL_OWNER)
    builtins = [p for p in listed if p.builtin]
    assert len(builtins) >= 6
    assert len({p.name for p in builtins}) == len(builtins)
    assert len({p.system_prompt for p in builtins}) == len(builtins)
    pirate = next(p for p in builtins if p.name == "Pirate")
    assert pirate.system_prompt == "You are a pirate with a colorful personality"
    assert all(p.avatar and p.system_prompt for p in builtins)


def test_builtins_are_seeded_once_however_often_the_app_starts(engine) -> None:
    personas.ensure_builtins(engine)
    personas.ensure_builtins(engine)
    assert len(personas.list_personas(engine, owner=LOCAL_OWNER)) == len(personas.BUILTINS)


def test_a_new_persona_is_stored_and_listed_after_the_builtins(engine) -> None:
    made = personas.create_persona(
        engine, "  Chef ", "👩‍🍳", "You are a chef.", 0.7, owner=LOCAL_OWNER
    )
    assert (made.name, made.avatar, made.temperature, made.builtin) == ("Chef", "👩‍🍳", 0.7, False)
    assert personas.list_personas(engine, owner=LOCAL_OWNER)[-1] == made
    assert personas.get_persona(engine, made.id, owner=LOCAL_OWNER) == made


def test_bad_fields_are_refused_with_a_message_saying_what_to_fix(engine) -> None:
    with pytest.raises(personas.PersonaError, match="name is required"):
        personas.create_persona(engine, " ", "🙂", "prompt", owner=LOCAL_OWNER)
    with pytest.raises(personas.PersonaError, match="temperature must be from 0 to 2"):
        personas.create_persona(engine, "Hot", "🔥", "prompt", 3.5, owner=LOCAL_OWNER)


def test_own_personas_can_be_edited_and_deleted(engine) -> None:
    made = personas.create_persona(engine, "Chef", "👩‍🍳", "You are a chef.", owner=LOCAL_OWNER)
    edited = personas.update_persona(
        engine, made.id, "Baker", "🥐", "You bake.", None, owner=LOCAL_OWNER
    )
    assert personas.get_persona(engine, made.id, owner=LOCAL_OWNER) == edited
    assert edited.name == "Baker" and edited.temperature is None
    personas.delete_persona(engine, made.id, owner=LOCAL_OWNER)
    assert personas.get_persona(engine, made.id, owner=LOCAL_OWNER) is None


def test_builtins_cannot_be_deleted_or_edited_but_can_be_duplicated(engine) -> None:
    pirate = next(
        p for p in personas.list_personas(engine, owner=LOCAL_OWNER) if p.name == "Pirate"
    )
    with pytest.raises(personas.PersonaError, match="duplicate it"):
        personas.delete_persona(engine, pirate.id, owner=LOCAL_OWNER)
    with pytest.raises(personas.PersonaError, match="cannot be edited"):
        personas.update_persona(engine, pirate.id, "X", "🙂", "y", owner=LOCAL_OWNER)
    copy = personas.duplicate_persona(engine, pirate.id, owner=LOCAL_OWNER)
    assert copy.name == "Pirate (copy)" and not copy.builtin
    assert copy.system_prompt == pirate.system_prompt
    personas.delete_persona(engine, copy.id, owner=LOCAL_OWNER)
    assert personas.get_persona(engine, pirate.id, owner=LOCAL_OWNER) == pirate


def test_an_export_imports_back_into_an_empty_database(engine, tmp_path: Path) -> None:
    personas.create_persona(engine, "Chef", "👩‍🍳", "You are a chef.", 0.4, owner=LOCAL_OWNER)
    own = [p for p in personas.list_personas(engine, owner=LOCAL_OWNER) if not p.builtin]
    document = personas.export_personas(own)
    assert json.loads(document)["personas"][0]["name"] == "Chef"

    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    init_db(other)
    result = personas.import_personas(other, document.encode(), owner=LOCAL_OWNER)
    assert result.problems == []
    assert [(p.name, p.avatar, p.temperature) for p in result.imported] == [("Chef", "👩‍🍳", 0.4)]


def test_import_reports_each_bad_entry_and_still_imports_the_good_ones(engine) -> None:
    raw = json.dumps(
        [
            {"name": "Good", "avatar": "✅", "system_prompt": "ok"},
            {"name": "", "system_prompt": "no name"},
            {"name": "Too hot", "system_prompt": "x", "temperature": 9},
            "not an object",
            {"name": "Also good", "system_prompt": "fine", "temperature": 1},
        ]
    )
    result = personas.import_personas(engine, raw, owner=LOCAL_OWNER)
    assert [p.name for p in result.imported] == ["Good", "Also good"]
    assert len(result.problems) == 3
    assert result.problems[0].startswith("Entry 2:") and "name is required" in result.problems[0]
    assert result.problems[1].startswith("Entry 3 (“Too hot”)")
    assert "temperature" in result.problems[1]
    assert result.problems[2].startswith("Entry 4:")


def test_a_file_that_is_not_json_is_refused_with_a_clear_message(engine) -> None:
    result = personas.import_personas(engine, b"{nope", owner=LOCAL_OWNER)
    assert result.imported == []
    assert "not valid JSON" in result.problems[0]


def test_importing_the_same_file_twice_does_not_duplicate_personas(engine) -> None:
    raw = json.dumps({"personas": [{"name": "Chef", "system_prompt": "cook"}]})
    personas.import_personas(engine, raw, owner=LOCAL_OWNER)
    again = personas.import_personas(engine, raw, owner=LOCAL_OWNER)
    assert again.imported == [] and "already exists" in again.problems[0]

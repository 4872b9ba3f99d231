"""Avatars are one emoji or an uploaded image the app stores; nothing else gets through."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image
from sqlalchemy import Engine

from chatapp.services import avatars, personas
from chatapp.users import LOCAL_OWNER

REFUSED = [
    "abc",
    "/etc/passwd",
    "/tmp/a.png",
    "http://127.0.0.1:9/a.png",
    "🤖🤖",
    "a",
    "img:../../etc",
    "data:image/png;base64,AAAA",
    ":robot:",
]
ACCEPTED = ["🤖", "🏴‍☠️", "🧑‍💻", "👍🏽", "🇫🇷", "1️⃣", "❤️"]


def png(width: int = 300, height: int = 200, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("value", ACCEPTED)
def test_a_single_emoji_is_an_avatar(engine: Engine, value: str) -> None:
    created = personas.create_persona(engine, "Emoji", value, "Be brief.", owner=LOCAL_OWNER)
    assert created.avatar == value


@pytest.mark.parametrize("value", REFUSED)
def test_anything_but_one_emoji_is_refused_at_creation_with_a_clear_message(
    engine: Engine, value: str
) -> None:
    with pytest.raises(personas.PersonaError, match="single emoji"):
        personas.create_persona(engine, "Bad", value, "Be brief.", owner=LOCAL_OWNER)


@pytest.mark.parametrize("value", REFUSED)
def test_anything_but_one_emoji_is_refused_at_import_and_the_rest_still_imports(
    engine: Engine, value: str
) -> None:
    raw = json.dumps(
        {
            "personas": [
                {"name": "Bad", "avatar": value, "system_prompt": "x"},
                {"name": "Good", "avatar": "🦊", "system_prompt": "y"},
            ]
        }
    )
    result = personas.import_personas(engine, raw, owner=LOCAL_OWNER)
    assert [p.name for p in result.imported] == ["Good"]
    assert len(result.problems) == 1
    assert "Entry 1" in result.problems[0]
    assert "single emoji" in result.problems[0] or "image avatar" in result.problems[0]


def test_an_uploaded_image_is_stored_shrunk_as_png_and_served_from_the_app(engine: Engine) -> None:
    created = personas.create_persona(
        engine, "Face", None, "Hi.", avatar_image=png(), owner=LOCAL_OWNER
    )
    assert avatars.is_image_token(created.avatar)
    shown = avatars.for_display(engine, created.avatar)
    assert isinstance(shown, bytes)
    with Image.open(io.BytesIO(shown)) as image:
        assert image.format == "PNG"
        assert max(image.size) == avatars.IMAGE_SIDE
    assert avatars.text(created.avatar) == avatars.IMAGE_STAND_IN
    assert created.label.startswith(avatars.IMAGE_STAND_IN)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a" + b"\0" * 10, "not an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image"),
        (b"\0" * (avatars.MAX_UPLOAD_BYTES + 1), "at most"),
    ],
)
def test_an_upload_that_is_not_a_small_image_is_refused(
    engine: Engine, data: bytes, reason: str
) -> None:
    with pytest.raises(personas.PersonaError, match=reason):
        personas.create_persona(engine, "Face", None, "Hi.", avatar_image=data, owner=LOCAL_OWNER)


def test_an_image_with_huge_dimensions_is_refused_before_it_is_decoded(engine: Engine) -> None:
    bomb = png(5000, 5000, "white")  # compresses to a few KB, 25 million pixels decoded
    assert len(bomb) < avatars.MAX_UPLOAD_BYTES
    with pytest.raises(personas.PersonaError, match="too large"):
        personas.create_persona(engine, "Face", None, "Hi.", avatar_image=bomb, owner=LOCAL_OWNER)


def test_an_image_avatar_survives_export_and_import(engine: Engine) -> None:
    created = personas.create_persona(
        engine, "Face", None, "Hi.", avatar_image=png(), owner=LOCAL_OWNER
    )
    document = json.loads(personas.export_personas([created], engine))
    entry = document["personas"][0]
    assert entry["avatar"] == ""
    assert base64.b64decode(entry["avatar_image"])[:8] == b"\x89PNG\r\n\x1a\n"
    entry["name"] = "Face again"
    result = personas.import_personas(engine, json.dumps(document), owner=LOCAL_OWNER)
    assert result.problems == []
    assert result.imported[0].avatar == created.avatar


def test_a_stored_bad_avatar_falls_back_to_the_default(engine: Engine) -> None:
    from chatapp.storage import conversations as store
    from chatapp.storage.db import session_scope

    with session_scope(engine) as session:
        row = store.add_persona(
            session, owner=LOCAL_OWNER, name="Old", avatar="/etc/passwd", system_prompt="x"
        )
    shown = personas.get_persona(engine, row.id, owner=LOCAL_OWNER)
    assert shown is not None and shown.avatar == avatars.DEFAULT_AVATAR
    assert avatars.for_display(engine, "http://127.0.0.1:9/a.png") == avatars.DEFAULT_AVATAR
    assert avatars.for_display(engine, "img:000000000000") == avatars.DEFAULT_AVATAR


def test_a_personas_file_nested_too_deeply_is_refused_with_a_clear_message(engine: Engine) -> None:
    raw = "[" * 5000 + "]" * 5000
    result = personas.import_personas(engine, raw, owner=LOCAL_OWNER)
    assert result.imported == []
    assert "nested too deeply" in result.problems[0]
    assert "RecursionError" not in result.problems[0]

"""Personas: built-ins, the user's own (create, edit, duplicate, delete), JSON import/export.

A persona is a name, an avatar (one emoji or an uploaded image, see
:mod:`chatapp.services.avatars`), a system prompt and an optional default temperature.
Built-ins are seeded into the database on first use; they can be duplicated, not deleted.
Functions return :class:`PersonaInfo` snapshots, so callers never hold a database session.

Every function takes the current user's id as ``owner``: a person sees the built-ins (shared by
everyone, read-only for everyone) and their own personas; another user's persona id behaves
exactly like a missing one.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine

from chatapp.services import avatars
from chatapp.services.bounded_json import JSONLimitError, loads_bounded
from chatapp.storage import conversations as store
from chatapp.storage.db import session_scope
from chatapp.users import NO_OWNER

NAME_MAX = 80
AVATAR_MAX = 16
#: Deepest nesting a personas file may have (its real shape is three levels deep).
IMPORT_MAX_DEPTH = 20
PROMPT_MAX = 20_000
TEMPERATURE_RANGE = (0.0, 2.0)
EXPORT_FORMAT = "baseten-chat-personas"
DEFAULT_AVATAR = avatars.DEFAULT_AVATAR


@dataclass(frozen=True)
class PersonaInfo:
    """A persona as the rest of the app sees it."""

    id: int
    name: str
    avatar: str
    system_prompt: str
    temperature: float | None
    builtin: bool

    @property
    def label(self) -> str:
        """Avatar (as text) and name, for pickers; not Markdown-escaped."""
        return f"{avatars.text(self.avatar)} {self.name}"


@dataclass(frozen=True)
class BuiltinPersona:
    key: str
    name: str
    avatar: str
    system_prompt: str
    temperature: float | None = None


BUILTINS: tuple[BuiltinPersona, ...] = (
    BuiltinPersona(
        "assistant",
        "Helpful assistant",
        "🤖",
        "You are a helpful, precise assistant. Answer clearly and say when you are unsure.",
    ),
    BuiltinPersona("pirate", "Pirate", "🏴‍☠️", "You are a pirate with a colorful personality", 0.9),
    BuiltinPersona(
        "code_reviewer",
        "Code reviewer",
        "🧑‍💻",
        "You are a senior software engineer reviewing code. Point out bugs, risks and clearer "
        "alternatives, and show corrected code in fenced code blocks.",
        0.2,
    ),
    BuiltinPersona(
        "tutor",
        "Socratic tutor",
        "🎓",
        "You are a patient tutor. Guide the learner with questions and hints instead of giving "
        "the final answer straight away.",
        0.5,
    ),
    BuiltinPersona(
        "summarizer",
        "Concise summarizer",
        "📝",
        "You summarize whatever you are given in at most five short bullet points.",
        0.3,
    ),
    BuiltinPersona(
        "storyteller",
        "Storyteller",
        "✍️",
        "You are an imaginative storyteller who writes vivid, original short fiction.",
        1.1,
    ),
    BuiltinPersona(
        "translator",
        "Translator",
        "🌍",
        "You translate the user's text. If no target language is named, translate into English;"
        " keep formatting and do not add commentary.",
        0.2,
    ),
)


class PersonaError(ValueError):
    """A persona operation that cannot be done; the message says why and what to do."""


def _info(row: store.Persona) -> PersonaInfo:
    return PersonaInfo(
        id=row.id,
        name=row.name,
        avatar=avatars.safe_value(row.avatar),  # a bad value from an older version: default
        system_prompt=row.system_prompt,
        temperature=row.temperature,
        builtin=row.is_builtin,
    )


def ensure_builtins(engine: Engine) -> None:
    """Seed any missing built-in persona (idempotent, safe to call on every run)."""
    with session_scope(engine) as session:
        for builtin in BUILTINS:
            if store.get_persona_by_builtin_key(session, builtin.key) is None:
                store.add_persona(
                    session,
                    owner=NO_OWNER,
                    name=builtin.name,
                    avatar=builtin.avatar,
                    system_prompt=builtin.system_prompt,
                    temperature=builtin.temperature,
                    builtin_key=builtin.key,
                )


def list_personas(engine: Engine, *, owner: str) -> list[PersonaInfo]:
    """The personas ``owner`` can use: built-ins first, then their own by name."""
    ensure_builtins(engine)
    with session_scope(engine) as session:
        return [_info(p) for p in store.list_personas(session, owner)]


def get_persona(engine: Engine, persona_id: int | None, *, owner: str) -> PersonaInfo | None:
    """A built-in or one of ``owner``'s personas; None for a missing one or someone else's."""
    if persona_id is None:
        return None
    with session_scope(engine) as session:
        row = store.get_persona(session, persona_id, owner)
        return _info(row) if row else None


def default_persona(engine: Engine) -> PersonaInfo:
    """The persona a new conversation starts with: the helpful assistant."""
    ensure_builtins(engine)
    with session_scope(engine) as session:
        row = store.get_persona_by_builtin_key(session, BUILTINS[0].key)
        assert row is not None
        return _info(row)


def validate_fields(
    name: Any, avatar: Any, system_prompt: Any, temperature: Any
) -> tuple[dict[str, Any], list[str]]:
    """Clean persona fields; returns (fields, problems). No problems means the fields are good."""
    problems: list[str] = []
    clean_name = name.strip() if isinstance(name, str) else ""
    if not clean_name:
        problems.append("a name is required")
    elif len(clean_name) > NAME_MAX:
        problems.append(f"the name is longer than {NAME_MAX} characters")
    clean_avatar = DEFAULT_AVATAR
    if avatar is not None and not isinstance(avatar, str):
        problems.append("the avatar must be a single emoji (such as 🤖) or an uploaded image")
    else:
        try:
            clean_avatar = avatars.check(avatar)
        except avatars.AvatarError as exc:
            problems.append(str(exc))
    clean_prompt = system_prompt.strip() if isinstance(system_prompt, str) else None
    if not clean_prompt:
        problems.append("a system prompt is required")
    elif len(clean_prompt) > PROMPT_MAX:
        problems.append(f"the system prompt is longer than {PROMPT_MAX} characters")
    clean_temperature = _check_temperature(temperature, problems)
    fields = {
        "name": clean_name,
        "avatar": clean_avatar,
        "system_prompt": clean_prompt or "",
        "temperature": clean_temperature,
    }
    return fields, problems


def _check_temperature(value: Any, problems: list[str]) -> float | None:
    if value is None or value == "":
        return None
    low, high = TEMPERATURE_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"the temperature must be a number from {low:g} to {high:g}, or empty")
        return None
    if not low <= float(value) <= high:
        problems.append(f"the temperature must be from {low:g} to {high:g} (got {value:g})")
        return None
    return float(value)


def create_persona(
    engine: Engine,
    name: str,
    avatar: str | None,
    system_prompt: str,
    temperature: float | None = None,
    *,
    owner: str,
    avatar_image: bytes | None = None,
) -> PersonaInfo:
    """Create one of ``owner``'s own personas; raises :class:`PersonaError` on bad fields.

    ``avatar_image`` (an uploaded file's bytes) wins over ``avatar`` when given.
    """
    avatar = _uploaded_avatar(engine, avatar_image) or avatar
    fields, problems = validate_fields(name, avatar, system_prompt, temperature)
    if problems:
        raise PersonaError(_sentence(problems))
    with session_scope(engine) as session:
        return _info(store.add_persona(session, owner=owner, **fields))


def update_persona(
    engine: Engine,
    persona_id: int,
    name: str,
    avatar: str | None,
    system_prompt: str,
    temperature: float | None = None,
    *,
    owner: str,
    avatar_image: bytes | None = None,
) -> PersonaInfo:
    """Edit a persona ``owner`` made. Built-ins are read-only: duplicate them instead."""
    avatar = _uploaded_avatar(engine, avatar_image) or avatar
    fields, problems = validate_fields(name, avatar, system_prompt, temperature)
    if problems:
        raise PersonaError(_sentence(problems))
    with session_scope(engine) as session:
        row = _editable(session, persona_id, owner, "edited")
        for key, value in fields.items():
            setattr(row, key, value)
        session.flush()
        return _info(row)


def _uploaded_avatar(engine: Engine, image: bytes | None) -> str | None:
    if image is None:
        return None
    try:
        return avatars.store_image(engine, image)
    except avatars.AvatarError as exc:
        raise PersonaError(_sentence([str(exc)])) from exc


def duplicate_persona(engine: Engine, persona_id: int, *, owner: str) -> PersonaInfo:
    """Copy a built-in or one of ``owner``'s personas into a new one of theirs, named
    "... (copy)"."""
    with session_scope(engine) as session:
        row = store.get_persona(session, persona_id, owner)
        if row is None:
            raise PersonaError("That persona no longer exists; pick another one.")
        copy = store.add_persona(
            session,
            owner=owner,
            name=f"{row.name} (copy)"[:NAME_MAX],
            avatar=avatars.safe_value(row.avatar),
            system_prompt=row.system_prompt,
            temperature=row.temperature,
        )
        return _info(copy)


def delete_persona(engine: Engine, persona_id: int, *, owner: str) -> None:
    """Delete one of ``owner``'s personas; conversations using it keep its prompt snapshot."""
    with session_scope(engine) as session:
        session.delete(_editable(session, persona_id, owner, "deleted"))


def _editable(session: Any, persona_id: int, owner: str, verb: str) -> store.Persona:
    row = store.get_persona(session, persona_id, owner)
    if row is None:
        raise PersonaError("That persona no longer exists; pick another one.")
    if row.is_builtin:
        raise PersonaError(
            f"Built-in persona “{row.name}” cannot be {verb}; duplicate it and change the copy."
        )
    return row


def _sentence(problems: list[str]) -> str:
    text = "; ".join(problems)
    return text[0].upper() + text[1:] + "."


# --- import / export -----------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did: the personas added, and one message per entry that was not."""

    imported: list[PersonaInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def export_personas(personas: list[PersonaInfo], engine: Engine | None = None) -> str:
    """The given personas as a JSON document that :func:`import_personas` reads back.

    With ``engine``, an uploaded avatar travels along as ``avatar_image`` (base64 PNG).
    """
    entries = []
    for persona in personas:
        entry = {
            k: v
            for k, v in asdict(persona).items()
            if k in ("name", "avatar", "system_prompt", "temperature")
        }
        if avatars.is_image_token(persona.avatar):
            png = avatars.image_bytes(engine, persona.avatar) if engine is not None else None
            entry["avatar"] = "" if png else DEFAULT_AVATAR
            if png:
                entry["avatar_image"] = base64.b64encode(png).decode("ascii")
        entries.append(entry)
    return json.dumps(
        {"format": EXPORT_FORMAT, "version": 1, "personas": entries},
        ensure_ascii=False,
        indent=2,
    )


def import_personas(engine: Engine, raw: bytes | str, *, owner: str) -> ImportResult:
    """Add every valid entry of a JSON export to ``owner``'s personas; report each bad entry by
    number and name."""
    result = ImportResult()
    try:
        data = loads_bounded(raw, max_depth=IMPORT_MAX_DEPTH)
    except JSONLimitError as exc:
        result.problems.append(f"The file cannot be imported: {exc}. Nothing was imported.")
        return result
    entries = data.get("personas") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        result.problems.append(
            "Expected a list of personas (or an object with a “personas” list); "
            "nothing was imported."
        )
        return result
    with session_scope(engine) as session:
        existing = {(p.name, p.system_prompt) for p in store.list_personas(session, owner)}
        for number, entry in enumerate(entries, start=1):
            _import_entry(session, owner, number, entry, existing, result)
    return result


def _import_entry(
    session: Any,
    owner: str,
    number: int,
    entry: Any,
    existing: set[tuple[str, str]],
    result: ImportResult,
) -> None:
    if not isinstance(entry, dict):
        result.problems.append(f"Entry {number}: expected an object with name and system_prompt.")
        return
    avatar, avatar_problem = _imported_avatar(session, entry)
    fields, problems = validate_fields(
        entry.get("name"),
        avatar,
        entry.get("system_prompt"),
        entry.get("temperature"),
    )
    problems += [avatar_problem] if avatar_problem else []
    label = f"Entry {number}" + (f" (“{fields['name']}”)" if fields["name"] else "")
    if problems:
        result.problems.append(f"{label}: {'; '.join(problems)}; skipped.")
        return
    if (fields["name"], fields["system_prompt"]) in existing:
        result.problems.append(f"{label}: an identical persona already exists; skipped.")
        return
    existing.add((fields["name"], fields["system_prompt"]))
    result.imported.append(_info(store.add_persona(session, owner=owner, **fields)))


def _imported_avatar(session: Any, entry: dict[str, Any]) -> tuple[Any, str | None]:
    """The avatar an imported entry asks for, storing an ``avatar_image`` it carries."""
    avatar = entry.get("avatar")
    image = entry.get("avatar_image")
    if image is None:
        if isinstance(avatar, str) and avatars.is_image_token(avatar.strip()):
            return None, "an image avatar must come with its image (avatar_image)"
        return avatar, None
    if not isinstance(image, str) or len(image) > avatars.MAX_UPLOAD_BYTES * 4 // 3 + 4:
        return None, (
            f"the avatar image must be a base64 PNG, JPEG, GIF or WebP of at most "
            f"{avatars.MAX_UPLOAD_BYTES // 1024} KB"
        )
    try:
        return avatars.store_image_in(session, base64.b64decode(image, validate=True)), None
    except (binascii.Error, ValueError) as exc:
        detail = (
            str(exc)
            if isinstance(exc, avatars.AvatarError)
            else ("the avatar image is not valid base64")
        )
        return None, detail

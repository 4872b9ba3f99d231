"""Persona avatars: one emoji, or a small image the person uploaded, stored by the app.

An avatar value (the ``avatar`` column of personas, conversations and answers) is either a
single emoji grapheme (``"🤖"``, ``"🏴‍☠️"``, ``"🇫🇷"``) or ``"img:"`` plus the start of the
SHA-256 of an image kept in the ``chat_avatar_images`` table. Nothing else is accepted when a
persona is created, edited or imported; a value stored by an older version (a word, a file
path, a URL) is shown as :data:`DEFAULT_AVATAR`, so it can never make the server read a file
or a browser fetch a URL.

Uploaded images are checked for size and type, decoded by Pillow (with a pixel limit, so a
small file cannot expand into a huge bitmap), shrunk to :data:`IMAGE_SIDE` pixels and stored
as PNG: what is served is an image the app made, never the bytes that were uploaded.
"""

from __future__ import annotations

import hashlib
import io

import regex
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from chatapp.storage import conversations as store
from chatapp.storage.db import session_scope

DEFAULT_AVATAR = "🤖"
IMAGE_PREFIX = "img:"
IMAGE_TOKEN_HEX = 12
MAX_UPLOAD_BYTES = 512 * 1024
MAX_SOURCE_PIXELS = 4096 * 4096
IMAGE_SIDE = 128
IMAGE_TYPES = ("PNG", "JPEG", "GIF", "WEBP")
#: What stands for an image avatar where only text can go (pickers, buttons).
IMAGE_STAND_IN = "🖼️"

_FOUND: dict[tuple[str, str], bytes] = {}
_FOUND_MAX = 256
_ONE_GRAPHEME = regex.compile(r"\X")
_EMOJI_PART = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3")


class AvatarError(ValueError):
    """An avatar that cannot be used; the message says what would work."""


def is_emoji(value: str) -> bool:
    """True for exactly one emoji (one grapheme: skin tones, ZWJ sequences and flags count)."""
    return bool(_ONE_GRAPHEME.fullmatch(value)) and bool(_EMOJI_PART.search(value))


def is_image_token(value: str) -> bool:
    token = value[len(IMAGE_PREFIX) :]
    return (
        value.startswith(IMAGE_PREFIX)
        and len(token) == IMAGE_TOKEN_HEX
        and all(ch in "0123456789abcdef" for ch in token)
    )


def check(value: str | None) -> str:
    """A clean avatar value for a new or edited persona; raises :class:`AvatarError`.

    Empty means the default emoji. An image token is accepted as it is (the caller got it
    from :func:`store_image`); :func:`for_display` still falls back if it is unknown.
    """
    clean = (value or "").strip()
    if not clean:
        return DEFAULT_AVATAR
    if is_emoji(clean) or is_image_token(clean):
        return clean
    raise AvatarError(
        "the avatar must be a single emoji (such as 🤖) or an uploaded image; "
        "words, file paths and web addresses are not accepted"
    )


def safe_value(value: str | None) -> str:
    """A stored value as it may be shown: itself when valid, else the default emoji."""
    clean = (value or "").strip()
    return clean if is_emoji(clean) or is_image_token(clean) else DEFAULT_AVATAR


def text(value: str | None) -> str:
    """The avatar where only text fits: the emoji, or a frame for an uploaded image."""
    clean = safe_value(value)
    return IMAGE_STAND_IN if is_image_token(clean) else clean


# --- uploaded images ---------------------------------------------------------------------------


def store_image(engine: Engine, data: bytes) -> str:
    """Check, shrink and store an uploaded image; its avatar value (``img:...``)."""
    with session_scope(engine) as session:
        return store_image_in(session, data)


def store_image_in(session: Session, data: bytes) -> str:
    """:func:`store_image` inside the caller's transaction."""
    png = normalise_image(data)
    token = IMAGE_PREFIX + hashlib.sha256(png).hexdigest()[:IMAGE_TOKEN_HEX]
    store.put_avatar_image(session, token, png)
    return token


def normalise_image(data: bytes) -> bytes:
    """The upload as a PNG of at most :data:`IMAGE_SIDE` pixels a side; refuses bad input."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise AvatarError(
            f"the image is {len(data) // 1024} KB; avatars can be at most "
            f"{MAX_UPLOAD_BYTES // 1024} KB"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in IMAGE_TYPES:
                raise AvatarError("the avatar image must be a PNG, JPEG, GIF or WebP file")
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise AvatarError("the avatar image is too large; use one under 4096×4096 pixels")
            image.seek(0)
            frame = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, AvatarError):
            raise
        raise AvatarError(
            "the avatar file is not an image that can be read; use a PNG, JPEG, GIF or WebP file"
        ) from exc
    frame.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


def for_display(engine: Engine, value: str | None) -> str | bytes:
    """What ``st.chat_message(avatar=...)`` gets: an emoji, or the stored PNG's bytes."""
    clean = safe_value(value)
    if not is_image_token(clean):
        return clean
    png = _image(engine, clean)
    return png if png is not None else DEFAULT_AVATAR


def image_bytes(engine: Engine, value: str) -> bytes | None:
    """The stored PNG of an image avatar, or None."""
    return _image(engine, value) if is_image_token(value) else None


def _image(engine: Engine, token: str) -> bytes | None:
    # An image never changes under its token (the token is its hash): found ones are kept.
    key = (str(engine.url), token)
    if key not in _FOUND:
        found = _load(engine, token)
        if found is None:
            return None
        if len(_FOUND) >= _FOUND_MAX:
            _FOUND.pop(next(iter(_FOUND)))
        _FOUND[key] = found
    return _FOUND[key]


def _load(engine: Engine, token: str) -> bytes | None:
    with session_scope(engine) as session:
        return store.get_avatar_image(session, token)

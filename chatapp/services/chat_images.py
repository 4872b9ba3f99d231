"""Images in chat: checked when attached, stored with the question, sent as ``ImageBlock``s.

A person may attach up to :data:`MAX_IMAGES` images of at most :data:`MAX_IMAGE_BYTES` each to
a question, when the target takes images (Model APIs: the catalog's input modalities;
dedicated: the person's setting). Each file is checked by its content, not its name: it must
open as PNG, JPEG, GIF or WebP and have at most :data:`MAX_PIXELS` pixels; anything else is
refused with a message that names the file and the rule. The bytes are stored by the app
(``chat_message_images``) and go to the model as LlamaIndex ``ImageBlock``s, which the client
sends as OpenAI ``image_url`` parts holding ``data:`` URLs. A later turn to a model without
image input sends the question's text with a note instead of its images.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ContentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from chatapp.services.conversations import MessageInfo
from chatapp.storage import conversations as store
from chatapp.storage.db import session_scope
from chatapp.storage.images import MessageImage

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES = 4
MAX_PIXELS = 40_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
FILE_TYPES = ["png", "jpg", "jpeg", "gif", "webp"]
OMITTED_NOTE = "[{count} image(s) left out: this model does not take images]"


class ImageRefused(ValueError):
    """An attachment this app will not send; the message is for the person."""


@dataclass(frozen=True)
class ChatImage:
    name: str
    mime: str
    width: int
    height: int
    data: bytes

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def caption(self) -> str:
        return f"{self.name} · {self.width}×{self.height}"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_image(name: str, data: bytes) -> ChatImage:
    """The image, or :class:`ImageRefused` saying why it cannot be sent."""
    from PIL import Image

    shown = name or "The file"
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(
            f"{shown} is {_mib(len(data))}; images can be at most "
            f"{_mib(MAX_IMAGE_BYTES)}. Send a smaller or compressed copy."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, width, height = image.format, image.width, image.height
                if width * height > MAX_PIXELS:
                    raise ImageRefused(
                        f"{shown} has {width}×{height} pixels, more than this "
                        "app sends; send a smaller copy."
                    )
                image.verify()
    except ImageRefused:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise ImageRefused(
            f"{shown} is not an image this app can send: PNG, JPEG, GIF or WebP only."
        ) from exc
    if kind not in FORMATS:
        raise ImageRefused(f"{shown} is a {kind} image; send PNG, JPEG, GIF or WebP.")
    return ChatImage(name, FORMATS[kind], width, height, data)


def check_images(files: Sequence[tuple[str, bytes]]) -> list[ChatImage]:
    """Every attachment checked; the first problem is raised for all of them."""
    if len(files) > MAX_IMAGES:
        raise ImageRefused(f"{len(files)} images attached; at most {MAX_IMAGES} per question.")
    return [check_image(name, data) for name, data in files]


def split_submission(value: Any) -> tuple[str | None, list[Any]]:
    """(text, files) of a chat input's value: a string, or text and files when it accepts
    files."""
    if value is None or isinstance(value, str):
        return value, []
    return getattr(value, "text", None), list(getattr(value, "files", None) or [])


def save_images(
    engine: Engine, message_id: int, images: Sequence[ChatImage], *, owner: str
) -> None:
    """Store the images attached to a question of one of ``owner``'s conversations."""
    if not images:
        return
    with session_scope(engine) as session:
        if store.get_message(session, message_id, owner) is None:
            raise ValueError("That question no longer exists; its images were not kept.")
        for position, image in enumerate(images):
            session.add(
                MessageImage(
                    message_id=message_id,
                    position=position,
                    name=image.name,
                    mime=image.mime,
                    width=image.width,
                    height=image.height,
                    data=image.data,
                )
            )


def images_by_message(
    engine: Engine, message_ids: Iterable[int], *, owner: str
) -> dict[int, list[ChatImage]]:
    """The images attached to these messages, by message id; only messages of ``owner``'s
    conversations are looked at."""
    ids = list(message_ids)
    if not ids:
        return {}
    found: dict[int, list[ChatImage]] = {}
    with session_scope(engine) as session:
        rows = session.scalars(
            select(MessageImage)
            .join(store.Message, MessageImage.message_id == store.Message.id)
            .join(store.Conversation, store.Message.conversation_id == store.Conversation.id)
            .where(MessageImage.message_id.in_(ids), store.Conversation.owner == owner)
            .order_by(MessageImage.message_id, MessageImage.position)
        )
        for row in rows:
            found.setdefault(row.message_id, []).append(
                ChatImage(row.name, row.mime, row.width, row.height, row.data)
            )
    return found


def request_history(
    messages: Sequence[MessageInfo], images: dict[int, list[ChatImage]], *, send_images: bool
) -> list[ChatMessage]:
    """The conversation for the model (as ``conversations.request_history``), each question
    with its images as ``ImageBlock``s, or a note in their place when ``send_images`` is off."""
    history: list[ChatMessage] = []
    for message in messages:
        attached = images.get(message.id, [])
        if message.role == "user" and attached and send_images:
            blocks: list[ContentBlock] = [TextBlock(text=message.content)]
            blocks += [ImageBlock(image=i.data, image_mimetype=i.mime) for i in attached]
            history.append(ChatMessage(role=MessageRole.USER, blocks=blocks))
        elif message.role == "user":
            note = f"\n\n{OMITTED_NOTE.format(count=len(attached))}" if attached else ""
            history.append(ChatMessage(role=MessageRole.USER, content=message.content + note))
        elif message.role == "assistant" and message.content.strip():
            history.append(ChatMessage(role=MessageRole.ASSISTANT, content=message.content))
    return history

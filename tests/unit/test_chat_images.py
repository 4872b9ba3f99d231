"""Images in chat: checked by content, stored with the question, sent as image blocks, exported."""

from __future__ import annotations

import io
import json

import pytest
from llama_index.core.base.llms.types import ImageBlock
from PIL import Image

from baseten_llm.chat import messages_to_dicts
from chatapp.services import chat_images, export
from chatapp.services import conversations as convs
from chatapp.services.chat_images import ImageRefused
from chatapp.users import LOCAL_OWNER


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_a_png_is_accepted_with_its_type_and_size_read_from_its_content():
    image = chat_images.check_image("photo.jpg", picture("PNG"))  # the name does not decide
    assert (image.mime, image.width, image.height) == ("image/png", 8, 6)
    assert image.data_url.startswith("data:image/png;base64,iVBOR")


@pytest.mark.parametrize(
    "name,data,message",
    [
        (
            "notes.png",
            b"this is text, not a picture",
            "notes.png is not an image this app can send: PNG, JPEG, GIF or WebP only.",
        ),
        ("scan.bmp", picture("BMP"), "scan.bmp is a BMP image; send PNG, JPEG, GIF or WebP."),
    ],
)
def test_files_that_are_not_supported_images_are_refused_with_a_clear_message(name, data, message):
    with pytest.raises(ImageRefused) as refused:
        chat_images.check_image(name, data)
    assert str(refused.value) == message


def test_a_file_over_the_size_limit_and_too_many_images_are_refused(monkeypatch):
    monkeypatch.setattr(chat_images, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(ImageRefused, match=r"big.png is 0.0 MiB; images can be at most"):
        chat_images.check_image("big.png", picture(size=(64, 64)))
    with pytest.raises(ImageRefused, match="at most 4 per question"):
        chat_images.check_images([("a.png", b"")] * 5)


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(chat_images, "MAX_PIXELS", 100)
    with pytest.raises(ImageRefused, match="has 20×20 pixels"):
        chat_images.check_image("wide.png", picture(size=(20, 20)))


def test_images_are_stored_with_the_question_sent_as_image_parts_and_exported(engine):
    conversation = convs.create_conversation(engine, None, owner=LOCAL_OWNER)
    question = convs.add_user_message(
        engine, conversation.id, "What colour is this?", owner=LOCAL_OWNER
    )
    chat_images.save_images(
        engine, question.id, [chat_images.check_image("c.png", picture())], owner=LOCAL_OWNER
    )
    messages = convs.list_messages(engine, conversation.id, owner=LOCAL_OWNER)
    attached = chat_images.images_by_message(engine, [question.id], owner=LOCAL_OWNER)
    history = chat_images.request_history(messages, attached, send_images=True)
    assert isinstance(history[0].blocks[1], ImageBlock)
    parts = messages_to_dicts(history)[0]["content"]
    assert parts[0] == {"type": "text", "text": "What colour is this?"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    text_only = chat_images.request_history(messages, attached, send_images=False)
    assert text_only[0].content.endswith("[1 image(s) left out: this model does not take images]")
    document = json.loads(export.to_json(conversation, messages, images=attached))
    assert document["messages"][0]["images"][0]["data_url"].startswith("data:image/png")
    assert "](data:image/png;base64," in export.to_markdown(conversation, messages, images=attached)
    convs.delete_conversation(engine, conversation.id, owner=LOCAL_OWNER)
    assert chat_images.images_by_message(engine, [question.id], owner=LOCAL_OWNER) == {}

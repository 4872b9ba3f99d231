"""Export a conversation as Markdown or JSON, and the one-line metrics summary of an answer.

Exports hold the title, the persona (and, where it changed, the persona of each answer),
every message with its status, error and metrics, and which target answered; they say at the
top when answers came from the offline demo. Never an API key (none is stored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from chatapp.services import avatars
from chatapp.services.chat import ReplyMetrics
from chatapp.services.conversations import ConversationInfo, MessageInfo
from chatapp.targets import Target

EXPORT_FORMAT = "baseten-chat-conversation"


def target_label(target: dict[str, Any] | None) -> str:
    """``Model API · slug`` or ``Dedicated · id · production`` for a stored target record."""
    if not target:
        return ""
    return target.get("label") or Target.from_dict(target).label


def metrics_line(metrics: ReplyMetrics | None, target: dict[str, Any] | None = None) -> str:
    """E.g. ``Model API · m · first token 0.21 s · 35.2 tokens/s · 12 in · 24 out · 0.90 s``."""
    parts: list[str] = []
    label = target_label(target)
    if label:
        parts.append(label)
    if metrics is None or (metrics.ttft_s is None and not metrics.tokens_out):
        return " · ".join(parts)  # nothing arrived: no figures to show, not a line of zeros
    if metrics.ttft_s is not None:
        parts.append(f"first token {metrics.ttft_s:.2f} s")
    if metrics.tokens_per_s is not None:
        parts.append(f"{metrics.tokens_per_s:.1f} tokens/s")
    approx = "~" if metrics.estimated else ""
    parts.append(f"{approx}{metrics.tokens_in} tokens in")
    parts.append(f"{approx}{metrics.tokens_out} tokens out")
    parts.append(f"total {metrics.total_s:.2f} s")
    if metrics.estimated:
        parts.append("token counts estimated")
    return " · ".join(parts)


def filename(conversation: ConversationInfo, extension: str) -> str:
    """A safe download name from the title, e.g. ``what-is-rust.md``."""
    stem = re.sub(r"[^a-z0-9]+", "-", conversation.title.lower()).strip("-")[:50]
    return f"{stem or 'conversation'}.{extension}"


def is_demo_answer(message: MessageInfo) -> bool:
    """True for an answer written by the offline demo (the bundled emulator), not a model."""
    target = message.target or {}
    return message.role == "assistant" and bool(
        target.get("demo") or "offline demo" in str(target.get("label") or "")
    )


def demo_notice(messages: list[MessageInfo]) -> str | None:
    """The sentence that heads an export holding offline-demo answers, else None."""
    answers = [m for m in messages if m.role == "assistant"]
    demo = sum(1 for m in answers if is_demo_answer(m))
    if not demo:
        return None
    which = "Every answer" if demo == len(answers) else f"{demo} of {len(answers)} answers"
    return (
        f"Offline demo: {which} in this conversation came from the bundled Baseten "
        "emulator (a stand-in that echoes the question), not from a model."
    )


def _persona(conversation: ConversationInfo) -> tuple[str, str, str]:
    return (conversation.persona_name, conversation.persona_avatar, conversation.system_prompt)


def _persona_lines(persona: tuple[str, str, str], lead: str) -> list[str]:
    name, avatar, prompt = persona
    lines = [f"{lead}{avatars.text(avatar)} {name}".rstrip(), ""] if name else []
    if prompt:
        lines += ["> System prompt: " + prompt.replace("\n", "\n> "), ""]
    return lines


def _first_persona(
    conversation: ConversationInfo, messages: list[MessageInfo]
) -> tuple[str, str, str]:
    """The persona of the first answer that recorded one, else the conversation's."""
    return next((m.persona_key for m in messages if m.persona_key), None) or _persona(conversation)


def to_markdown(
    conversation: ConversationInfo,
    messages: list[MessageInfo],
    images: Mapping[int, list[Any]] | None = None,
) -> str:
    """The conversation as a readable Markdown document; attached images (``images``: message
    id -> :class:`chatapp.services.chat_images.ChatImage`) are embedded as ``data:`` URLs.

    The header names the persona the conversation started with; an answer made with another
    persona than the answer before it says so, with that persona's system prompt.
    """
    lines = [f"# {conversation.title}", ""]
    notice = demo_notice(messages)
    if notice:
        lines += [f"> **{notice}**", ""]
    persona = _first_persona(conversation, messages)
    lines += _persona_lines(persona, "Persona: ")
    for message in messages:
        key = message.persona_key
        changed = key is not None and key != persona
        lines += _markdown_message(
            message, _persona_lines(key, "Persona changed to: ") if changed and key else []
        )
        persona = key or persona
        for image in (images or {}).get(message.id, []):
            alt = re.sub(r"[\[\]\\]", "", image.caption)
            lines += [f"![{alt}]({image.data_url})", ""]
    if _persona(conversation) != persona and messages:
        lines += _persona_lines(_persona(conversation), "Persona for the next answer: ")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_message(message: MessageInfo, persona_lines: list[str] | None = None) -> list[str]:
    heading = "## You" if message.role == "user" else "## Assistant"
    lines = [heading, ""] + (persona_lines or [])
    if message.reasoning:
        lines += [
            "<details><summary>Thinking</summary>",
            "",
            message.reasoning,
            "",
            "</details>",
            "",
        ]
    lines += [message.content or "_(no text)_", ""]
    if message.status == "stopped":
        lines += ["_(stopped before the end)_", ""]
    if message.status == "interrupted":
        lines += ["_(interrupted: the app stopped while writing this answer)_", ""]
    if message.error:
        lines += [f"**Error:** {message.error}", ""]
    if message.role == "assistant":
        summary = metrics_line(message.reply_metrics, message.target)
        if summary:
            lines += [f"_{summary}_", ""]
    return lines


def to_json(
    conversation: ConversationInfo,
    messages: list[MessageInfo],
    images: Mapping[int, list[Any]] | None = None,
) -> str:
    """The conversation as JSON, with every message's status, error, metrics and target, and
    attached images as ``data:`` URLs."""
    document = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "title": conversation.title,
        "created_at": conversation.created_at.isoformat(),
        "offline_demo": demo_notice(messages),
        # the persona the conversation started with; each answer carries its own below
        "persona": _persona_json(_first_persona(conversation, messages)),
        "next_answer_persona": _persona_json(_persona(conversation)),
        "messages": [_message_json(m, (images or {}).get(m.id)) for m in messages],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _persona_json(persona: tuple[str, str, str] | None) -> dict[str, str] | None:
    if persona is None:
        return None
    name, avatar, prompt = persona
    return {"name": name, "avatar": avatars.text(avatar), "system_prompt": prompt}


def _message_json(message: MessageInfo, images: list[Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "role": message.role,
        "content": message.content,
        "reasoning": message.reasoning,
        "status": message.status,
        "error": message.error,
        "metrics": message.metrics,
        "target": message.target,
    }
    if message.role == "assistant":
        entry["persona"] = _persona_json(message.persona_key)
        entry["offline_demo"] = is_demo_answer(message)
    if images:
        entry["images"] = [
            {"name": i.name, "width": i.width, "height": i.height, "data_url": i.data_url}
            for i in images
        ]
    return entry

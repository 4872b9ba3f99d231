"""Export a conversation as Markdown or JSON, and the one-line metrics summary of an answer.

Exports hold the title, the persona, every message with its status, error and metrics, and
which target answered; never an API key (none is stored).
"""

from __future__ import annotations

import json
import re
from typing import Any

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


def to_markdown(conversation: ConversationInfo, messages: list[MessageInfo]) -> str:
    """The conversation as a readable Markdown document."""
    lines = [f"# {conversation.title}", ""]
    if conversation.persona_name:
        lines += [f"Persona: {conversation.persona_avatar} {conversation.persona_name}", ""]
    if conversation.system_prompt:
        lines += ["> System prompt: " + conversation.system_prompt.replace("\n", "\n> "), ""]
    for message in messages:
        lines += _markdown_message(message)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_message(message: MessageInfo) -> list[str]:
    heading = "## You" if message.role == "user" else "## Assistant"
    lines = [heading, ""]
    if message.reasoning:
        lines += ["<details><summary>Thinking</summary>", "", message.reasoning, "",
                  "</details>", ""]
    lines += [message.content or "_(no text)_", ""]
    if message.status == "stopped":
        lines += ["_(stopped before the end)_", ""]
    if message.error:
        lines += [f"**Error:** {message.error}", ""]
    if message.role == "assistant":
        summary = metrics_line(message.reply_metrics, message.target)
        if summary:
            lines += [f"_{summary}_", ""]
    return lines


def to_json(conversation: ConversationInfo, messages: list[MessageInfo]) -> str:
    """The conversation as JSON, with every message's status, error, metrics and target."""
    document = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "title": conversation.title,
        "created_at": conversation.created_at.isoformat(),
        "persona": {
            "name": conversation.persona_name,
            "avatar": conversation.persona_avatar,
            "system_prompt": conversation.system_prompt,
        },
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                "reasoning": m.reasoning,
                "status": m.status,
                "error": m.error,
                "metrics": m.metrics,
                "target": m.target,
            }
            for m in messages
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)

"""Cost and prompt-cache share of chat answers, for the line under each answer and the
conversation's total. Prices come from :mod:`chatapp.ui.pricing_ui` (yours, Baseten's list,
the dated table); the target is the one stored with each answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chatapp import state
from chatapp.services import pricing
from chatapp.services.conversations import MessageInfo
from chatapp.services.pricing import Cost
from chatapp.targets import Target
from chatapp.ui import pricing_ui


def model_rows() -> Mapping[str, Any]:
    """The catalog rows (cached by the library per base URL after the first load)."""
    catalog = state.model_catalog()
    return {row.id: row for row in catalog.rows}


def answer_cost(message: MessageInfo, rows: Mapping[str, Any] | None = None) -> Cost | None:
    metrics = message.reply_metrics
    if message.role != "assistant" or not message.target or metrics is None:
        return None
    if metrics.ttft_s is None and not metrics.tokens_out:
        return None  # nothing arrived, nothing billed that we could know of
    target = Target.from_dict(message.target)
    price = pricing_ui.price_of(target, model_rows() if rows is None else rows)
    return pricing.answer_cost(price, metrics)


def cost_line(message: MessageInfo, rows: Mapping[str, Any] | None = None) -> str:
    """``cost $0.000412 · 62% of input cached, saved $0.000120`` (empty for user messages)."""
    if message.role != "assistant" or message.reply_metrics is None:
        return ""
    cost = answer_cost(message, rows)
    if cost is None:
        return "cost unknown: set a price under 💲 Prices"
    return f"cost {pricing.describe(cost)}"


def conversation_total(history: Iterable[MessageInfo]) -> str | None:
    rows = model_rows()
    total = pricing.total(answer_cost(m, rows) for m in history)
    if total is None:
        return None
    return f"Conversation so far: {pricing.describe(total)} over {total.answers} answer{'' if total.answers == 1 else 's'}."

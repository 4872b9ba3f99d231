"""The Compare page's "Capabilities" tab: "Check this model" on any target.

Widget keys: the target picker's ``cap_<name>`` keys, ``cap_vision`` (dedicated: the
deployment takes images), ``cap_run``, ``cap_download_md``, ``cap_download_json``. Results are
kept per target for the session (``compare`` page value ``capabilities``: label -> report),
so switching back to a checked target shows its last check without sending anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from baseten_llm.errors import BasetenError
from chatapp import state
from chatapp.services import capabilities, pricing, user_errors
from chatapp.services.capabilities import CapabilityReport, ProbeContext
from chatapp.services.pricing import TokenPrice
from chatapp.targets import Target
from chatapp.ui import pricing_ui
from chatapp.ui.target_picker import pick_target


def dedicated_accepts_images(model_id: str) -> bool:
    """The person's setting: this dedicated model takes images (shared with the chat page)."""
    return model_id in state.shared_choices().dedicated_images


def set_dedicated_accepts_images(model_id: str, accepts: bool) -> None:
    chosen = state.shared_choices().dedicated_images
    (chosen.add if accepts else chosen.discard)(model_id)


def accepts_images(target: Target, model_rows: Mapping[str, Any]) -> bool:
    """Model APIs: the catalog's input modalities; dedicated: the person's setting."""
    if target.is_dedicated:
        return dedicated_accepts_images(target.model)
    row = model_rows.get(target.model)
    return bool(row is not None and getattr(row, "accepts_images", False))


def _context_window(target: Target, llm: Any, model_rows: Mapping[str, Any]) -> int | None:
    if not target.is_dedicated:
        row = model_rows.get(target.model)
        return getattr(row, "context_length", None)
    if target.api_style == "predict":
        return None
    try:
        return capabilities.deployment_context_window(llm)
    except (BasetenError, ValueError, TypeError, AttributeError):
        return None


def _cost_note(target: Target, model_rows: Mapping[str, Any]) -> str:
    row = model_rows.get(target.model)
    tokens = capabilities.context_probe_tokens(getattr(row, "context_length", None))
    price = pricing_ui.price_of(target, model_rows)
    if not tokens or not isinstance(price, TokenPrice):
        return (
            "The context-window check sends a prompt close to the model's limit; it is the "
            "one check that costs more than a few tokens."
        )
    cost = pricing.token_cost(price, tokens, 8, 0).total
    return (
        f"The context-window check sends about {tokens:,} tokens "
        f"(about {pricing.format_usd(cost)} at {price.label})."
    )


def run_check(target: Target, model_rows: Mapping[str, Any], table: Any) -> CapabilityReport:
    llm = state.llm(target_override=target, max_retries=0)
    host = user_errors.host_of(
        state.config().deployment_url if target.is_dedicated else state.config().model_apis_url
    )
    ctx = ProbeContext(
        llm,
        _context_window(target, llm, model_rows),
        accepts_images(target, model_rows),
        lambda exc: capabilities.describe_failure(exc, host),
    )
    report = CapabilityReport(target)
    for result in capabilities.run_checks(target, ctx):
        report.results.append(result)
        table.table(pd.DataFrame(report.rows()))
    return report


def draw_report(report: CapabilityReport) -> None:
    st.markdown(f"**{report.summary()}** Checked {report.checked_at:%Y-%m-%d %H:%M:%S} UTC.")
    st.table(pd.DataFrame(report.rows()).set_index("Check"))
    md_col, json_col, _ = st.columns([1, 1, 3])
    name = f"capabilities-{report.checked_at:%Y%m%d-%H%M%S}"
    md_col.download_button(
        "⬇ Markdown",
        report.to_markdown(),
        file_name=f"{name}.md",
        mime="text/markdown",
        key="cap_download_md",
        on_click="ignore",
    )
    json_col.download_button(
        "⬇ JSON",
        report.to_json(),
        file_name=f"{name}.json",
        mime="application/json",
        key="cap_download_json",
        on_click="ignore",
    )


def draw_tab(model_rows: Mapping[str, Any]) -> None:
    st.caption(
        "Can this model do what the demo needs? A fixed set of short probes: "
        "streaming, usage, tools, JSON schema, reasoning on/off, an image (if it takes "
        "images) and a prompt near its context limit."
    )
    page = state.compare_page()
    current = page.cap_target or state.target()
    target = pick_target(current, model_rows, key=lambda n: f"cap_{n}", where="above")
    page.cap_target = target
    if target.is_dedicated and not target.problem():
        vision = st.checkbox(
            "This deployment takes images",
            key="cap_vision",
            value=dedicated_accepts_images(target.model),
        )
        set_dedicated_accepts_images(target.model, vision)
    st.caption(_cost_note(target, model_rows))
    reports = page.capabilities
    clicked = st.button(
        "🔎 Check this model", key="cap_run", type="primary", disabled=bool(target.problem())
    )
    table = st.empty()
    if clicked:
        reports[target.label] = run_check(target, model_rows, table)
        table.empty()
    if target.label in reports:
        draw_report(reports[target.label])

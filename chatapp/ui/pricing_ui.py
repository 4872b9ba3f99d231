"""Prices in effect for a target, and the widgets a person uses to set their own.

The prices a person entered live in session state (``pricing`` page values) as one
:class:`chatapp.services.pricing.PriceSettings`, shared by every page. Widget keys come from
``key_prefix``: ``<prefix>_own``, ``<prefix>_input``, ``<prefix>_output``, ``<prefix>_cached``
(Model APIs) and ``<prefix>_gpu_hour`` (dedicated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from chatapp import state
from chatapp.services import pricing
from chatapp.services.pricing import Price, PriceSettings, TokenPrice
from chatapp.targets import Target


def settings() -> PriceSettings:
    choices = state.shared_choices()
    if choices.prices is None:
        choices.prices = PriceSettings()
    return choices.prices


def price_of(target: Target, model_rows: Mapping[str, Any]) -> Price | None:
    """The price in effect for ``target`` (yours, Baseten's list, the dated table)."""
    row = model_rows.get(target.model)
    return pricing.price_for(
        target.model,
        dedicated=target.is_dedicated,
        catalog_pricing=getattr(row, "pricing", None),
        settings=settings(),
    )


def price_editor(target: Target, model_rows: Mapping[str, Any], key_prefix: str) -> None:
    """The price in use for ``target`` and the widgets to set your own."""
    mine = settings()
    if target.is_dedicated:
        if not target.model:
            return
        per_hour = st.number_input(
            f"Price per GPU-hour for {target.model} (USD)",
            min_value=0.0,
            step=0.5,
            value=float(mine.gpu_hour.get(target.model, 0.0)),
            key=f"{key_prefix}_gpu_hour",
            help="What the deployment's instance costs per hour (all its GPUs), from your "
            "Baseten plan. Each answer is charged its share of the measured time.",
        )
        if per_hour > 0:
            mine.gpu_hour[target.model] = float(per_hour)
        else:
            mine.gpu_hour.pop(target.model, None)
            st.caption("No GPU price set: answers from this deployment show no cost.")
        return
    price = price_of(target, model_rows)
    st.caption(
        f"{target.model}: {price.label}"
        if price
        else f"{target.model}: no price known; set your own."
    )
    own = st.checkbox(
        "Use my own price", value=target.model in mine.token_prices, key=f"{key_prefix}_own"
    )
    if not own:
        mine.token_prices.pop(target.model, None)
        return
    base = price or TokenPrice(0.0, 0.0)
    cols = st.columns(3)
    values = [
        col.number_input(
            label,
            min_value=0.0,
            step=0.05,
            format="%.3f",
            value=float(v),
            key=f"{key_prefix}_{name}",
        )
        for col, label, name, v in zip(
            cols,
            ("Input $/M tokens", "Output $/M tokens", "Cached input $/M tokens"),
            ("input", "output", "cached"),
            (
                base.input,
                base.output,
                base.input if base.cached_input is None else base.cached_input,
            ),
        )
    ]
    mine.token_prices[target.model] = TokenPrice(values[0], values[1], values[2], "yours")

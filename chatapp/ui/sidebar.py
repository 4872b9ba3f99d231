"""The connection part of the sidebar, shared by every page.

It chooses where requests go (Model APIs or a dedicated deployment), which key they carry and
with which generation settings. Every choice is written to :mod:`chatapp.state` on each run,
so the next message on any page uses it without a restart.

Widget keys (tests address them): ``sb_api_key``, ``sb_demo_start``, ``sb_demo_stop``,
``sb_kind``, ``sb_model_api``, ``sb_model_id``, ``sb_scope``, ``sb_environment``,
``sb_deployment_id``, ``sb_api_style``, ``sb_wake``, ``sb_test_connection``,
``sb_temperature_default``, ``sb_temperature``, ``sb_max_tokens``, ``sb_reasoning_effort``,
``sb_thinking``.
"""

from __future__ import annotations

import time

import streamlit as st

from chatapp import state
from chatapp.services import user_errors
from chatapp.services.catalog import CatalogRow
from chatapp.targets import GenerationSettings, Target
from chatapp.ui.target_picker import pick_target

REASONING_EFFORTS = ["", "low", "medium", "high"]
KEY_SOURCE_TEXT = {
    "secrets": "API key loaded from `.streamlit/secrets.toml` (`BASETEN_API_KEY`).",
    "environment": "API key loaded from the `BASETEN_API_KEY` environment variable.",
}
#: Whose key is in use, with sign-in (the server's key is shared only when the settings say so).
SHARED_KEY_TEXT = "Using the team's shared key, set up by whoever runs this app."
OWN_KEY_TEXT = "Using your key, this session only."


def render_connection() -> None:
    """Draw the connection, target and generation sections and store the choices."""
    _api_key_section()
    st.divider()
    target = _target_section()
    problem = target.problem()
    if problem is None:
        state.set_target(target)  # an unusable target is never adopted
    state.set_target_problem(problem)
    _actions_section(target, problem)
    with st.expander("Generation settings", expanded=False):
        state.set_generation(_generation_section())


# --- API key and offline demo ----------------------------------------------------------


def _api_key_section() -> None:
    if state.demo_active():
        st.info("**Offline demo.** Replies come from the bundled Baseten emulator, not a model.")
        if st.button("Leave the offline demo", key="sb_demo_stop", width="stretch"):
            state.set_demo_active(False)
            st.rerun()
        return
    cfg = state.config()
    if cfg.api_key and cfg.api_key_source in KEY_SOURCE_TEXT:
        text = SHARED_KEY_TEXT if cfg.sign_in else KEY_SOURCE_TEXT[cfg.api_key_source]
        st.caption("🔑 " + text)
        return
    typed = st.text_input(
        "Baseten API key",
        type="password",
        key="sb_api_key",
        placeholder="Paste your API key",
        help="Kept in this browser session only: never stored, logged or shown.",
    )
    state.set_sidebar_api_key(typed)
    if typed:
        st.caption("🔑 " + OWN_KEY_TEXT)
    elif cfg.sign_in:
        st.caption(
            "No API key yet. Create one in Baseten under **Settings → API keys** and paste it "
            "here: it is used for your requests only, in this browser session only."
        )
    else:
        st.caption(
            "No API key yet. Create one in Baseten under **Settings → API keys**, then paste "
            "it here or set `BASETEN_API_KEY` (environment or `.streamlit/secrets.toml`)."
        )
    if not typed and st.button("Try the offline demo", key="sb_demo_start", width="stretch"):
        state.set_demo_active(True)
        st.rerun()


# --- target ------------------------------------------------------------------------------


def _target_section() -> Target:
    """The shared target picker, with the sidebar's keys (``sb_kind``, ``sb_model_id`` ...)."""
    catalog = state.model_catalog()
    rows: dict[str, CatalogRow] = {row.id: row for row in catalog.rows}
    target = pick_target(state.target(), rows, key=lambda name: f"sb_{name}")
    if catalog.note and not target.is_dedicated:
        st.caption(catalog.note)
    return target


# --- actions -------------------------------------------------------------------------------


def _actions_section(target: Target, problem: str | None) -> None:
    if problem:  # the picker shows the reason under the inputs
        st.caption("Current target: none yet: sending is off until the id above is valid.")
        return
    st.caption(f"Current target: **{target.label}**")
    columns = st.columns(2 if target.is_dedicated else 1)
    if columns[0].button("Test connection", key="sb_test_connection", width="stretch"):
        _test_connection(target)
    if target.is_dedicated and columns[1].button("Wake", key="sb_wake", width="stretch"):
        _wake(target)


def _test_connection(target: Target) -> None:
    from baseten_llm.errors import BasetenError

    started = time.perf_counter()
    try:
        state.llm(target, max_tokens=1).complete("ping", max_tokens=1)
    except BasetenError as exc:
        st.error("Connection failed. " + user_errors.describe(exc, context="connection"))
        return
    st.success(f"Connected to {target.label} in {(time.perf_counter() - started) * 1000:.0f} ms.")


def _wake(target: Target) -> None:
    from baseten_llm.errors import BasetenError

    try:
        state.llm(target).wake()
    except BasetenError as exc:
        st.error("Wake failed. " + user_errors.describe(exc, context="wake"))
        return
    st.success("Wake request accepted: the deployment is scaling up.")


# --- generation settings ---------------------------------------------------------------------


def _generation_section() -> GenerationSettings:
    current = state.generation()
    use_default = st.checkbox(
        "Model's default temperature",
        value=current.temperature is None,
        key="sb_temperature_default",
        help="A persona's own temperature applies when this is on.",
    )
    temperature = None
    if not use_default:
        temperature = st.slider(
            "Temperature",
            0.0,
            2.0,
            value=current.temperature if current.temperature is not None else 0.7,
            step=0.05,
            key="sb_temperature",
        )
    max_tokens = st.number_input(
        "Max tokens",
        min_value=1,
        max_value=262_144,
        value=current.max_tokens or 1024,
        step=64,
        key="sb_max_tokens",
    )
    effort = st.selectbox(
        "Reasoning effort",
        options=REASONING_EFFORTS,
        index=REASONING_EFFORTS.index(current.reasoning_effort or ""),
        format_func=lambda v: v or "Model's default",
        key="sb_reasoning_effort",
        help="For reasoning models that accept it (e.g. gpt-oss-120b, DeepSeek V4 Pro).",
    )
    thinking = st.checkbox(
        "Enable thinking (Kimi, GLM)",
        value=bool(current.enable_thinking),
        key="sb_thinking",
        help="Sends chat_template_args.enable_thinking for models where thinking is opt-in.",
    )
    return GenerationSettings(
        temperature=temperature,
        max_tokens=int(max_tokens),
        reasoning_effort=effort or None,
        enable_thinking=True if thinking else None,
    )

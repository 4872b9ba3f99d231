"""Compare: one prompt, two or three targets streaming side by side, with p50/p95 figures.

Each side streams in its own worker thread (``chatapp.services.compare``); this script thread
drains their events and redraws one placeholder per column. The last comparison is kept in
session state, so a rerun (ticking a box, downloading a report) does not lose it.

Widget keys (tests address them): ``cmp_count``; per side ``i`` (0-2): ``cmp_kind_i``,
``cmp_model_api_i``, ``cmp_model_id_i``, ``cmp_scope_i``, ``cmp_environment_i``,
``cmp_deployment_id_i``, ``cmp_api_style_i``; then ``cmp_persona``, ``cmp_prompt``,
``cmp_repeats``, ``cmp_run``, ``cmp_wake``, ``cmp_exclude_cold``, ``cmp_download_md``,
``cmp_download_html``; prices per side ``cmp_price_i_*`` (``chatapp.ui.pricing_ui``). The
"Load sweep" tab's keys start with ``sweep_`` (``chatapp.ui.sweep_ui``), the "Capabilities"
tab's with ``cap_`` (``chatapp.ui.capabilities_ui``).
"""

from __future__ import annotations

import time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from baseten_llm.errors import BasetenError
from chatapp import resources, state
from chatapp.services import (
    compare,
    compare_report,
    personas,
    pricing,
    report_sections,
    user_errors,
)
from chatapp.services.batch_inputs import InputError
from chatapp.targets import GenerationSettings, Target
from chatapp.ui import capabilities_ui, pricing_ui, sweep_ui, target_picker
from chatapp.ui.safe_text import safe_markdown

DEFAULT_PROMPT = "Explain what a KV cache is in two sentences."
engine = resources.get_engine()
page = state.compare_page()
persona_list = personas.list_personas(engine, owner=state.current_user().id)
catalog = state.model_catalog()
model_rows = {row.id: row for row in catalog.rows}


def default_targets() -> list[Target]:
    """The sides' last picks, else: the sidebar's Model API, a dedicated model, another API."""
    saved = page.targets
    if saved:
        return list(saved) + [Target()] * (compare.MAX_SIDES - len(saved))
    current = state.target()
    shared = current if not current.is_dedicated else Target()
    dedicated = current if current.is_dedicated else Target(kind="dedicated", model="")
    other = next((slug for slug in model_rows if slug != shared.model), shared.model)
    return [shared, dedicated, Target(model=other)]


def side_place(i: int) -> str:
    """Where side ``i``'s widgets are, in the words of a problem with its target."""
    return f"under Target {compare.SIDE_NAMES[i]}"


def pick_target(i: int, current: Target) -> Target:
    """The widgets of one side; returns the target they describe."""
    return target_picker.pick_target(
        current, model_rows, key=lambda name: f"cmp_{name}_{i}", where=side_place(i)
    )


def figures_of(side: compare.SideResult, now: float, live: bool) -> dict[str, Any]:
    """The figures to show: live ones while a run streams, else the last finished run's."""
    streaming = side.current_run and (not side.runs or side.runs[-1].run != side.current_run)
    if live and streaming:
        live = side.live_figures(now)
        return {**live, "tokens_in": None, "tokens_out": side.live_chunks}
    if side.runs:
        return side.runs[-1].metrics.to_dict()
    return {}


def draw_side(
    slot: Any, side: compare.SideResult, repeats: int, now: float, live: bool = True
) -> None:
    """Redraw one column: the run counter, four figures, the error if any, the answer."""
    figures = figures_of(side, now, live)
    running = f"run {side.current_run or 1} of {repeats}" if live else "stopped early"
    with slot.container():
        status = "finished" if side.finished else running
        st.caption(f"{side.label} · {status}")
        top, bottom = st.columns(2), st.columns(2)
        top[0].metric("Time to first token", _fmt(figures.get("ttft_s"), "ttft_s", " s"))
        top[1].metric("Tokens per second", _fmt(figures.get("tokens_per_s"), "tokens_per_s"))
        bottom[0].metric("Total time", _fmt(figures.get("total_s"), "total_s", " s"))
        bottom[1].metric(
            "Tokens in / out",
            f"{_fmt(figures.get('tokens_in'), 'tokens_in')} / "
            f"{_fmt(figures.get('tokens_out'), 'tokens_out')}",
        )
        if side.error and not side.ok_runs:
            st.error(side.error)
        elif side.error:
            failed = [r.run for r in side.runs if not r.ok]
            st.warning(f"Run(s) {', '.join(map(str, failed))} failed: {side.error}")
        cost = pricing.total(
            pricing.answer_cost(pricing_ui.price_of(side.target, model_rows), run.metrics)
            for run in side.runs
        )
        if cost is not None:
            st.caption(f"Cost of {cost.answers} run(s): {pricing.describe(cost)}")
        if side.text:
            st.markdown(safe_markdown(side.text))


def _fmt(value: Any, metric: str, unit: str = "") -> str:
    return "–" if value is None else compare_report.format_value(float(value), metric) + unit


def build_clients(targets: list[Target], generation: GenerationSettings) -> list[Any]:
    """One client per side, or the error that prevented it (shown on that side only)."""
    clients: list[Any] = []
    for i, target in enumerate(targets):
        problem = target.problem(side_place(i))
        if problem:  # said in this side's words (the library's would point at the sidebar)
            clients.append(InputError(f"Nothing was sent to this side. {problem}"))
            continue
        try:
            clients.append(state.llm(target_override=target, generation_override=generation))
        except BasetenError as exc:
            clients.append(exc)
    return clients


def run_comparison(
    targets: list[Target],
    persona: personas.PersonaInfo,
    prompt: str,
    repeats: int,
    slots: list[Any],
) -> None:
    """Stream every side at once, redrawing the columns as events arrive."""
    comparison = compare.Comparison.new(
        targets, prompt, persona.name, persona.system_prompt, repeats
    )
    page.last = comparison
    page.last_demo = state.demo_active()  # marked in its reports
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content=persona.system_prompt),
        ChatMessage(role=MessageRole.USER, content=prompt),
    ]
    generation = state.generation().with_persona_default(persona.temperature)
    runner = compare.ComparisonRunner(build_clients(targets, generation), messages, repeats)
    with runner:
        for batch in runner.batches():
            for event in batch:
                comparison.apply(event)
            now = time.perf_counter()
            for index in {event.side for event in batch}:
                draw_side(slots[index], comparison.sides[index], repeats, now)


def wake(targets: list[Target]) -> None:
    """POST wake for every dedicated side; report each result."""
    for name, target in zip(compare.SIDE_NAMES, targets):
        if not target.is_dedicated:
            continue
        try:
            state.llm(target_override=target).wake()
        except BasetenError as exc:
            st.error(
                f"{name} · {target.label}: wake failed. "
                + user_errors.describe(exc, context="wake")
            )
        else:
            st.success(
                f"{name} · {target.label}: wake request accepted, the deployment is scaling up."
            )


def chart(comparison: compare.Comparison, metric: str, title: str) -> alt.Chart:
    rows = [
        {"Target": side.label, "Run": record.run, title: getattr(record.metrics, metric)}
        for side in comparison.sides
        for record in side.ok_runs
        if getattr(record.metrics, metric) is not None
    ]
    data = pd.DataFrame(rows, columns=["Target", "Run", title])
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("Run:O"),
            y=alt.Y(f"{title}:Q"),
            color=alt.Color(
                "Target:N",
                legend=alt.Legend(orient="bottom", labelLimit=0, direction="vertical"),
                scale=alt.Scale(range=list(compare_report.COLORS)),
            ),
            tooltip=["Target", "Run", title],
        )
    )


def draw_results(comparison: compare.Comparison) -> None:
    """Verdict, p50/p95 table, charts, per-run table, cold-start notes and the exports."""
    exclude = st.checkbox(
        "Leave likely cold starts out of the statistics",
        key="cmp_exclude_cold",
        value=page.exclude_cold,
        help=f"A first run whose time to first token is over {compare.COLD_START_FACTOR:g}× "
        f"the median of the later runs and over {compare.COLD_START_MIN_S:g} s.",
    )
    page.exclude_cold = exclude
    summaries = compare.summarize_all(comparison, exclude)
    st.subheader("Verdict")
    for line in compare_report.verdict(summaries) or ["Not enough finished runs to compare."]:
        st.markdown(f"- {line}")
    for note in compare_report.cold_start_notes(comparison, exclude):
        st.info(note, icon="🧊")
    st.subheader("p50 / p95 per target")
    st.table(pd.DataFrame(compare_report.summary_rows(summaries)).set_index("Target"))
    left, right = st.columns(2)
    left.altair_chart(chart(comparison, "ttft_s", "Time to first token (s)"))
    right.altair_chart(chart(comparison, "tokens_per_s", "Tokens per second"))
    with st.expander("Every run", expanded=False):
        st.table(pd.DataFrame(compare_report.run_rows(comparison, exclude)))
    prices = [pricing_ui.price_of(side.target, model_rows) for side in comparison.sides]
    costs = report_sections.cost_rows(comparison, prices)
    st.subheader("Cost")
    st.table(pd.DataFrame(costs).set_index("Target"))
    sweep = page.sweep
    sweep_price = pricing_ui.price_of(sweep.target, model_rows) if sweep else None
    demo = page.last_demo or (sweep is not None and state.demo_active())
    extras = {"costs": costs, "sweep": sweep, "sweep_price": sweep_price, "offline_demo": demo}
    secrets = [state.api_key()]
    md_col, html_col, _ = st.columns([1, 1, 3])
    md_col.download_button(
        "⬇ Report (Markdown)",
        compare_report.to_markdown(
            comparison, exclude_cold_start=exclude, secrets=secrets, **extras
        ),
        file_name=compare_report.report_filename(comparison, "md"),
        mime="text/markdown",
        key="cmp_download_md",
        on_click="ignore",
    )
    html_col.download_button(
        "⬇ Report (HTML)",
        compare_report.to_html(comparison, exclude_cold_start=exclude, secrets=secrets, **extras),
        file_name=compare_report.report_filename(comparison, "html"),
        mime="text/html",
        key="cmp_download_html",
        on_click="ignore",
    )


def side_by_side() -> None:
    """The side-by-side comparison tab."""
    defaults = default_targets()
    count = st.radio(
        "Number of targets",
        [2, 3],
        horizontal=True,
        key="cmp_count",
        index=0 if len(page.targets or [1, 2]) <= 2 else 1,
    )
    columns = st.columns(count)
    targets = []
    for i, column in enumerate(columns):
        with column:
            st.markdown(f"**Target {compare.SIDE_NAMES[i]}**")
            targets.append(pick_target(i, defaults[i]))
    page.targets = targets
    if catalog.note:
        st.caption(catalog.note)
    with st.expander("💲 Prices", expanded=False):
        for i, target in enumerate(targets):
            pricing_ui.price_editor(target, model_rows, f"cmp_price_{i}")

    by_id = {p.id: p for p in persona_list}
    persona_ids = list(by_id)
    chosen_persona = page.persona if page.persona is not None else state.persona_id()
    persona_id = st.selectbox(
        "Persona",
        persona_ids,
        format_func=lambda pid: by_id[pid].label,
        key="cmp_persona",
        index=persona_ids.index(chosen_persona) if chosen_persona in by_id else 0,
    )
    page.persona = persona_id
    # A real first prompt, not a placeholder: one that looked typed made "Run" answer "Type a
    # prompt first" for a new user.
    prompt = st.text_area(
        "Prompt", key="cmp_prompt", value=DEFAULT_PROMPT if page.prompt is None else page.prompt
    )
    page.prompt = prompt
    repeats = st.number_input(
        "Runs per target (N)",
        min_value=1,
        max_value=compare.MAX_REPEATS,
        value=page.repeats,
        step=1,
        key="cmp_repeats",
    )
    page.repeats = int(repeats)

    run_col, wake_col, _ = st.columns([1, 1, 3])
    run_clicked = run_col.button("▶ Run comparison", key="cmp_run", type="primary")
    any_dedicated = any(t.is_dedicated for t in targets)
    wake_clicked = wake_col.button(
        "☀️ Wake dedicated",
        key="cmp_wake",
        disabled=not any_dedicated,
        help="Ask scaled-to-zero deployments to start before the run, so run 1 is not a cold start.",
    )
    if wake_clicked:
        wake(targets)

    slots = [column.empty() for column in st.columns(count)]
    if run_clicked and not prompt.strip():
        st.warning("Type a prompt first: every target gets the same one.")
    elif run_clicked:
        run_comparison(targets, by_id[persona_id], prompt.strip(), int(repeats), slots)

    last = page.last
    if last is not None:
        if not run_clicked:
            st.caption(
                f"Last comparison: {last.created_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"{last.repeats} run(s) per target."
            )
            if len(last.sides) != count:
                slots = [column.empty() for column in st.columns(len(last.sides))]
            for slot, side in zip(slots, last.sides):
                draw_side(slot, side, last.repeats, time.perf_counter(), live=False)
        draw_results(last)


# --- the page --------------------------------------------------------------------------------
st.subheader("⚖️ Compare targets")
st.caption(
    "One prompt to two or three targets at the same time: is the dedicated deployment "
    "faster than the shared endpoint, and by how much?"
)

side_tab, sweep_tab, checks_tab = st.tabs(["Side by side", "Load sweep", "Capabilities"])
with side_tab:
    side_by_side()
with sweep_tab:
    sweep_ui.draw_tab(model_rows)
with checks_tab:
    capabilities_ui.draw_tab(model_rows)

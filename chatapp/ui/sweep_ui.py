"""The Compare page's "Load sweep" tab: how many simultaneous users a target serves.

Widget keys: the target picker's ``sweep_<name>`` keys, ``sweep_prompt``, ``sweep_step_s``,
``sweep_concurrencies``, ``sweep_max_requests``, ``sweep_max_total_s``, ``sweep_run``,
``sweep_stop``, the price widgets ``sweep_price_*``, ``sweep_download_md``,
``sweep_download_html``. The last sweep is kept under the ``compare`` page value ``sweep``.

While a sweep runs this script thread polls the runner and redraws its table. Pressing
"Stop sweep" stops the runner in the button's callback (every stream closed); any other rerun
interrupts the loop, and leaving the runner's ``with`` block stops it as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from chatapp import state
from chatapp.services import report_sections
from chatapp.services.load_sweep import (
    DEFAULT_CONCURRENCIES,
    Sweep,
    SweepPlan,
    SweepRunner,
    parse_concurrencies,
)
from chatapp.targets import Target, make_llm
from chatapp.ui import pricing_ui
from chatapp.ui.target_picker import pick_target

CHART_HEIGHT = 320
DEFAULT_PROMPT = "Write a short paragraph about why the sky is blue."


def client_factory(target: Target) -> Any:
    """Build clients off the script thread: everything from the session is read here."""
    api_key, config, generation = state.api_key(), state.config(), state.generation()

    def make(http: Any) -> Any:
        return make_llm(target, api_key, config, generation, http_client=http, max_retries=0)

    return make


def sweep_chart(sweep: Sweep) -> alt.LayerChart:
    rows = [
        {
            "Concurrency": s.concurrency,
            "Total tokens/s": s.total_tokens_per_s(),
            "p95 TTFT (s)": s.ttft(95),
        }
        for s in sweep.steps
        if s.ended_at is not None
    ]
    data = pd.DataFrame(rows, columns=["Concurrency", "Total tokens/s", "p95 TTFT (s)"])
    x = alt.X("Concurrency:O", title="Concurrent streams")
    base = alt.Chart(data)
    throughput = base.mark_line(point=True, color="#1f6feb").encode(
        x=x,
        y=alt.Y("Total tokens/s:Q", axis=alt.Axis(titleColor="#1f6feb")),
        tooltip=["Concurrency", "Total tokens/s"],
    )
    latency = base.mark_line(point=True, color="#e8590c", strokeDash=[5, 3]).encode(
        x=x,
        y=alt.Y("p95 TTFT (s):Q", axis=alt.Axis(titleColor="#e8590c")),
        tooltip=["Concurrency", "p95 TTFT (s)"],
    )
    layers = [throughput, latency]
    knee_at = sweep.knee
    past_knee = knee_at is not None and any(r["Concurrency"] > knee_at for r in rows)
    if past_knee:  # no rule when latency never climbed ("No knee up to N")
        knee = pd.DataFrame({"Concurrency": [knee_at]})
        layers.append(alt.Chart(knee).mark_rule(strokeDash=[4, 3], color="#555").encode(x=x))
    # An explicit height: a layered chart with independent y scales is otherwise drawn 0 px
    # tall by st.altair_chart (only its title shows).
    return (
        alt.layer(*layers, title="Throughput and p95 time to first token")
        .resolve_scale(y="independent")
        .properties(height=CHART_HEIGHT)
    )


def draw_results(sweep: Sweep, model_rows: Mapping[str, Any]) -> None:
    price = pricing_ui.price_of(sweep.target, model_rows)
    if sweep.stopped:
        st.warning("The sweep was stopped; every stream was closed. Steps that finished are shown.")
    if sweep.skipped:
        st.info(f"Skipped to stay within the time limit: {', '.join(map(str, sweep.skipped))}.")
    st.markdown(f"**{sweep.knee_note()}**")
    st.table(pd.DataFrame(report_sections.sweep_rows(sweep, price)))
    st.altair_chart(sweep_chart(sweep))
    md_col, html_col, _ = st.columns([1, 1, 3])
    name = f"load-sweep-{sweep.created_at:%Y%m%d-%H%M%S}"
    md_col.download_button(
        "⬇ Sweep report (Markdown)",
        report_sections.sweep_report_markdown(sweep, price),
        file_name=f"{name}.md",
        mime="text/markdown",
        key="sweep_download_md",
        on_click="ignore",
    )
    html_col.download_button(
        "⬇ Sweep report (HTML)",
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Load sweep</title></head><body>"
        + report_sections.sweep_html(sweep, price)
        + "</body></html>",
        file_name=f"{name}.html",
        mime="text/html",
        key="sweep_download_html",
        on_click="ignore",
    )


def stop_running_sweep() -> None:
    """The Stop button's callback. It runs in the next script run, which Streamlit may start
    before the interrupted one has left its loop, so it stops the runner itself."""
    runner = state.compare_page().sweep_runner
    if runner is not None:
        runner.stop()


def run_sweep(sweep: Sweep, stop_slot: Any, progress: Any) -> None:
    messages = [ChatMessage(role=MessageRole.USER, content=sweep.prompt)]
    runner = SweepRunner(sweep, client_factory(sweep.target), messages)
    state.compare_page().sweep_runner = runner
    stop_slot.button(
        "■ Stop sweep", key="sweep_stop", type="secondary", on_click=stop_running_sweep
    )
    with runner:
        while not runner.wait(0.3):
            rows, current = runner.snapshot()
            with progress.container():
                if current is not None:
                    st.caption(
                        f"Running {current.concurrency} concurrent stream(s): "
                        f"{current.requests} request(s) finished in this step."
                    )
                if rows:
                    st.table(pd.DataFrame(rows))
    progress.empty()
    stop_slot.empty()


def draw_tab(model_rows: Mapping[str, Any]) -> None:
    st.caption(
        "How many people can this target serve at once? Each step keeps N streams "
        "going for the step's duration; time to first token climbing (or 429s) marks "
        "the knee. The sweep never retries a 429: it counts it."
    )
    page = state.compare_page()
    saved = page.sweep
    current = page.sweep_target or state.target()
    target = pick_target(current, model_rows, key=lambda n: f"sweep_{n}", where="above")
    page.sweep_target = target
    prompt = st.text_area(
        "Prompt", value=saved.prompt if saved else DEFAULT_PROMPT, key="sweep_prompt", height=80
    )
    cols = st.columns(4)
    step_s = cols[0].number_input("Seconds per step", 1, 120, 10, key="sweep_step_s")
    concurrency_text = cols[1].text_input(
        "Concurrencies", ", ".join(map(str, DEFAULT_CONCURRENCIES)), key="sweep_concurrencies"
    )
    max_requests = cols[2].number_input(
        "Max requests per step", 1, 2000, 200, key="sweep_max_requests"
    )
    max_total = cols[3].number_input("Time limit (s)", 5, 1800, 300, key="sweep_max_total_s")
    with st.expander("💲 Price", expanded=False):
        pricing_ui.price_editor(target, model_rows, "sweep_price")
    run_col, stop_col, _ = st.columns([1, 1, 3])
    run = run_col.button("▶ Run sweep", key="sweep_run", type="primary")
    progress = st.empty()
    if run:
        try:
            concurrencies = parse_concurrencies(concurrency_text)
        except ValueError as exc:
            st.error(str(exc))
            return
        if target.problem("above"):
            st.warning(target.problem("above"))
            return
        if not prompt.strip():
            st.warning("Type a prompt first.")
            return
        plan = SweepPlan(concurrencies, float(step_s), int(max_requests), float(max_total))
        saved = Sweep(target, prompt.strip(), plan)
        page.sweep = saved
        run_sweep(saved, stop_col, progress)
    if saved is not None:
        draw_results(saved, model_rows)

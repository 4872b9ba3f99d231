"""Jobs: Baseten async inference on a dedicated deployment, with this app as the webhook inbox.

Submit one job or a batch file, watch statuses (polled politely), read the results that
Baseten POSTs to ``/hooks/baseten``, cancel queued jobs and export the results. In the offline
demo the bundled emulator delivers to this app's own receiver with a generated secret.

Widget keys: ``jobs_demo_dedicated``, ``jobs_webhook_url``, ``jobs_demo_webhook_url``, ``jobs_priority``, ``jobs_max_queue_s``,
``jobs_max_attempts``, ``jobs_initial_delay_ms``, ``jobs_max_delay_ms``, ``jobs_input_mode``,
``jobs_prompt``, ``jobs_json``, ``jobs_submit``, ``jobs_batch_file``, ``jobs_batch_submit``,
``jobs_batch_report``, ``jobs_cancel_id``, ``jobs_cancel``, ``jobs_check_now``,
``jobs_result_id``, ``jobs_result_download``, ``jobs_export_jsonl``, ``jobs_export_csv``.

The page refreshes (a fragment, every :data:`REFRESH_EVERY_S` seconds) only while some job is
unfinished; it reads only what changed since the last look, shows a large result as a
preview, and builds an export only when its button is clicked.
"""

from __future__ import annotations

import json

import streamlit as st

from baseten_llm import errors
from chatapp import resources, state
from chatapp.services import job_results, jobs, user_errors
from chatapp.services.batch_inputs import InputError, parse_batch, parse_json_input, prompt_input
from chatapp.storage.jobs import JobRow
from chatapp.targets import Target

#: The emulator's dedicated LLM deployment, for the offline demo.
DEMO_MODEL_ID = "abcd1234"
REFRESH_EVERY_S = 2.0
PROMPT, RAW_JSON = "Prompt", "Raw JSON"

st.title("Jobs")
st.caption(
    "Async inference: Baseten queues each request (up to 72 h), runs it on your dedicated "
    "deployment and POSTs the result to this app's webhook. Baseten keeps no copy of results; "
    "they live in this app's database."
)

config = state.config()
engine = resources.get_engine()
owner = state.current_user().id  # jobs and results shown, polled and exported are this user's
target = state.target()

demo = state.demo_active()
if demo:
    st.caption(
        "🔒 Offline demo: the emulator signs each result with a secret generated for "
        "this run, and this app's own receiver checks it; results arrive within seconds."
    )
elif config.allow_unsigned_webhooks:
    st.warning(
        "**Development only: unsigned webhooks are accepted** "
        "(`BASETEN_CHAT_ALLOW_UNSIGNED_WEBHOOKS` is on). Anyone who can reach this app can "
        "plant results. Turn it off and set `BASETEN_WEBHOOK_SECRETS` before sharing the app.",
        icon="⚠️",
    )
elif not config.webhook_secrets:
    st.warning(
        "No webhook secret is configured, so the receiver refuses every result. Create one in "
        "Baseten (Settings → Secrets → Add webhook secret) and set `BASETEN_WEBHOOK_SECRETS` "
        "in `.streamlit/secrets.toml` or the environment.",
        icon="🔒",
    )
else:
    st.caption(
        f"🔒 Results must be signed: {len(config.webhook_secrets)} webhook secret(s) configured."
    )


def show_batch_report(total: int, report: jobs.BatchReport) -> None:
    """Each row's outcome: its request id, or why it was not sent."""
    st.success(f"{len(report.submitted)} of {total} jobs submitted.")
    for number, reason in report.failed:
        st.error(f"Row {number} was not sent: {reason}")
    st.dataframe(
        [
            {
                "Row": o.row_number,
                "Outcome": "Submitted" if o.sent else "Not sent",
                "Request id or reason": o.request_id or o.reason,
            }
            for o in report.outcomes
        ],
        hide_index=True,
        key="jobs_batch_report",
        column_config={"Request id or reason": st.column_config.TextColumn(width="large")},
    )


def use_demo_deployment() -> None:
    """Button callback: point the sidebar at the emulator's dedicated deployment."""
    state.set_widget_value("sb_kind", "dedicated")
    state.set_widget_value("sb_model_id", DEMO_MODEL_ID)


def client_for(job_target: Target):  # returns a baseten_llm.Baseten
    """A client for the target a job was submitted to."""
    return state.llm(target_override=job_target)


if not target.is_dedicated and demo:
    st.info(
        "**Jobs run on a dedicated deployment.** The offline demo has one ready "
        f"(model id `{DEMO_MODEL_ID}`).",
        icon="ℹ️",
    )
    st.button(
        "Use the demo's dedicated deployment",
        key="jobs_demo_dedicated",
        type="primary",
        on_click=use_demo_deployment,
    )
elif not target.is_dedicated:
    st.info(
        "**Jobs need a dedicated deployment.** Baseten's async inference (`async_predict`) runs "
        "on a model you deployed, not on the shared Model APIs you are using now "
        f"(`{target.model}`). To submit jobs, choose **Dedicated deployment** in the sidebar "
        "and enter your model id (e.g. `abcd1234`). Jobs and results stored earlier stay "
        "listed below.",
        icon="ℹ️",
    )
else:
    st.subheader("Where results go")
    webhook_url = st.text_input(
        "Webhook URL",
        value=config.webhook_url or "",
        # The demo's default (this app on loopback) must not inherit a value typed before.
        key="jobs_demo_webhook_url" if demo else "jobs_webhook_url",
        placeholder="https://your-tunnel.example.com/hooks/baseten",
        help="Baseten POSTs each result here. This app receives it at /hooks/baseten.",
    )
    if not config.webhook_url:
        st.info(
            "No public URL is configured. Baseten must reach this app over HTTPS: expose it "
            "with a tunnel (e.g. `cloudflared tunnel --url http://localhost:8501` or "
            "`ngrok http 8501`), then set `BASETEN_CHAT_PUBLIC_URL` to the tunnel's https URL "
            "(environment or `.streamlit/secrets.toml`) and restart, or type "
            "`<tunnel URL>/hooks/baseten` above.",
        )
    with st.expander("Queue and retry settings"):
        left, right = st.columns(2)
        priority = left.number_input("Priority (0 is highest)", 0, 2, 0, key="jobs_priority")
        max_queue_s = right.number_input(
            "Max time in queue (s)", 10, 259_200, 600, key="jobs_max_queue_s"
        )
        a, b, c = st.columns(3)
        max_attempts = a.number_input("Max attempts", 1, 10, 3, key="jobs_max_attempts")
        initial_ms = b.number_input(
            "Initial retry delay (ms)", 0, 10_000, 1000, key="jobs_initial_delay_ms"
        )
        max_ms = c.number_input("Max retry delay (ms)", 0, 60_000, 5000, key="jobs_max_delay_ms")
    options = jobs.SubmitOptions(
        webhook_endpoint=webhook_url.strip(),
        priority=int(priority),
        max_time_in_queue_s=int(max_queue_s),
        max_attempts=int(max_attempts),
        initial_delay_ms=int(initial_ms),
        max_delay_ms=int(max_ms),
    )

    one_tab, batch_tab = st.tabs(["Submit one job", "Submit a batch"])
    with one_tab:
        mode = st.radio("Input", [PROMPT, RAW_JSON], horizontal=True, key="jobs_input_mode")
        if mode == PROMPT:
            text = st.text_area("Prompt", key="jobs_prompt", height=120)
        else:
            text = st.text_area(
                "model_input (a JSON object, at most 256 KiB)",
                key="jobs_json",
                height=160,
                placeholder='{"prompt": "Hello", "max_tokens": 64}',
            )
        model_input, input_problem = None, None
        try:
            model_input = prompt_input(text) if mode == PROMPT else parse_json_input(text)
        except InputError as exc:
            input_problem = str(exc)
        if model_input is not None:
            st.caption("Request body that will be sent to `async_predict`:")
            st.code(json.dumps(options.request_body(model_input), indent=2), language="json")
        elif text.strip():
            st.error(input_problem)
        if st.button("Submit job", key="jobs_submit", type="primary"):
            if model_input is None:
                st.error(input_problem)
            else:
                try:
                    rid = jobs.submit_job(
                        engine, client_for(target), target, model_input, options, owner=owner
                    )
                except (InputError, errors.BasetenError) as exc:
                    st.error(user_errors.describe(exc, context="jobs"))
                else:
                    st.success(
                        f"Job submitted: request id `{rid}`. Its result appears below "
                        "when Baseten delivers it."
                    )

    with batch_tab:
        upload = st.file_uploader(
            "JSONL or CSV file, one job per row",
            type=["jsonl", "ndjson", "csv"],
            key="jobs_batch_file",
            help="JSONL: one JSON object (the model_input) or string (a prompt) per line. "
            "CSV: a `prompt` column, or columns that become model_input keys.",
        )
        rows = []
        if upload is not None:
            try:
                rows = jobs.check_rows(parse_batch(upload.name, upload.getvalue()), options)
            except InputError as exc:
                st.error(str(exc))
            bad = [r for r in rows if not r.ok]
            if rows:
                st.caption(
                    f"{len(rows)} rows: {len(rows) - len(bad)} ready, {len(bad)} with "
                    "problems (they will be skipped)."
                )
            for row in bad[:20]:
                st.warning(f"Row {row.row_number}: {row.error}")
            if len(bad) > 20:
                st.warning(f"… and {len(bad) - 20} more rows with problems.")
        if st.button("Submit batch", key="jobs_batch_submit", disabled=not rows):
            bar = st.progress(0.0, text="Submitting…")
            try:
                report = jobs.submit_batch(
                    engine,
                    client_for(target),
                    target,
                    rows,
                    options,
                    owner=owner,
                    batch_name=upload.name,
                    on_progress=lambda done, total: bar.progress(
                        done / total, text=f"Submitted {done} of {total} rows"
                    ),
                )
            except (InputError, errors.BasetenError) as exc:
                st.error(user_errors.describe(exc, context="jobs"))
            else:
                # Kept for this upload: the page reruns as results arrive.
                state.jobs_page().batch_report = (upload.file_id, len(rows), report)
        kept = state.jobs_page().batch_report
        if kept and upload is not None and kept[0] == upload.file_id:
            show_batch_report(kept[1], kept[2])


def cancel(row: JobRow) -> None:
    """Button callback: cancel before the table is drawn again, keep the outcome to show."""
    try:
        outcome = jobs.cancel_job(
            engine, client_for(jobs.job_target(row)), row.request_id, owner=owner
        )
    except errors.BasetenError as exc:
        result = ("error", user_errors.describe(exc, context="jobs"))
    else:
        result = ("success" if outcome.canceled else "warning", outcome.message)
    state.jobs_page().cancel_outcome = result


def jobs_section(refresh_s: float | None) -> None:
    """Poll the unfinished jobs that are due, then the table and cancel.

    Run as a fragment every ``refresh_s`` seconds while jobs are unfinished. When the last
    one finishes, or new results arrive, it reruns the whole page once: the page below
    (results, exports) is drawn only on such full runs, and with nothing unfinished the page
    schedules no refresh at all.
    """
    report = resources.get_status_poller().poll(engine, client_for, owner=owner)
    rows = jobs.list_rows(engine, owner=owner)
    results = [r for r in rows if r.result is not None]
    waiting = sum(r.is_unfinished for r in rows)
    drawn = state.jobs_page().results_drawn
    if drawn is None:  # this is the page's full run
        state.jobs_page().results_drawn = len(results)
    elif refresh_s is not None and (waiting == 0 or len(results) != drawn):
        st.rerun(scope="app")
    st.subheader("Jobs")
    if report.rate_limited:
        st.caption("Baseten asked us to slow down; status checks resume shortly.")
    for problem in report.problems[:1]:
        st.warning(f"Could not check a job's status: {problem}")
    if not rows:
        st.caption("No jobs yet. Submitted jobs and received results appear here.")
        return
    st.caption(
        f"{len(rows)} job{'' if len(rows) == 1 else 's'} · {len(results)} "
        f"result{'' if len(results) == 1 else 's'} received · {waiting} waiting"
    )
    if refresh_s is not None:
        st.caption(f"Checking for news every {refresh_s:g} s while jobs are waiting.")
    if results:
        latest = max(results, key=lambda r: r.result.received_at)
        st.text(f"Latest result ({latest.request_id}): {latest.result.preview}")
    st.dataframe(
        jobs.table_records(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Status": st.column_config.TextColumn(width="medium"),
            "Details": st.column_config.TextColumn(width="large"),
            "Result preview": st.column_config.TextColumn(width="large"),
        },
    )
    queued = [r for r in rows if r.job is not None and r.status == "QUEUED"]
    if queued:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        cancel_id = left.selectbox(
            "Queued job", [r.request_id for r in queued], key="jobs_cancel_id"
        )
        right.button(
            "Cancel job",
            key="jobs_cancel",
            on_click=cancel,
            args=(next(r for r in queued if r.request_id == cancel_id),),
        )
    outcome = state.jobs_page().cancel_outcome
    if outcome:
        state.jobs_page().cancel_outcome = None
        getattr(st, outcome[0])(outcome[1])


def results_section() -> None:
    """The chosen result (a preview when large) and the exports, built only when asked."""
    summaries = [
        r.result
        for r in jobs.list_rows(engine, owner=owner)
        if isinstance(r.result, job_results.ResultSummary)
    ]
    if not summaries:
        return
    st.subheader("Results")
    unreadable = job_results.count_unreadable(summaries)
    if unreadable:
        st.warning(
            f"{unreadable} stored result(s) hold data this page cannot show; they are "
            "marked in the table and left out of the viewer. Export them to inspect."
        )
    by_id = {s.request_id: s for s in summaries}
    shown = st.selectbox("Result", list(by_id), key="jobs_result_id")
    summary = by_id[shown]
    view = job_results.load_view(engine, summary, owner=owner)
    if view.value is not None:
        st.json(view.value, expanded=2)
    elif summary.readable:
        st.caption(
            f"This result is {summary.size / 1_000_000:.1f} MB; its first "
            f"{job_results.VIEW_CHARS:,} characters are shown. Download it whole below."
        )
        st.code(view.excerpt or "", language="json", wrap_lines=True)
    st.download_button(
        "Download this result",
        lambda: job_results.raw_body(engine, shown, owner=owner),
        file_name=f"baseten_result_{shown}.json",
        mime="application/json",
        key="jobs_result_download",
        on_click="ignore",
    )
    left, right = st.columns(2)
    left.download_button(
        "Export results (JSONL)",
        lambda: job_results.export_jsonl(engine, owner=owner),
        file_name="baseten_job_results.jsonl",
        mime="application/jsonl",
        key="jobs_export_jsonl",
        on_click="ignore",
    )
    right.download_button(
        "Export results (CSV)",
        lambda: job_results.export_csv(engine, owner=owner),
        file_name="baseten_job_results.csv",
        mime="text/csv",
        key="jobs_export_csv",
        on_click="ignore",
    )


state.jobs_page().results_drawn = None
refresh_every = REFRESH_EVERY_S if jobs.count_unfinished(engine, owner=owner) else None
st.fragment(jobs_section, run_every=refresh_every)(refresh_every)
if refresh_every is None:
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.caption("Nothing is waiting, so this page does not refresh on its own.")
    right.button("Check for new results", key="jobs_check_now")
results_section()

"""Submitting, polling, canceling and exporting jobs, with a small in-memory stand-in client."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from baseten_llm import errors
from baseten_llm.jobs import AsyncRequestInfo
from chatapp.services import job_polling, job_results, jobs
from chatapp.services.batch_inputs import BatchRow, InputError, parse_batch
from chatapp.storage import jobs as store
from chatapp.storage.db import make_engine, session_scope
from chatapp.targets import Target
from chatapp.users import LOCAL_OWNER

TARGET = Target(kind="dedicated", model="abcd1234")
OPTIONS = jobs.SubmitOptions(webhook_endpoint="https://chat.example.com/hooks/baseten")


@dataclass
class FakeJobsClient:
    """Answers like Baseten's async API: ids in order, statuses from a dict."""

    statuses: dict[str, str] = field(default_factory=dict)
    refuse: dict[str, Exception] = field(default_factory=dict)
    submitted: list[dict[str, Any]] = field(default_factory=list)
    status_calls: list[str] = field(default_factory=list)

    def submit_async_request(self, model_input: dict[str, Any], **kwargs: Any) -> str:
        if model_input.get("prompt") in self.refuse:
            raise self.refuse[model_input["prompt"]]
        self.submitted.append({"model_input": model_input, **kwargs})
        rid = f"{len(self.submitted):032x}"
        self.statuses[rid] = "QUEUED"
        return rid

    def get_async_request(self, request_id: str) -> AsyncRequestInfo:
        self.status_calls.append(request_id)
        status = self.statuses[request_id]
        if isinstance(status, Exception):
            raise status
        return AsyncRequestInfo.from_json(
            {"request_id": request_id, "status": status, "webhook_status": "PENDING", "errors": []}
        )

    def cancel_async_request(self, request_id: str) -> bool:
        if self.statuses[request_id] != "QUEUED":
            return False
        self.statuses[request_id] = "CANCELED"
        return True


def deliver(engine, request_id: str, data: Any = "done", errs: list | None = None) -> bool:
    with session_scope(engine) as session:
        return store.store_webhook_result(
            session, request_id=request_id, raw_body="{}", data=data, errors=errs or []
        )


def test_a_submitted_job_is_recorded_with_its_target_and_settings(engine):
    client = FakeJobsClient()
    options = jobs.SubmitOptions(
        webhook_endpoint=OPTIONS.webhook_endpoint,
        priority=2,
        max_time_in_queue_s=3600,
        max_attempts=5,
    )
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, options, owner=LOCAL_OWNER)
    (row,) = jobs.list_rows(engine, owner=LOCAL_OWNER)
    assert row.request_id == rid
    assert row.status == "QUEUED"
    assert row.job.target_label == "Dedicated · abcd1234 · production"
    with session_scope(engine) as session:
        assert json.loads(store.get_job(session, rid, LOCAL_OWNER).model_input_json) == {
            "prompt": "hi"
        }
    sent = client.submitted[0]
    assert sent["priority"] == 2 and sent["max_time_in_queue_seconds"] == 3600
    assert sent["inference_retry_config"] == {
        "max_attempts": 5,
        "initial_delay_ms": 1000,
        "max_delay_ms": 5000,
    }
    assert sent["webhook_endpoint"] == OPTIONS.webhook_endpoint


def test_a_refused_submission_raises_the_client_error_and_stores_no_job(engine):
    client = FakeJobsClient(
        refuse={
            "hi": errors.NotFoundError("No model abcd1234: check the model id.", status_code=404)
        }
    )
    with pytest.raises(errors.NotFoundError, match="check the model id"):
        jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    assert jobs.list_rows(engine, owner=LOCAL_OWNER) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"priority": 3}, "Priority must be between 0 and 2"),
        ({"max_time_in_queue_s": 5}, "between 10 and 259200"),
        ({"max_attempts": 11}, "Max attempts"),
        ({"webhook_endpoint": ""}, "webhook URL is required"),
        ({"webhook_endpoint": "ftp://x"}, "must start with https://"),
        ({"webhook_endpoint": "http://chat.example.com/hooks"}, "HTTPS only"),
    ],
)
def test_out_of_range_settings_are_refused_before_anything_is_sent(engine, change, message):
    client = FakeJobsClient()
    options = jobs.SubmitOptions(**{**OPTIONS.__dict__, **change})
    with pytest.raises(InputError, match=message):
        jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, options, owner=LOCAL_OWNER)
    assert client.submitted == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8501/hooks/baseten",
        "http://localhost:8501/hooks/baseten",
        "http://[::1]:8501/hooks/baseten",
    ],
)
def test_plain_http_is_accepted_for_a_loopback_webhook(engine, url):
    client = FakeJobsClient()
    options = jobs.SubmitOptions(**{**OPTIONS.__dict__, "webhook_endpoint": url})
    jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, options, owner=LOCAL_OWNER)
    assert [sent["webhook_endpoint"] for sent in client.submitted] == [url]


def test_the_request_body_shown_before_sending_is_the_one_the_client_sends(engine, emulator):
    from baseten_llm import Baseten

    options = jobs.SubmitOptions(webhook_endpoint=OPTIONS.webhook_endpoint, priority=1)
    llm = Baseten(
        model_id="abcd1234",
        model_apis=False,
        api_key=emulator.api_key,
        deployment_url=emulator.deployment_url,
    )
    jobs.submit_job(engine, llm, TARGET, {"prompt": "hi"}, options, owner=LOCAL_OWNER)
    (sent,) = [r["body"] for r in emulator.requests() if r["path"].endswith("/async_predict")]
    assert options.request_body({"prompt": "hi"}) == sent


def test_a_batch_submits_good_rows_and_reports_bad_and_refused_rows_by_number(engine):
    client = FakeJobsClient(
        refuse={"boom": errors.RateLimitError("Too many requests; wait.", status_code=429)}
    )
    rows = parse_batch("b.jsonl", b'"one"\n{oops\n"boom"\n"four"\n')
    progress: list[tuple[int, int]] = []
    report = jobs.submit_batch(
        engine,
        client,
        TARGET,
        rows,
        OPTIONS,
        batch_name="b.jsonl",
        on_progress=lambda done, total: progress.append((done, total)),
        owner=LOCAL_OWNER,
    )
    assert [n for n, _ in report.submitted] == [1, 4]
    assert [n for n, _ in report.failed] == [2, 3]
    assert "(429 Too Many Requests)" in dict(report.failed)[3]
    assert progress[-1] == (4, 4) and len(progress) == 4
    assert len(jobs.list_rows(engine, owner=LOCAL_OWNER)) == 2


def test_polling_records_baseten_status_and_stops_once_the_result_arrived(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    client.statuses[rid] = "IN_PROGRESS"
    poller = job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0)
    poller.poll(engine, lambda target: client, owner=LOCAL_OWNER)
    assert jobs.list_rows(engine, owner=LOCAL_OWNER)[0].status == "IN_PROGRESS"
    deliver(engine, rid, data={"output": "You said: hi"})
    poller.poll(engine, lambda target: client, owner=LOCAL_OWNER)
    assert client.status_calls == [rid]
    (row,) = jobs.list_rows(engine, owner=LOCAL_OWNER)
    assert (row.status, row.webhook_status) == ("SUCCEEDED", "SUCCEEDED")


def test_polling_uses_the_client_for_the_target_each_job_was_submitted_to(engine):
    client = FakeJobsClient()
    other = Target(kind="dedicated", model="efgh5678", scope="development")
    jobs.submit_job(engine, client, other, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    asked: list[Target] = []
    job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0).poll(
        engine, lambda target: asked.append(target) or client, owner=LOCAL_OWNER
    )
    assert asked == [other]


def test_a_rate_limited_poll_pauses_polling_and_keeps_the_job_unfinished(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    jobs.submit_job(engine, client, TARGET, {"prompt": "again"}, OPTIONS, owner=LOCAL_OWNER)
    client.statuses[rid] = errors.RateLimitError("slow down", status_code=429, retry_after=30)
    poller = job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0)
    report = poller.poll(engine, lambda target: client, owner=LOCAL_OWNER)
    assert report.rate_limited
    assert not poller.bucket.try_take()
    assert all(row.is_unfinished for row in jobs.list_rows(engine, owner=LOCAL_OWNER))


def test_a_status_error_is_kept_as_a_note_on_the_job(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    client.statuses[rid] = errors.AuthenticationError(
        "The API key was refused; check it.", status_code=401
    )
    report = job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0).poll(
        engine, lambda target: client, owner=LOCAL_OWNER
    )
    assert report.problems and "refused the API key" in report.problems[0]
    note = jobs.list_rows(engine, owner=LOCAL_OWNER)[0].job.status_note
    assert note.startswith("Its status could not be checked: ") and "refused the API key" in note


def test_a_queued_job_is_canceled_and_recorded(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    outcome = jobs.cancel_job(engine, client, rid, owner=LOCAL_OWNER)
    assert outcome.canceled
    assert jobs.list_rows(engine, owner=LOCAL_OWNER)[0].status == "CANCELED"


def test_a_job_that_is_no_longer_queued_is_not_canceled_and_the_reason_is_given(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    client.statuses[rid] = "IN_PROGRESS"
    outcome = jobs.cancel_job(engine, client, rid, owner=LOCAL_OWNER)
    assert not outcome.canceled
    assert "only queued jobs can be canceled" in outcome.message
    assert jobs.list_rows(engine, owner=LOCAL_OWNER)[0].status == "QUEUED"


def test_the_api_message_is_shown_when_the_client_returns_one(engine):
    class Wordy(FakeJobsClient):
        def cancel_async_request(self, request_id: str) -> dict[str, Any]:
            return {"canceled": False, "message": "Only QUEUED requests can be canceled."}

    client = Wordy()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    assert (
        jobs.cancel_job(engine, client, rid, owner=LOCAL_OWNER).message
        == "Only QUEUED requests can be canceled."
    )


def test_results_from_requests_submitted_elsewhere_are_listed_too(engine):
    deliver(engine, "e" * 32, data={"output": "from elsewhere"})
    (row,) = jobs.list_rows(engine, owner=LOCAL_OWNER)
    record = jobs.table_records([row])[0]
    assert record["Target"] == "(not submitted here)"
    assert record["Result preview"] == "from elsewhere"


def test_a_duplicate_delivery_stores_nothing_new(engine):
    assert deliver(engine, "d" * 32, data="first")
    assert not deliver(engine, "d" * 32, data="second")
    (row,) = jobs.list_rows(engine, owner=LOCAL_OWNER)
    assert row.result.preview == "first"


def test_the_table_preview_shows_output_text_errors_and_truncates_long_text(engine):
    deliver(engine, "1" * 32, data={"output": "x" * 500})
    deliver(engine, "2" * 32, data=None, errs=[{"code": "MODEL_PREDICT_ERROR", "message": "boom"}])
    previews = {
        r["Request id"]: r["Result preview"]
        for r in jobs.table_records(jobs.list_rows(engine, owner=LOCAL_OWNER))
    }
    assert len(previews["1" * 32]) == job_results.PREVIEW_CHARS and previews["1" * 32].endswith("…")
    assert previews["2" * 32] == "Error: MODEL_PREDICT_ERROR: boom"


def test_jobs_and_results_survive_a_new_engine_on_the_same_database(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    deliver(engine, rid, data={"output": "kept"})
    engine.dispose()
    again = make_engine(engine.url.render_as_string(hide_password=False))
    (row,) = jobs.list_rows(again, owner=LOCAL_OWNER)
    assert row.result.preview == "kept" and row.job is not None


def test_export_jsonl_has_one_parsed_record_per_result(engine):
    client = FakeJobsClient()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=LOCAL_OWNER)
    jobs.submit_job(engine, client, TARGET, {"prompt": "pending"}, OPTIONS, owner=LOCAL_OWNER)
    deliver(engine, rid, data={"output": "You said: hi"})
    lines = job_results.export_jsonl(engine, owner=LOCAL_OWNER).decode().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["request_id"] == rid
    assert record["data"] == {"output": "You said: hi"}
    assert record["status"] == "SUCCEEDED" and record["errors"] == []


def test_export_csv_has_a_header_and_keeps_structured_output_as_json(engine):
    deliver(engine, "1" * 32, data={"output": 'a, "quoted"\nline'})
    deliver(engine, "2" * 32, data="plain text")
    table = list(
        csv.DictReader(io.StringIO(job_results.export_csv(engine, owner=LOCAL_OWNER).decode()))
    )
    by_id = {r["request_id"]: r for r in table}
    assert json.loads(by_id["1" * 32]["data"]) == {"output": 'a, "quoted"\nline'}
    assert by_id["2" * 32]["data"] == "plain text"
    assert list(table[0]) == list(job_results.EXPORT_FIELDS)


def test_exports_with_no_results_are_empty_but_valid(engine):
    assert job_results.export_jsonl(engine, owner=LOCAL_OWNER) == b""
    assert job_results.export_csv(engine, owner=LOCAL_OWNER).decode().strip() == ",".join(
        job_results.EXPORT_FIELDS
    )


def test_a_bad_row_in_a_batch_never_reaches_the_client(engine):
    client = FakeJobsClient()
    rows = [BatchRow(1, error="not valid JSON"), BatchRow(2, model_input={"prompt": "ok"})]
    report = jobs.submit_batch(
        engine, client, TARGET, rows, OPTIONS, batch_name="x", owner=LOCAL_OWNER
    )
    assert len(client.submitted) == 1 and report.failed == [(1, "not valid JSON")]


def test_a_result_committed_by_another_replica_after_a_newer_one_is_still_listed(engine):
    """Two receivers insert at once: the row with the smaller id becomes visible last."""
    from chatapp.services.job_results import ResultIndex
    from chatapp.storage.jobs import WebhookResult

    def deliver(row_id: int, rid: str) -> None:
        with session_scope(engine) as session:
            session.add(
                WebhookResult(
                    id=row_id,
                    request_id=rid,
                    owner=LOCAL_OWNER,
                    data_json='"out"',
                    errors_json="[]",
                    raw_body='{"data": "out"}',
                )
            )

    index = ResultIndex()
    deliver(2, "b" * 32)  # replica B's commit lands first
    assert list(index.summaries(engine)) == ["b" * 32]
    deliver(1, "a" * 32)  # replica A's, with the smaller id, a moment later
    assert sorted(index.summaries(engine)) == ["a" * 32, "b" * 32]

"""Jobs and their webhook results belong to the user who submitted the job: another user
cannot list, cancel, poll, view, download or export them. A result is stored with its job's
owner; one for a request no job here has is kept but shown to no signed-in user."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from chatapp.services import job_polling, job_results, jobs
from chatapp.storage import jobs as store
from chatapp.storage.db import session_scope
from chatapp.users import LOCAL_OWNER
from tests.unit.test_jobs_service import OPTIONS, TARGET, FakeJobsClient

ANN = "ann@example.com"
BOB = "bob@example.com"


def deliver(engine: Engine, request_id: str, output: str) -> bool:
    body = {"request_id": request_id, "data": {"output": output}, "errors": []}
    with session_scope(engine) as session:
        return store.store_webhook_result(
            session, request_id=request_id, raw_body=json.dumps(body), data=body["data"], errors=[]
        )


def stored_owner(engine: Engine, request_id: str) -> str:
    with session_scope(engine) as session:
        row = session.query(store.WebhookResult).filter_by(request_id=request_id).one()
        return row.owner


def anns_finished_job(engine: Engine, client: FakeJobsClient) -> str:
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "Ann's prompt"}, OPTIONS, owner=ANN)
    assert deliver(engine, rid, "Ann's result")
    return rid


def request_ids(engine: Engine, owner: str) -> list[str]:
    return [row.request_id for row in jobs.list_rows(engine, owner=owner)]


def test_a_result_is_stored_with_its_jobs_owner_and_listed_only_for_them(engine: Engine) -> None:
    client = FakeJobsClient()
    rid = anns_finished_job(engine, client)
    bobs = jobs.submit_job(engine, client, TARGET, {"prompt": "Bob's"}, OPTIONS, owner=BOB)
    assert stored_owner(engine, rid) == ANN
    assert request_ids(engine, ANN) == [rid]
    assert request_ids(engine, BOB) == [bobs]
    (row,) = jobs.list_rows(engine, owner=ANN)
    assert row.result is not None and row.result.preview == "Ann's result"


def test_another_user_cannot_view_download_or_export_a_result(engine: Engine) -> None:
    rid = anns_finished_job(engine, FakeJobsClient())
    (row,) = jobs.list_rows(engine, owner=ANN)
    summary = row.result
    assert job_results.load_view(engine, summary, owner=ANN).value["data"] == {
        "output": "Ann's result"
    }
    assert job_results.load_view(engine, summary, owner=BOB).value is None
    assert b"Ann's result" in job_results.raw_body(engine, rid, owner=ANN)
    assert job_results.raw_body(engine, rid, owner=BOB) == b""
    assert b"Ann's result" in job_results.export_jsonl(engine, owner=ANN)
    assert job_results.export_jsonl(engine, owner=BOB) == b""
    assert b"Ann's result" not in job_results.export_csv(engine, owner=BOB)


def test_another_user_cannot_cancel_a_job_and_baseten_is_not_asked(engine: Engine) -> None:
    canceled: list[str] = []

    class Recording(FakeJobsClient):
        def cancel_async_request(self, request_id: str) -> Any:
            canceled.append(request_id)
            return super().cancel_async_request(request_id)

    client = Recording()
    rid = jobs.submit_job(engine, client, TARGET, {"prompt": "hi"}, OPTIONS, owner=ANN)
    outcome = jobs.cancel_job(engine, client, rid, owner=BOB)
    assert not outcome.canceled and "not found" in outcome.message
    assert canceled == []
    assert jobs.list_rows(engine, owner=ANN)[0].status == "QUEUED"
    assert jobs.cancel_job(engine, client, rid, owner=ANN).canceled


def test_polling_for_a_user_asks_only_about_their_jobs(engine: Engine) -> None:
    client = FakeJobsClient()
    anns = jobs.submit_job(engine, client, TARGET, {"prompt": "Ann"}, OPTIONS, owner=ANN)
    bobs = jobs.submit_job(engine, client, TARGET, {"prompt": "Bob"}, OPTIONS, owner=BOB)
    poller = job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0)
    report = poller.poll(engine, lambda target: client, owner=BOB)
    assert report.polled == [bobs] and client.status_calls == [bobs]
    assert jobs.count_unfinished(engine, owner=ANN) == 1
    assert jobs.count_unfinished(engine, owner=BOB) == 1
    assert anns not in request_ids(engine, BOB)


def test_a_result_for_a_request_nobody_here_submitted_is_kept_but_shown_to_no_signed_in_user(
    engine: Engine,
) -> None:
    assert deliver(engine, "f" * 32, "from elsewhere")
    assert stored_owner(engine, "f" * 32) == ""
    assert request_ids(engine, ANN) == [] and request_ids(engine, BOB) == []
    assert job_results.raw_body(engine, "f" * 32, owner=ANN) == b""
    assert job_results.export_jsonl(engine, owner=BOB) == b""
    # the single-user app (no sign-in) lists it, as it always did
    assert request_ids(engine, LOCAL_OWNER) == ["f" * 32]


def test_a_result_that_arrives_before_its_job_is_recorded_goes_to_the_jobs_owner(
    engine: Engine,
) -> None:
    client = FakeJobsClient()
    rid = f"{1:032x}"  # the id the client will give the next job
    assert deliver(engine, rid, "fast")  # the webhook won the race with the job's row
    assert jobs.submit_job(engine, client, TARGET, {"prompt": "quick"}, OPTIONS, owner=ANN) == rid
    assert stored_owner(engine, rid) == ANN
    assert request_ids(engine, ANN) == [rid]
    assert request_ids(engine, LOCAL_OWNER) == []


def test_a_second_delivery_does_not_change_whose_result_it_is(engine: Engine) -> None:
    rid = anns_finished_job(engine, FakeJobsClient())
    assert not deliver(engine, rid, "forged second copy")
    assert stored_owner(engine, rid) == ANN
    assert jobs.list_rows(engine, owner=ANN)[0].result.preview == "Ann's result"

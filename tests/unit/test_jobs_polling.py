"""Status polling pace: a process-wide token bucket and a per-job interval, on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.services.job_polling import StatusPoller, TokenBucket
from chatapp.storage.jobs import Job, JobRow, WebhookResult
from chatapp.users import LOCAL_OWNER


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def job_row(rid: str, status: str = "QUEUED", result: bool = False) -> JobRow:
    job = Job(
        request_id=rid, status=status, target_label="t", target_json="{}", model_input_json="{}"
    )
    stored = WebhookResult(request_id=rid, data_json='"x"', errors_json="[]", raw_body="")
    return JobRow(rid, job, stored if result else None)


def test_the_bucket_allows_a_burst_up_to_its_capacity_then_refills_at_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, capacity=10, clock=clock)
    assert sum(bucket.try_take() for _ in range(15)) == 10
    clock.now += 0.35
    assert sum(bucket.try_take() for _ in range(15)) == 3


def test_the_bucket_gives_nothing_while_paused_after_a_rate_limit():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, capacity=10, clock=clock)
    bucket.pause(2.0)
    clock.now += 1.9
    assert not bucket.try_take()
    clock.now += 0.2
    assert bucket.try_take()


def test_with_the_default_pace_no_one_second_window_holds_more_than_ten_status_calls():
    clock = FakeClock()
    poller = StatusPoller(clock=clock)
    rows = [job_row(f"{i:032x}") for i in range(200)]
    claimed_at: list[int] = []
    for tick in range(600):  # a fragment run every 0.1 s for 60 s, from many sessions alike
        clock.now = 1000.0 + tick / 10
        claimed_at += [tick] * len(poller.claim_due(rows))
    windows = [sum(start <= t < start + 10 for t in claimed_at) for start in range(591)]
    assert max(windows) <= 10
    assert len(claimed_at) >= 8 * 59  # and it does keep polling at its steady rate


def test_each_job_is_asked_about_at_most_once_per_interval():
    clock = FakeClock()
    poller = StatusPoller(TokenBucket(100, 100, clock), interval_s=5.0, clock=clock)
    rows = [job_row("a" * 32)]
    assert len(poller.claim_due(rows)) == 1
    clock.now += 4.9
    assert poller.claim_due(rows) == []
    clock.now += 0.1
    assert len(poller.claim_due(rows)) == 1


def test_finished_jobs_and_jobs_whose_result_arrived_are_never_polled():
    clock = FakeClock()
    poller = StatusPoller(TokenBucket(100, 100, clock), interval_s=5.0, clock=clock)
    rows = [
        job_row("1" * 32, "SUCCEEDED"),
        job_row("2" * 32, "QUEUED", result=True),
        job_row("3" * 32, "IN_PROGRESS"),
        JobRow("4" * 32, None, None),
    ]
    assert [r.request_id for r in poller.claim_due(rows)] == ["3" * 32]


def test_jobs_waiting_longest_since_their_last_check_go_first():
    clock = FakeClock()
    poller = StatusPoller(TokenBucket(1, 1, clock), interval_s=0.0, clock=clock)
    a, b = job_row("a" * 32), job_row("b" * 32)
    assert [r.request_id for r in poller.claim_due([a, b])] == ["a" * 32]
    clock.now += 1
    assert [r.request_id for r in poller.claim_due([a, b])] == ["b" * 32]
    clock.now += 1
    assert [r.request_id for r in poller.claim_due([a, b])] == ["a" * 32]


def test_a_poll_that_cannot_build_a_client_reports_it_in_plain_words(engine) -> None:
    from baseten_llm import errors
    from chatapp.services.job_polling import PollReport
    from chatapp.storage import jobs as store
    from chatapp.storage.db import session_scope
    from tests.plain_words import assert_plain

    with session_scope(engine) as session:
        store.add_job(
            session,
            owner=LOCAL_OWNER,
            request_id="b" * 32,
            status="QUEUED",
            target_label="t",
            target_json='{"kind": "dedicated", "model": "abcd1234"}',
            model_input_json="{}",
        )

    def no_key(_target):
        raise errors.MissingAPIKeyError("No Baseten API key. Pass api_key=... or set it.")

    report = StatusPoller(clock=FakeClock()).poll(engine, no_key, owner=LOCAL_OWNER)
    assert isinstance(report, PollReport) and len(report.problems) == 1
    assert "No Baseten API key" in report.problems[0] and "sidebar" in report.problems[0]
    assert_plain(report.problems[0])

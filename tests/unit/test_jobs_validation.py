"""Async job parameters are validated locally, before anything is sent."""

import pytest

from baseten_llm import errors
from baseten_llm.jobs import (
    MAX_ASYNC_BODY_BYTES,
    AsyncRequestInfo,
    AsyncRequestStatus,
    WebhookStatus,
    build_async_body,
)


def test_minimal_body_is_the_documented_shape():
    assert build_async_body({"prompt": "hi"}, webhook_endpoint="https://h/x") == {
        "model_input": {"prompt": "hi"},
        "webhook_endpoint": "https://h/x",
    }


def test_all_options_at_their_limits_are_accepted():
    body = build_async_body(
        {},
        priority=2,
        max_time_in_queue_seconds=259_200,
        inference_retry_config={
            "max_attempts": 10,
            "initial_delay_ms": 10_000,
            "max_delay_ms": 60_000,
        },
    )
    assert body["priority"] == 2 and body["max_time_in_queue_seconds"] == 259_200
    assert body["inference_retry_config"]["max_attempts"] == 10
    assert (
        build_async_body({}, priority=0, max_time_in_queue_seconds=10)["max_time_in_queue_seconds"]
        == 10
    )


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"priority": 3}, "priority"),
        ({"priority": -1}, "priority"),
        ({"priority": True}, "priority"),
        ({"max_time_in_queue_seconds": 9}, "max_time_in_queue_seconds"),
        ({"max_time_in_queue_seconds": 259_201}, "max_time_in_queue_seconds"),
        ({"inference_retry_config": {"max_attempts": 0}}, "max_attempts"),
        ({"inference_retry_config": {"max_attempts": 11}}, "max_attempts"),
        ({"inference_retry_config": {"initial_delay_ms": 10_001}}, "initial_delay_ms"),
        ({"inference_retry_config": {"max_delay_ms": -1}}, "max_delay_ms"),
        ({"inference_retry_config": {"max_delay_ms": 60_001}}, "max_delay_ms"),
        ({"inference_retry_config": {"retries": 2}}, "unknown keys"),
        ({"webhook_endpoint": "ftp://x"}, "webhook_endpoint"),
    ],
)
def test_out_of_range_values_raise_clear_errors(kwargs, field):
    with pytest.raises(errors.ConfigurationError, match=field):
        build_async_body({"prompt": "x"}, **kwargs)


def test_the_256_kib_limit_is_checked_before_sending():
    overhead = len('{"model_input":{"p":""}}')  # measured as sent: compact JSON
    build_async_body({"p": "x" * (MAX_ASYNC_BODY_BYTES - overhead)})
    with pytest.raises(errors.PayloadTooLargeError, match="256 KiB") as info:
        build_async_body({"p": "x" * (MAX_ASYNC_BODY_BYTES - overhead + 1)})
    assert info.value.status_code == 413


def test_status_records_parse_into_enums():
    info = AsyncRequestInfo.from_json(
        {
            "request_id": "r",
            "model_id": "abcd1234",
            "deployment_id": "d",
            "status": "WEBHOOK_FAILED",
            "webhook_status": "FAILED",
            "created_at": "2024-04-30T01:01:08.883423Z",
            "status_at": "x",
            "errors": [{"code": "MODEL_PREDICT_ERROR", "message": "boom"}],
        }
    )
    assert info.status is AsyncRequestStatus.WEBHOOK_FAILED and info.status == "WEBHOOK_FAILED"
    assert info.webhook_status is WebhookStatus.FAILED and info.is_finished
    assert info.errors[0]["code"] == "MODEL_PREDICT_ERROR"
    assert not AsyncRequestInfo.from_json({"request_id": "r", "status": "QUEUED"}).is_finished
    assert {s.value for s in AsyncRequestStatus} == {
        "QUEUED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "EXPIRED",
        "CANCELED",
        "WEBHOOK_FAILED",
    }
    assert {s.value for s in WebhookStatus} == {
        "PENDING",
        "SUCCEEDED",
        "FAILED",
        "CANCELED",
        "NO_WEBHOOK_PROVIDED",
    }

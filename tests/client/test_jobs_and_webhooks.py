"""Async jobs end to end: submit (seed acomplete and the full API), status, cancel, queue status,
and signed webhook deliveries verified with verify_webhook."""

import asyncio
import json
import time

import pytest

from baseten_llm import AsyncRequestStatus, WebhookStatus, errors, verify_webhook
from baseten_llm.emulator import EmulatorConfig


def test_seed_acomplete_with_a_webhook_submits_a_job(emulator, dedicated):
    emulator.configure(hold_jobs=True)
    llm = dedicated(
        webhook_endpoint="https://example.com/hook", temperature=0.2, max_tokens=50, model_apis=None
    )
    response = asyncio.run(llm.acomplete("Paul Graham is"))
    assert response.additional_kwargs == {"async_request": True} and len(response.text) == 32
    assert response.raw["request_id"] == response.text
    entry = emulator.requests()[-1]
    assert entry["path"] == "/model-abcd1234/environments/production/async_predict"
    assert entry["body"] == {
        "model_input": {"prompt": "Paul Graham is", "temperature": 0.2, "max_tokens": 50},
        "webhook_endpoint": "https://example.com/hook",
    }
    info = llm.get_async_request(response.text)
    assert info.status is AsyncRequestStatus.QUEUED and info.webhook_status is WebhookStatus.PENDING
    assert llm.cancel_async_request(response.text) is True
    assert llm.get_async_request(response.text).status is AsyncRequestStatus.CANCELED


def test_submit_with_options_status_queue_and_cancel_sync_and_async(emulator, dedicated):
    emulator.configure(hold_jobs=True)
    llm = dedicated(development=True)
    request_id = llm.submit_async_request(
        {"prompt": "x"},
        priority=1,
        max_time_in_queue_seconds=60,
        inference_retry_config={"max_attempts": 2, "initial_delay_ms": 10, "max_delay_ms": 100},
    )
    body = emulator.requests()[-1]["body"]
    assert body["priority"] == 1 and body["inference_retry_config"]["max_attempts"] == 2
    assert emulator.requests()[-1]["path"] == "/model-abcd1234/development/async_predict"
    queue = llm.get_async_queue_status()
    assert queue.num_queued_requests == 1 and queue.model_id == "abcd1234"

    async def run():
        other = await llm.asubmit_async_request({"prompt": "y"})
        info = await llm.aget_async_request(other)
        canceled = await llm.acancel_async_request(other)
        return info, canceled, await llm.aget_async_queue_status()

    info, canceled, after = asyncio.run(run())
    assert info.status is AsyncRequestStatus.QUEUED and canceled is True
    assert after.num_queued_requests == 1
    assert llm.cancel_async_request(request_id) is True


def test_a_finished_job_cannot_be_canceled(emulator, dedicated):
    llm = dedicated()
    request_id = llm.submit_async_request({"prompt": "x"})
    deadline = time.time() + 10
    while not llm.get_async_request(request_id).is_finished and time.time() < deadline:
        time.sleep(0.05)
    assert llm.get_async_request(request_id).status is AsyncRequestStatus.SUCCEEDED
    assert llm.cancel_async_request(request_id) is False


def test_invalid_parameters_and_big_bodies_never_reach_the_server(emulator, dedicated):
    llm = dedicated()
    with pytest.raises(errors.ConfigurationError, match="priority"):
        llm.submit_async_request({"prompt": "x"}, priority=5)
    with pytest.raises(errors.PayloadTooLargeError):
        llm.submit_async_request({"prompt": "x" * 300_000})
    assert emulator.requests() == []


def test_a_signed_webhook_delivery_verifies(emulator, dedicated):
    llm = dedicated()
    request_id = llm.submit_async_request(
        {"prompt": "x"}, webhook_endpoint="http://127.0.0.1:9/hook"
    )
    deadline = time.time() + 15
    while not emulator.webhooks() and time.time() < deadline:
        time.sleep(0.1)
    attempt = emulator.webhooks()[0]
    secrets = EmulatorConfig().webhook_secrets
    payload = verify_webhook(attempt["body"].encode(), attempt["signature"], secrets)
    assert payload.request_id == request_id and payload.type == "async_request_completed"
    tampered = attempt["body"].replace(request_id, "0" * 32).encode()
    with pytest.raises(errors.WebhookSignatureError):
        verify_webhook(tampered, attempt["signature"], secrets)
    assert json.loads(attempt["body"])["model_id"] == "abcd1234"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_is_refused_before_sending_a_job_or_a_chat(emulator, dedicated, value):
    llm = dedicated()
    with pytest.raises(errors.ConfigurationError, match="NaN or infinity"):
        llm.submit_async_request({"prompt": "x", "temperature": value})
    with pytest.raises(errors.ConfigurationError, match="NaN or infinity"):
        llm.complete("hello", temperature=value)
    assert emulator.requests() == []

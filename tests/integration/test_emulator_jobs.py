"""Async jobs and signed webhooks, with a small webhook receiver on a free loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

TERMINAL = {"SUCCEEDED", "FAILED", "EXPIRED", "CANCELED", "WEBHOOK_FAILED"}


class Receiver:
    """Records webhook POSTs and answers with scripted status codes (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"body": body, "headers": dict(self.headers)})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def deployment(emulator: Any, path: str) -> str:
    return emulator.deployment_url.format(model_id="abcd1234") + path


def auth(emulator: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.api_key}"}


def submit(emulator: Any, **body: Any) -> httpx.Response:
    body.setdefault("model_input", {"prompt": "summarise this"})
    return httpx.post(
        deployment(emulator, "/production/async_predict"), json=body, headers=auth(emulator)
    )


def status(emulator: Any, request_id: str) -> dict[str, Any]:
    return httpx.get(
        deployment(emulator, f"/async_request/{request_id}"), headers=auth(emulator)
    ).json()


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def final_status(emulator: Any, request_id: str) -> dict[str, Any]:
    return wait_for(lambda: (s := status(emulator, request_id))["status"] in TERMINAL and s)


def fast(emulator: Any) -> None:
    emulator.configure(job_queue_s=0.01, job_run_s=0.01, webhook_retry_delay_s=0.05)


def test_a_job_runs_to_succeeded_and_delivers_a_signed_webhook(emulator, receiver):
    fast(emulator)
    created = submit(emulator, webhook_endpoint=receiver.url)
    assert created.status_code == 201
    request_id = created.json()["request_id"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    record = final_status(emulator, request_id)
    assert record["status"] == "SUCCEEDED" and record["webhook_status"] == "SUCCEEDED"
    assert record["model_id"] == "abcd1234" and record["deployment_id"] == "prodabcd"
    assert record["errors"] == [] and "output" not in record
    [hook] = receiver.received
    secret = emulator.configure()["webhook_secrets"][0]
    expected = hmac.new(secret.encode(), hook["body"], hashlib.sha256).hexdigest()
    assert hook["headers"]["X-BASETEN-SIGNATURE"] == f"v1={expected}"
    assert hook["headers"]["X-BASETEN-REQUEST-ID"] == request_id
    payload = json.loads(hook["body"])
    assert hook["body"] == json.dumps(payload, separators=(",", ":")).encode()  # compact
    assert payload["type"] == "async_request_completed" and payload["errors"] == []
    assert payload["data"]["output"].startswith("You said: summarise this")
    assert payload["time"].endswith("Z")


def test_the_job_passes_through_queued_and_in_progress(emulator):
    emulator.configure(job_queue_s=0.3, job_run_s=0.3)
    request_id = submit(emulator).json()["request_id"]
    seen = {status(emulator, request_id)["status"]}
    seen.add(wait_for(lambda: (s := status(emulator, request_id)["status"]) != "QUEUED" and s))
    record = final_status(emulator, request_id)
    assert seen == {"QUEUED", "IN_PROGRESS"}
    assert record["status"] == "SUCCEEDED" and record["webhook_status"] == "NO_WEBHOOK_PROVIDED"


def test_every_configured_secret_signs_newest_first(emulator, receiver):
    fast(emulator)
    secrets = ["whsec_" + "N" * 40, "whsec_" + "O" * 40]
    emulator.configure(webhook_secrets=secrets)
    final_status(emulator, submit(emulator, webhook_endpoint=receiver.url).json()["request_id"])
    hook = receiver.received[0]
    signs = [hmac.new(s.encode(), hook["body"], hashlib.sha256).hexdigest() for s in secrets]
    assert hook["headers"]["X-BASETEN-SIGNATURE"] == f"v1={signs[0]},v1={signs[1]}"


def test_a_503_webhook_is_retried_once_then_succeeds(emulator, receiver):
    fast(emulator)
    receiver.statuses = [503]
    record = final_status(
        emulator, submit(emulator, webhook_endpoint=receiver.url).json()["request_id"]
    )
    assert record["status"] == "SUCCEEDED" and record["webhook_status"] == "SUCCEEDED"
    attempts = emulator.webhooks()
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 503), (2, 200)]
    assert attempts[0]["url"] == receiver.url


def test_two_failed_deliveries_end_in_webhook_failed(emulator, receiver):
    fast(emulator)
    receiver.statuses = [500, 502]
    record = final_status(
        emulator, submit(emulator, webhook_endpoint=receiver.url).json()["request_id"]
    )
    assert record["status"] == "WEBHOOK_FAILED" and record["webhook_status"] == "FAILED"
    assert len(receiver.received) == 2


def test_a_4xx_from_the_receiver_is_not_retried(emulator, receiver):
    fast(emulator)
    receiver.statuses = [404]
    record = final_status(
        emulator, submit(emulator, webhook_endpoint=receiver.url).json()["request_id"]
    )
    assert record["webhook_status"] == "FAILED" and len(emulator.webhooks()) == 1


def test_a_failing_model_input_ends_failed_with_errors_and_a_null_data_webhook(emulator, receiver):
    fast(emulator)
    request_id = submit(emulator, model_input={"fail": True}, webhook_endpoint=receiver.url).json()[
        "request_id"
    ]
    record = final_status(emulator, request_id)
    assert record["status"] == "FAILED"
    assert record["errors"][0]["code"] == "MODEL_PREDICT_ERROR"
    payload = json.loads(receiver.received[0]["body"])
    assert payload["data"] is None and payload["errors"][0]["code"] == "MODEL_PREDICT_ERROR"


def test_only_a_queued_job_can_be_canceled(emulator):
    emulator.configure(hold_jobs=True, job_run_s=0.5)
    held, running = (submit(emulator).json()["request_id"] for _ in range(2))
    queue = httpx.get(
        deployment(emulator, "/production/async_queue_status"), headers=auth(emulator)
    ).json()
    assert queue["num_queued_requests"] == 2
    canceled = httpx.delete(deployment(emulator, f"/async_request/{held}"), headers=auth(emulator))
    assert canceled.json() == {
        "request_id": held,
        "canceled": True,
        "message": canceled.json()["message"],
    }
    assert status(emulator, held)["status"] == "CANCELED"
    assert emulator.release_jobs() == 1
    wait_for(lambda: status(emulator, running)["status"] == "IN_PROGRESS")
    refused = httpx.delete(
        deployment(emulator, f"/async_request/{running}"), headers=auth(emulator)
    ).json()
    assert refused["canceled"] is False and "IN_PROGRESS" in refused["message"]
    assert final_status(emulator, running)["status"] == "SUCCEEDED"


def test_a_payload_over_256_kib_is_a_413(emulator):
    response = submit(emulator, model_input={"prompt": "x" * (256 * 1024)})
    assert response.status_code == 413
    assert response.json()["error_code"] == "payload_too_large"


@pytest.mark.parametrize(
    "changes",
    [
        {"priority": 3},
        {"max_time_in_queue_seconds": 5},
        {"max_time_in_queue_seconds": 259201},
        {"inference_retry_config": {"max_attempts": 11}},
        {"inference_retry_config": {"initial_delay_ms": 10001}},
        {"inference_retry_config": {"max_delay_ms": -1}},
        {"webhook_endpoint": "ftp://example.com/hook"},
        {"model_input": "not an object"},
    ],
)
def test_out_of_range_async_settings_are_400s(emulator, changes):
    response = submit(emulator, **changes)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_an_unknown_request_id_is_a_404(emulator):
    response = httpx.get(deployment(emulator, "/async_request/" + "0" * 32), headers=auth(emulator))
    assert response.status_code == 404

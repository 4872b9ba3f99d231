"""The Jobs page in a real browser: the emulator delivers signed webhooks to the running app."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timezone

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import WEBHOOK_SECRET, goto_page, sidebar, wait_for_app_idle

pytestmark = pytest.mark.e2e

RESULT_TIMEOUT_MS = 30_000


def open_jobs_on_dedicated(page: Page, model_id: str = "abcd1234") -> None:
    """Switch the sidebar to a dedicated deployment and open the Jobs page."""
    bar = sidebar(page)
    bar.locator(".st-key-sb_kind").get_by_text("Dedicated deployment").click()
    wait_for_app_idle(page)
    model = bar.locator(".st-key-sb_model_id input")
    model.fill(model_id)
    model.press("Enter")
    wait_for_app_idle(page)
    goto_page(page, "Jobs")
    expect(page.locator(".st-key-jobs_submit")).to_be_visible()


def submit_prompt(page: Page, prompt: str) -> str:
    """Type a prompt, submit it, and return the request id the page reports."""
    box = page.locator(".st-key-jobs_prompt textarea")
    box.fill(prompt)
    box.press("Control+Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-jobs_submit button").click()
    success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Job submitted")
    expect(success).to_be_visible()
    found = re.search(r"[0-9a-f]{32}", success.inner_text())
    assert found, success.inner_text()
    return found.group(0)


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` by typing it."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    box.press("Enter")
    wait_for_app_idle(page)
    expect(box).to_have_value(option)


def stored_results(app_server, request_id: str) -> int:
    engine = create_engine(f"sqlite:///{app_server.data_dir / 'baseten_chat.db'}")
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM webhook_results WHERE request_id = :rid"),
                {"rid": request_id},
            ).scalar_one()
    finally:
        engine.dispose()


def signed_body(request_id: str, output: str, secret: str) -> tuple[bytes, str]:
    payload = {
        "request_id": request_id,
        "model_id": "abcd1234",
        "deployment_id": "dep12345",
        "type": "async_request_completed",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {"output": output},
        "errors": [],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_job_submitted_in_the_browser_gets_its_signed_result_delivered_and_shown(
    page: Page, app_server, e2e_emulator, artifacts_dir
):
    open_jobs_on_dedicated(page)
    request_id = submit_prompt(page, "hello from the browser")
    latest = page.get_by_test_id("stText").filter(has_text=request_id)
    expect(latest).to_contain_text("You said: hello from the browser", timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("stJson")).to_contain_text(request_id)
    attempts = [a for a in e2e_emulator.webhooks() if a["request_id"] == request_id]
    assert [a["status_code"] for a in attempts] == [200]
    assert stored_results(app_server, request_id) == 1
    page.screenshot(path=str(artifacts_dir / "jobs_page_result.png"), full_page=True)


def test_a_forged_webhook_is_rejected_and_nothing_appears_on_the_page(
    page: Page, app_server, e2e_emulator
):
    request_id = "f0" * 16
    body, forged = signed_body(request_id, "FORGED RESULT", "whsec_" + "X" * 40)
    answer = httpx.post(
        f"{app_server.url}/hooks/baseten",
        content=body,
        headers={"X-BASETEN-SIGNATURE": forged},
        trust_env=False,
    )
    assert answer.status_code == 401
    unsigned = httpx.post(f"{app_server.url}/hooks/baseten", content=body, trust_env=False)
    assert unsigned.status_code == 401
    assert stored_results(app_server, request_id) == 0
    open_jobs_on_dedicated(page)
    expect(page.get_by_text("FORGED RESULT")).to_have_count(0)


def test_a_duplicate_delivery_stores_one_result(page: Page, app_server, e2e_emulator):
    open_jobs_on_dedicated(page)
    request_id = submit_prompt(page, "deliver me twice")
    latest = page.get_by_test_id("stText").filter(has_text=request_id)
    expect(latest).to_contain_text("You said: deliver me twice", timeout=RESULT_TIMEOUT_MS)
    (attempt,) = [a for a in e2e_emulator.webhooks() if a["request_id"] == request_id]
    again = httpx.post(
        f"{app_server.url}/hooks/baseten",
        content=attempt["body"].encode(),
        headers={"X-BASETEN-SIGNATURE": attempt["signature"], "Content-Type": "application/json"},
        trust_env=False,
    )
    assert again.status_code == 200
    assert again.json()["stored"] is False
    assert stored_results(app_server, request_id) == 1


def test_a_result_signed_with_the_right_secret_for_a_foreign_request_is_stored_and_shown(
    page: Page, app_server, e2e_emulator
):
    request_id = "0e" * 16
    body, signature = signed_body(request_id, "from another install", WEBHOOK_SECRET)
    answer = httpx.post(
        f"{app_server.url}/hooks/baseten",
        content=body,
        headers={"X-BASETEN-SIGNATURE": signature},
        trust_env=False,
    )
    assert answer.status_code == 200
    open_jobs_on_dedicated(page)
    choose(page, "Result", request_id)
    expect(page.get_by_test_id("stJson")).to_contain_text("from another install")


def test_a_queued_job_is_canceled_from_the_page(page: Page, app_server, e2e_emulator):
    e2e_emulator.configure(hold_jobs=True)
    open_jobs_on_dedicated(page)
    request_id = submit_prompt(page, "please wait in the queue")
    expect(page.get_by_role("combobox", name="Queued job")).to_have_value(request_id)
    page.locator(".st-key-jobs_cancel button").click()
    expect(page.get_by_text(f"Job {request_id} was canceled.")).to_be_visible()
    (job,) = [j for j in e2e_emulator.jobs() if j["request_id"] == request_id]
    assert job["status"] == "CANCELED"
    expect(page.locator(".st-key-jobs_cancel")).to_have_count(0)


def test_a_stalled_webhook_body_is_timed_out_by_the_running_app(app_server):
    """Headers and 5 of 1,000 promised bytes, then nothing: Streamlit's server answers 408
    (after the receiver's 30 s) and closes the connection instead of holding it forever."""
    import socket

    with socket.create_connection(("127.0.0.1", app_server.port), timeout=120) as conn:
        conn.sendall(
            b"POST /hooks/baseten HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"req'
        )
        received = b""
        while chunk := conn.recv(65536):  # until the server closes (or the 120 s timeout)
            received += chunk
    assert received.startswith(b"HTTP/1.1 408")

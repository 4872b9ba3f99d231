"""The load sweep in a real browser: a deployment with a capacity shows its knee, and Stop
closes every stream at once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import goto_page, wait_for_app_idle

pytestmark = pytest.mark.e2e

SWEEP_TIMEOUT_MS = 120_000


def wait_until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def fill(page: Page, key: str, value: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(value)
    box.press("Enter")
    wait_for_app_idle(page)


def open_sweep(page: Page, step_s: int, concurrencies: str) -> None:
    goto_page(page, "Compare")
    page.get_by_role("tab", name="Load sweep").click()
    page.locator(".st-key-sweep_kind").get_by_text("Dedicated deployment").click()
    wait_for_app_idle(page)
    fill(page, "sweep_model_id", "abcd1234")
    fill(page, "sweep_step_s", str(step_s))
    fill(page, "sweep_concurrencies", concurrencies)


def test_a_sweep_draws_the_knee_where_the_deployment_runs_out_of_streams(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.configure(
        tokens_per_second=50.0,
        reply_tokens=8,
        models={"abcd1234": {"capacity_streams": 2, "queue_limit": 2, "prefill_s": 0.3}},
    )
    open_sweep(page, 1, "1, 2, 4, 8")
    page.locator(".st-key-sweep_run button").click()
    expect(page.get_by_text("Knee at 2 concurrent streams")).to_be_visible(timeout=SWEEP_TIMEOUT_MS)
    wait_for_app_idle(page, SWEEP_TIMEOUT_MS)
    table = page.get_by_test_id("stTable").filter(has_text="Tokens/s total").locator("table")
    expect(table.locator("tbody tr")).to_have_count(4)
    last = [c.strip() for c in table.locator("tbody tr").last.locator("th, td").all_inner_texts()]
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    row = dict(zip(headers, last))
    assert row["Concurrency"] == "8" and int(row["429s"]) > 0
    chart = page.get_by_test_id("stVegaLiteChart").locator("svg.marks")
    expect(chart).to_be_visible()
    # the chart has a plotting area (it once drew with a height of 0: only its title showed)
    wait_until(lambda: float(chart.get_attribute("height") or 0) >= 150)
    expect(page.locator(".st-key-sweep_download_html button")).to_be_visible()


def test_stop_ends_a_running_sweep_and_closes_every_stream(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.configure(tokens_per_second=2.0, reply_tokens=300)
    open_sweep(page, 120, "4, 8")
    page.locator(".st-key-sweep_run button").click()
    wait_until(lambda: e2e_emulator.capacity()["active"].get("abcd1234") == 4)
    page.locator(".st-key-sweep_stop button").click()
    expect(page.get_by_text("The sweep was stopped")).to_be_visible(timeout=30_000)
    wait_until(lambda: e2e_emulator.capacity()["active"]["abcd1234"] == 0, timeout=10)
    streams = [r for r in e2e_emulator.requests() if r["path"].endswith("/chat/completions")]
    assert len(streams) == 4 and all(r["stream_closed_early"] for r in streams)

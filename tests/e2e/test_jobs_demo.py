"""The offline demo finishes the Jobs page: with no key and nothing configured, a job and a
batch submitted in the browser come back signed to the app's own receiver and are shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    AppServer,
    goto_page,
    keyless_app_server,
    open_app_page,
    screenshot_path,
    sidebar,
    wait_for_app_idle,
)

pytestmark = pytest.mark.e2e

RESULT_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def keyless_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app with no key, no webhook secret and no public URL: a first start."""
    with keyless_app_server(tmp_path_factory.mktemp("keyless_jobs")) as server:
        yield server


@pytest.fixture()
def demo_jobs_page(
    browser: Browser, keyless_app: AppServer, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    with open_app_page(browser, keyless_app.url, screenshot_path(artifacts_dir, request)) as page:
        sidebar(page).get_by_role("button", name="Try the offline demo").click()
        expect(page.get_by_text("replies are synthetic")).to_be_visible()
        wait_for_app_idle(page)
        goto_page(page, "Jobs")
        page.locator(".st-key-jobs_demo_dedicated button").click()
        wait_for_app_idle(page)
        expect(page.locator(".st-key-jobs_submit")).to_be_visible()
        yield page


def test_in_the_offline_demo_a_job_and_a_batch_come_back_to_the_page_within_seconds(
    demo_jobs_page: Page, tmp_path: Path
) -> None:
    page = demo_jobs_page
    expect(page.get_by_text("No webhook secret is configured")).to_have_count(0)
    expect(page.get_by_text("Offline demo: the emulator signs each result")).to_be_visible()

    box = page.locator(".st-key-jobs_prompt textarea")
    box.fill("hello from the demo")
    box.press("Control+Enter")
    wait_for_app_idle(page)
    page.locator(".st-key-jobs_submit button").click()
    success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Job submitted")
    expect(success).to_be_visible()
    request_id = re.search(r"[0-9a-f]{32}", success.inner_text()).group(0)
    latest = page.get_by_test_id("stText").filter(has_text=request_id)
    expect(latest).to_contain_text("You said: hello from the demo", timeout=RESULT_TIMEOUT_MS)

    page.get_by_role("tab", name="Submit a batch").click()
    batch = tmp_path / "three.jsonl"
    batch.write_text('"first batch row"\n"second batch row"\n"third batch row"\n')
    page.locator(".st-key-jobs_batch_file input[type=file]").set_input_files(str(batch))
    wait_for_app_idle(page)
    expect(page.get_by_text("3 rows: 3 ready, 0 with problems")).to_be_visible()
    page.locator(".st-key-jobs_batch_submit button").click()
    expect(page.get_by_text("3 of 3 jobs submitted")).to_be_visible()
    summary = page.get_by_test_id("stCaptionContainer").filter(has_text="results received")
    expect(summary).to_contain_text(
        "4 jobs · 4 results received · 0 waiting", timeout=RESULT_TIMEOUT_MS
    )
    expect(page.get_by_test_id("stText").filter(has_text="Latest result")).to_contain_text(
        "batch row"
    )
    # The page reran as the results arrived; each row's outcome is still listed.
    expect(page.get_by_text("3 of 3 jobs submitted")).to_be_visible()

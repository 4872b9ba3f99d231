"""The Compare page in a real browser: a slow shared endpoint against a fast dedicated one.

The emulator paces the two targets differently; the page must say which one is faster, with
figures (read from the page, not from Python objects) that fit the configured paces.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import goto_page, wait_for_app_idle

pytestmark = pytest.mark.e2e

SHARED = "zai-org/GLM-4.6"
DEDICATED = "abcd1234"
SLOW = {"tokens_per_second": 20, "first_token_delay_s": 0.6}
FAST = {"tokens_per_second": 200, "first_token_delay_s": 0.05}
#: Measured rates must be within this factor of the configured ones (loaded CI machines).
FACTOR = 3.0
RUN_TIMEOUT_MS = 60_000


def set_up_comparison(page: Page, dedicated_id: str, prompt: str, repeats: int) -> None:
    """A: the shared Model API; B: the dedicated deployment; then prompt and N."""
    goto_page(page, "Compare")
    slug = page.locator(".st-key-cmp_model_api_0 input")
    slug.click()
    slug.fill("GLM-4.6")
    page.get_by_role("option").filter(has_text=f"{SHARED} · ").click()
    wait_for_app_idle(page)
    expect(slug).to_have_value(re.compile(r"^zai-org/GLM-4\.6 "))
    model_id = page.locator(".st-key-cmp_model_id_1 input")
    model_id.fill(dedicated_id)
    model_id.press("Enter")
    wait_for_app_idle(page)
    box = page.locator(".st-key-cmp_prompt textarea")
    box.fill(prompt)
    box.press("Control+Enter")
    wait_for_app_idle(page)
    runs = page.locator(".st-key-cmp_repeats input")
    runs.fill(str(repeats))
    runs.press("Enter")
    wait_for_app_idle(page)


def run_comparison(page: Page) -> None:
    page.locator(".st-key-cmp_run button").click()
    expect(page.get_by_text("p50 / p95 per target")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_for_app_idle(page, RUN_TIMEOUT_MS)


def summary_table(page: Page, targets: int = 2) -> dict[str, dict[str, str]]:
    """The p50/p95 table as {target label: {column: cell text}}."""
    table = page.get_by_test_id("stTable").first.locator("table")
    expect(table.locator("tbody tr")).to_have_count(targets)
    expect(table.locator("tbody tr").first).to_contain_text("A · ")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
        rows[cells[0]] = dict(zip(headers[1:], cells[1:]))
    return rows


def save_whole_page(page: Page, path: Path) -> None:
    """Streamlit scrolls inside its own container: grow the viewport to capture everything."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": int(height) + 200})
    wait_for_app_idle(page)
    page.screenshot(path=str(path))


def test_the_dedicated_deployment_is_reported_faster_with_figures_matching_the_paces(
    page: Page, e2e_emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    e2e_emulator.configure(models={SHARED: SLOW, DEDICATED: FAST})
    set_up_comparison(page, DEDICATED, "Is the dedicated deployment faster?", repeats=3)
    run_comparison(page)

    table = summary_table(page)
    shared = table[f"A · Model API · {SHARED}"]
    dedicated = table[f"B · Dedicated · {DEDICATED} · production"]
    assert shared["Runs used"] == "3" and dedicated["Runs used"] == "3"
    ttft_shared = float(shared["Time to first token p50 (s)"])
    ttft_dedicated = float(dedicated["Time to first token p50 (s)"])
    rate_shared = float(shared["Throughput p50 (tok/s)"])
    rate_dedicated = float(dedicated["Throughput p50 (tok/s)"])
    assert ttft_shared >= SLOW["first_token_delay_s"]
    assert ttft_dedicated >= FAST["first_token_delay_s"]
    assert ttft_dedicated < ttft_shared
    assert SLOW["tokens_per_second"] / FACTOR <= rate_shared <= SLOW["tokens_per_second"] * FACTOR
    assert (
        FAST["tokens_per_second"] / FACTOR <= rate_dedicated <= FAST["tokens_per_second"] * FACTOR
    )
    assert rate_dedicated > rate_shared
    assert dedicated["Tokens out p50"] == "24" and shared["Tokens out p50"] == "24"

    verdict = page.get_by_text(re.compile(r"^Fastest first token: B \(Dedicated"))
    expect(verdict).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Highest throughput: B \(Dedicated"))).to_be_visible()
    # the live columns show each side's last run, its answer included
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert len(values) == 8
    expect(page.get_by_text("You said: Is the dedicated deployment faster?")).to_have_count(2)
    save_whole_page(page, artifacts_dir / "compare_dedicated_vs_shared.png")


def test_the_markdown_report_carries_the_figures_and_chart_and_never_the_key(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.configure(models={SHARED: SLOW, DEDICATED: FAST})
    set_up_comparison(page, DEDICATED, "Report <this> & that", repeats=2)
    run_comparison(page)
    with page.expect_download() as download_info:
        page.locator(".st-key-cmp_download_md button").click()
    report = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert f"B · Dedicated · {DEDICATED} · production" in report
    assert "Report <this> & that" in report
    assert "data:image/svg+xml;base64," in report
    assert "**Runs per target (N):** 2" in report
    assert e2e_emulator.api_key not in report
    with page.expect_download() as download_info:
        page.locator(".st-key-cmp_download_html button").click()
    page_html = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert "<svg" in page_html and "Report &lt;this&gt; &amp; that" in page_html
    assert e2e_emulator.api_key not in page_html


def test_an_unknown_dedicated_model_fails_on_its_side_while_the_other_finishes(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    set_up_comparison(page, "zzzz9999", "Hello there", repeats=1)
    run_comparison(page)
    alerts = page.get_by_test_id("stAlertContentError")
    expect(alerts).to_have_count(1)
    expect(alerts.first).to_contain_text("zzzz9999")
    expect(page.get_by_text("You said: Hello there")).to_have_count(1)
    table = summary_table(page)
    assert table[f"A · Model API · {SHARED}"]["Runs used"] == "1"
    assert table["B · Dedicated · zzzz9999 · production"]["Runs used"] == "0"

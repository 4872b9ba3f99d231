"""Cost and load-sweep sections of the Compare report (Markdown and HTML)."""

from __future__ import annotations

import base64
import re
from xml.etree import ElementTree

from chatapp.services import report_sections
from chatapp.services.chat import ReplyMetrics
from chatapp.services.compare import Comparison, RunRecord
from chatapp.services.compare_report import to_html, to_markdown
from chatapp.services.load_sweep import RequestResult, StepResult, Sweep, SweepPlan
from chatapp.services.pricing import GpuPrice, TokenPrice
from chatapp.targets import Target

SHARED = Target(kind="model_apis", model="zai-org/GLM-4.6")
DEDICATED = Target(kind="dedicated", model="abcd1234")


def comparison() -> Comparison:
    result = Comparison.new([SHARED, DEDICATED], "Price?", "Default", "", 2)
    result.sides[0].runs = [
        RunRecord(1, ReplyMetrics(0.5, 2.0, 1000, 500, 50.0, "stop", cached_tokens=600)),
        RunRecord(2, ReplyMetrics(0.5, 2.0, 1000, 500, 50.0, "stop")),
    ]
    result.sides[1].runs = [RunRecord(1, ReplyMetrics(0.1, 36.0, 10, 10, 99.0, "stop"))]
    return result


def sweep() -> Sweep:
    result = Sweep(DEDICATED, "Load", SweepPlan((1, 2, 4), step_s=2))
    for concurrency, ttft, limited in ((1, 0.2, 0), (2, 0.21, 0), (4, 0.9, 2)):
        results = [RequestResult("ok", ttft, 1.0, 100, 50.0)] * concurrency
        results += [RequestResult("rate_limited")] * limited
        result.steps.append(StepResult(concurrency, 0.0, 2.0, results))
    return result


def test_the_cost_table_has_each_target_its_price_the_cache_saving_and_a_total():
    rows = report_sections.cost_rows(comparison(), [TokenPrice(1.0, 2.0, 0.5), GpuPrice(3.6)])
    assert [r["Target"] for r in rows] == [
        "A · Model API · zai-org/GLM-4.6",
        "B · Dedicated · abcd1234 · production",
        "All targets",
    ]
    # 2 x (1000 in + 500 out) at $1/$2 per million, 600 of them cached at $0.5
    assert rows[0]["Total"] == "$0.003700" and rows[0]["Input cached"] == "30%"
    assert rows[0]["Saved by the cache"] == "$0.0003000"
    assert rows[1]["Total"] == "$0.04" and rows[1]["Price"].startswith("$3.6 per GPU-hour")
    assert rows[2]["Answers"] == "3" and rows[2]["Total"] == "$0.04"


def test_a_target_without_a_price_says_so_instead_of_showing_zero():
    rows = report_sections.cost_rows(comparison(), [None, None])
    assert rows[0]["Price"] == "no price set" and rows[0]["Total"] == "–"


def test_a_target_without_a_price_still_counts_the_answers_it_gave():
    rows = report_sections.cost_rows(comparison(), [TokenPrice(1.0, 2.0, 0.5), None])
    assert rows[1]["Price"] == "no price set"
    assert rows[1]["Answers"] == "1"


def test_the_report_carries_the_cost_and_the_sweep_with_its_knee_and_chart():
    costs = report_sections.cost_rows(comparison(), [TokenPrice(1.0, 2.0, 0.5), None])
    markdown = to_markdown(comparison(), costs=costs, sweep=sweep(), sweep_price=GpuPrice(3.6))
    assert "## Cost" in markdown and "| All targets |" in markdown
    assert "## Load sweep" in markdown and "**Knee at 2 concurrent streams" in markdown
    assert "| 4 | 6 | 0.900 | 0.900 | 50.0 | 200.0 | 0 | 2 | $" in markdown
    svg64 = re.search(r"\(data:image/svg\+xml;base64,([^)]+)\)\n\n$", markdown).group(1)
    ElementTree.fromstring(base64.b64decode(svg64))  # a well-formed SVG
    page = to_html(comparison(), costs=costs, sweep=sweep())
    assert "<h2>Cost</h2>" in page and "<h2>Load sweep</h2>" in page and "knee</text>" in page


def test_a_stopped_sweep_and_skipped_steps_are_said_in_the_report():
    stopped = sweep()
    stopped.stopped, stopped.skipped = True, [8, 16]
    stopped.steps[-1].stopped = True
    text = report_sections.sweep_report_markdown(stopped)
    assert "stopped by the person before the end" in text and "8, 16" in text
    assert "| 4 (stopped) |" in text
    assert "No knee up to 2 concurrent streams" in text


def test_the_sweep_table_shows_every_time_to_first_token_with_three_decimals():
    rows = report_sections.sweep_rows(sweep())
    assert [r["TTFT p50 (s)"] for r in rows] == ["0.200", "0.210", "0.900"]

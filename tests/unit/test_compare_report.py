"""Compare reports: the figures, an embedded SVG chart, escaping, and never the API key."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from xml.etree import ElementTree

from chatapp.services.chat import ReplyMetrics
from chatapp.services.compare import Comparison, RunRecord, summarize_all
from chatapp.services.compare_report import (
    chart_svg,
    run_rows,
    summary_rows,
    to_html,
    to_markdown,
)
from chatapp.targets import Target

API_KEY = "sk-live-0123456789abcdef"
PROMPT = 'Compare <script>alert("x")</script> & tell me | why'


def comparison() -> Comparison:
    shared = Target(kind="model_apis", model="zai-org/GLM-4.6")
    dedicated = Target(kind="dedicated", model="abcd1234")
    result = Comparison.new([shared, dedicated], PROMPT, "Pirate", "You are a pirate", 3)
    result.created_at = datetime(2026, 1, 15, 9, 30, tzinfo=timezone.utc)
    result.sides[0].runs = [
        RunRecord(1, ReplyMetrics(4.2, 5.9, 18, 24, 21.0, "stop")),
        RunRecord(2, ReplyMetrics(0.61, 1.8, 18, 24, 20.0, "stop")),
        RunRecord(3, ReplyMetrics(0.63, 1.9, 18, 24, 19.0, "stop")),
    ]
    result.sides[1].runs = [
        RunRecord(1, ReplyMetrics(0.052, 0.17, 18, 24, 210.0, "stop")),
        RunRecord(2, ReplyMetrics(0.051, 0.16, 18, 24, 205.0, "stop")),
        RunRecord(3, ReplyMetrics(0.0, 0.3, 18, 3, None, None), error="Rate limited"),
    ]
    return result


def test_markdown_carries_targets_persona_n_date_prompt_and_figures() -> None:
    text = to_markdown(comparison())
    assert "A · Model API · zai-org/GLM-4.6" in text
    assert "B · Dedicated · abcd1234 · production" in text
    assert "**Persona:** Pirate" in text
    assert "**Runs per target (N):** 3" in text
    assert "2026-01-15 09:30:00" in text
    assert PROMPT in text
    assert "| 0.052 |" in text and "210.0" in text  # a per-run row of the dedicated side
    assert "Fastest first token: B" in text
    assert "failed: Rate limited" in text


def test_markdown_summary_table_has_p50_and_p95_per_target() -> None:
    text = to_markdown(comparison())
    header = next(line for line in text.splitlines() if line.startswith("| Target | Runs used"))
    assert "Time to first token p50 (s)" in header and "Throughput p95 (tok/s)" in header
    row_b = next(line for line in text.splitlines() if line.startswith("| B · Dedicated"))
    assert "| 2 | 1 |" in row_b  # two runs used, one failed


def test_markdown_embeds_the_chart_as_a_data_uri_svg() -> None:
    text = to_markdown(comparison())
    match = re.search(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", text)
    assert match
    svg = base64.b64decode(match.group(1)).decode("utf-8")
    assert svg.startswith("<svg") and "Time to first token per run" in svg


def test_cold_start_is_noted_and_excluding_it_is_said_in_the_report() -> None:
    included = to_markdown(comparison(), exclude_cold_start=False)
    excluded = to_markdown(comparison(), exclude_cold_start=True)
    assert "run 1 took 4.200 s to the first token" in included
    assert "included in the statistics" in included
    assert "excluded from the statistics" in excluded
    assert "likely cold start; excluded from statistics" in excluded


def test_html_is_standalone_with_an_inline_svg_and_no_scripts_or_external_files() -> None:
    page = to_html(comparison())
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "</svg>" in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<link" not in page


def test_html_escapes_the_prompt_text() -> None:
    page = to_html(comparison())
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; tell me" in page


def test_the_chart_is_well_formed_xml_with_one_line_per_target() -> None:
    svg = chart_svg(comparison())
    root = ElementTree.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 4  # two panels x two targets
    assert "cold start?" in svg


def test_target_labels_with_markup_are_escaped_in_the_chart() -> None:
    result = comparison()
    result.sides[0].target = Target(kind="model_apis", model="<b>evil</b>")
    ElementTree.fromstring(chart_svg(result))  # raises if the label broke the XML
    assert "<b>evil" not in chart_svg(result)


def test_reports_never_contain_the_api_key_even_if_an_error_echoed_it() -> None:
    result = comparison()
    result.sides[1].error = f"Rejected key {API_KEY}"
    result.sides[1].runs[2].error = f"Rejected key {API_KEY}"
    for text in (to_markdown(result, secrets=[API_KEY]), to_html(result, secrets=[API_KEY])):
        assert API_KEY not in text
        assert "[redacted]" in text


def test_tables_hold_one_summary_row_per_target_and_one_run_row_per_run() -> None:
    result = comparison()
    assert [row["Target"][0] for row in summary_rows(summarize_all(result))] == ["A", "B"]
    assert len(run_rows(result)) == 6


def test_reports_from_the_offline_demo_say_so_at_the_top() -> None:
    from chatapp.services.compare_report import DEMO_NOTICE

    markdown = to_markdown(comparison(), offline_demo=True)
    assert markdown.splitlines()[2] == f"> **{DEMO_NOTICE}**"
    page = to_html(comparison(), offline_demo=True)
    assert page.index("Offline demo:") < page.index("<dl>")
    assert "Offline demo" not in to_markdown(comparison())
    assert "Offline demo" not in to_html(comparison())

"""A comparison in words and tables (the verdict, p50/p95, runs) and as a one-file report.

Both reports carry the targets, persona, prompt, number of runs, date, the per-target p50/p95
table, the per-run table, cold-start notes and a chart of TTFT and throughput per run drawn as
SVG by :func:`chart_svg` (inline in HTML, a ``data:`` image in Markdown), so one file holds
everything. No scripts, no external CSS or fonts. The API key is never part of a comparison;
``secrets`` passed in are still blanked out of every string as a last line of defence.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chatapp.services.compare import (
    COLD_START_FACTOR,
    COLD_START_MIN_S,
    METRICS,
    Comparison,
    SideResult,
    SideSummary,
    is_cold_start,
    runs_used,
    summarize_all,
)

if TYPE_CHECKING:
    from chatapp.services.load_sweep import Sweep
    from chatapp.services.pricing import Price

COLORS = ("#1f6feb", "#e8590c", "#2f9e44")
REDACTED = "[redacted]"
_UNITS = {"s": "s", "tokens/s": "tok/s", "tokens": ""}


# --- figures and the verdict, as shown on the page and in the reports -------------------------


def verdict(summaries: Sequence[SideSummary]) -> list[str]:
    """Plain sentences answering "which is faster, and by how much" (median figures)."""
    lines = []
    for metric, word, lower_is_better in (
        ("ttft_s", "Fastest first token", True),
        ("tokens_per_s", "Highest throughput", False),
        ("total_s", "Quickest full reply", True),
    ):
        line = _best_line(summaries, metric, word, lower_is_better)
        if line:
            lines.append(line)
    return lines


def _best_line(
    summaries: Sequence[SideSummary], metric: str, word: str, lower_is_better: bool
) -> str | None:
    rated = [(s, value) for s in summaries if (value := s.p50.get(metric))]
    if len(rated) < 2:
        return None
    rated.sort(key=lambda item: item[1], reverse=not lower_is_better)
    best, best_value = rated[0]
    unit = "tokens/s" if metric == "tokens_per_s" else "s"
    others = []
    for other, value in rated[1:]:
        ratio = value / best_value if lower_is_better else best_value / value
        others.append(f"{ratio:.1f}× vs {other.name} ({format_value(value, metric)} {unit})")
    return (
        f"{word}: {best.name} ({best.target_label}), p50 "
        f"{format_value(best_value, metric)} {unit}; " + "; ".join(others)
    )


def format_value(value: float | None, metric: str) -> str:
    """A figure as shown in tables: seconds to 3 decimals, rates to 1, counts whole."""
    if value is None:
        return "–"
    if metric in ("tokens_in", "tokens_out"):
        return f"{value:.0f}"
    if metric == "tokens_per_s":
        return f"{value:.1f}"
    return f"{value:.3f}"


# --- tables shared by the page and the reports -----------------------------------------------


def summary_rows(summaries: Sequence[SideSummary]) -> list[dict[str, str]]:
    """One row per target: runs used, then p50 and p95 of every metric."""
    rows = []
    for s in summaries:
        row = {"Target": s.label, "Runs used": str(s.runs_used), "Failed": str(s.runs_failed)}
        for metric, label, unit in METRICS:
            suffix = f" ({_UNITS[unit]})" if _UNITS[unit] else ""
            row[f"{label} p50{suffix}"] = format_value(s.p50[metric], metric)
            row[f"{label} p95{suffix}"] = format_value(s.p95[metric], metric)
        rows.append(row)
    return rows


def run_rows(comparison: Comparison, exclude_cold_start: bool = False) -> list[dict[str, str]]:
    """One row per run per target, with a note for cold starts, excluded runs and errors."""
    rows = []
    for side in comparison.sides:
        used = {r.run for r in runs_used(side, exclude_cold_start)}
        for record in side.runs:
            m = record.metrics
            rows.append(
                {
                    "Target": side.label,
                    "Run": str(record.run),
                    "TTFT (s)": format_value(m.ttft_s, "ttft_s"),
                    "Tokens/s": format_value(m.tokens_per_s, "tokens_per_s"),
                    "Total (s)": format_value(m.total_s, "total_s"),
                    "Tokens in": format_value(m.tokens_in, "tokens_in"),
                    "Tokens out": format_value(m.tokens_out, "tokens_out"),
                    "Note": _run_note(side, record.run, record.error, record.run in used),
                }
            )
    return rows


def _run_note(side: SideResult, run: int, error: str | None, used: bool) -> str:
    if error:
        return f"failed: {error}"
    notes = []
    if run == 1 and is_cold_start(side):
        notes.append("likely cold start")
    if not used:
        notes.append("excluded from statistics")
    return "; ".join(notes)


def cold_start_notes(comparison: Comparison, exclude_cold_start: bool) -> list[str]:
    """A sentence per target whose first run looks like a cold start."""
    notes = []
    for side in comparison.sides:
        if not is_cold_start(side):
            continue
        first = side.ok_runs[0].metrics.ttft_s or 0.0
        action = "excluded from" if exclude_cold_start else "included in"
        notes.append(
            f"{side.label}: run 1 took {first:.3f} s to the first token, over "
            f"{COLD_START_FACTOR:g}× the median of the later runs (and over "
            f"{COLD_START_MIN_S:g} s): likely a cold start, {action} the statistics."
        )
    return notes


# --- the chart --------------------------------------------------------------------------------

_PANEL_W, _PANEL_H, _PAD_L, _PAD_B, _PAD_T = 360, 230, 52, 34, 30


def chart_svg(comparison: Comparison) -> str:
    """Two panels (TTFT per run, tokens/s per run), one line per target, as an SVG document."""
    legend_h = 22 * len(comparison.sides) + 8
    width, height = 2 * _PANEL_W + 20, _PANEL_H + legend_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" '
        'role="img" aria-label="Time to first token and throughput per run">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _panel(comparison, "ttft_s", "Time to first token per run (s)", 0),
        _panel(comparison, "tokens_per_s", "Throughput per run (tokens/s)", _PANEL_W + 20),
    ]
    for index, side in enumerate(comparison.sides):
        y = _PANEL_H + 16 + 22 * index
        color = COLORS[index % len(COLORS)]
        parts.append(
            f'<rect x="{_PAD_L}" y="{y - 9}" width="14" height="10" fill="{color}"/>'
            f'<text x="{_PAD_L + 20}" y="{y}">{html.escape(side.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _panel(comparison: Comparison, metric: str, title: str, x0: float) -> str:
    points = [
        [
            (r.run, getattr(r.metrics, metric))
            for r in side.ok_runs
            if getattr(r.metrics, metric) is not None
        ]
        for side in comparison.sides
    ]
    top = _nice_top(1.1 * max((v for series in points for _, v in series), default=0.0))
    runs = max(comparison.repeats, 1)
    plot_w, plot_h = _PANEL_W - _PAD_L - 12, _PANEL_H - _PAD_T - _PAD_B

    def sx(run: float) -> float:
        return x0 + _PAD_L + (plot_w * (run - 1) / (runs - 1) if runs > 1 else plot_w / 2)

    def sy(value: float) -> float:
        return _PAD_T + plot_h * (1 - value / top)

    out = [
        f'<text x="{x0 + _PAD_L}" y="16" font-size="13" font-weight="bold">'
        f"{html.escape(title)}</text>"
    ]
    out += _axes(x0, plot_w, plot_h, top, runs, sx, sy)
    for index, series in enumerate(points):
        color = COLORS[index % len(COLORS)]
        coords = " ".join(f"{sx(run):.1f},{sy(v):.1f}" for run, v in series)
        if len(series) > 1:
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for run, value in series:
            out.append(
                f'<circle cx="{sx(run):.1f}" cy="{sy(value):.1f}" r="3.5" '
                f'fill="{color}"><title>run {run}: '
                f"{format_value(value, metric)}</title></circle>"
            )
        side = comparison.sides[index]
        if metric == "ttft_s" and is_cold_start(side) and series:
            out.append(
                f'<text x="{sx(1) + 6:.1f}" y="{sy(series[0][1]) - 6:.1f}" '
                f'fill="{color}">cold start?</text>'
            )
    return "".join(out)


def _axes(x0, plot_w, plot_h, top, runs, sx, sy) -> list[str]:  # type: ignore[no-untyped-def]
    left, bottom = x0 + _PAD_L, _PAD_T + plot_h
    out = [
        f'<line x1="{left}" y1="{_PAD_T}" x2="{left}" y2="{bottom}" stroke="#444"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#444"/>',
    ]
    for step in range(5):
        value = top * step / 4
        y = sy(value)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    for run in _run_ticks(runs):
        out.append(f'<text x="{sx(run):.1f}" y="{bottom + 15}" text-anchor="middle">{run}</text>')
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 29}" text-anchor="middle">run</text>'
    )
    return out


def _run_ticks(runs: int) -> list[int]:
    step = 1 if runs <= 10 else 2
    return list(range(1, runs + 1, step))


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 10 ** -_decimals(value)
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _decimals(value: float) -> int:
    digits = 0
    while value < 1:
        value *= 10
        digits += 1
    return digits


# --- the reports ------------------------------------------------------------------------------


def _redact(text: str, secrets: Sequence[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def report_filename(comparison: Comparison, extension: str) -> str:
    return f"comparison-{comparison.created_at:%Y%m%d-%H%M%S}.{extension}"


def _header_facts(comparison: Comparison) -> list[tuple[str, str]]:
    return [
        ("Date", f"{comparison.created_at:%Y-%m-%d %H:%M:%S %Z}".strip()),
        ("Targets", "; ".join(side.label for side in comparison.sides)),
        ("Persona", comparison.persona),
        ("Runs per target (N)", str(comparison.repeats)),
    ]


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return ["_No runs finished._"]
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(row[h]) for h in head) + " |" for row in rows]
    return lines


def _fenced(text: str) -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + "text", text, fence]


#: Heads a report whose figures came from the offline demo rather than from Baseten.
DEMO_NOTICE = (
    "Offline demo: these figures come from the bundled Baseten emulator (a stand-in that "
    "answers at configured speeds), not from Baseten; they say nothing about real models."
)


def to_markdown(
    comparison: Comparison,
    *,
    exclude_cold_start: bool = False,
    secrets: Sequence[str | None] = (),
    costs: list[dict[str, str]] | None = None,
    sweep: Sweep | None = None,
    sweep_price: Price | None = None,
    offline_demo: bool = False,
) -> str:
    """The comparison as one Markdown file, the chart embedded as a ``data:`` SVG image;
    ``costs`` (:func:`report_sections.cost_rows`) and a load ``sweep`` add their sections;
    ``offline_demo`` puts :data:`DEMO_NOTICE` at the top."""
    from chatapp.services import report_sections

    summaries = summarize_all(comparison, exclude_cold_start)
    svg64 = base64.b64encode(chart_svg(comparison).encode("utf-8")).decode("ascii")
    lines = ["# Baseten Chat: target comparison", ""]
    if offline_demo:
        lines += [f"> **{DEMO_NOTICE}**", ""]
    lines += [f"- **{name}:** {_md_cell(value)}" for name, value in _header_facts(comparison)]
    lines += ["", "## Prompt", "", *_fenced(comparison.prompt), ""]
    lines += ["## Verdict (medians)", ""]
    lines += [f"- {line}" for line in verdict(summaries)] or ["- Not enough data to compare."]
    lines += ["", "## p50 / p95 per target", "", *_md_table(summary_rows(summaries)), ""]
    if costs:
        lines += report_sections.cost_markdown(costs)
    lines += ["## Chart", "", f"![TTFT and throughput per run](data:image/svg+xml;base64,{svg64})"]
    lines += ["", "## Runs", "", *_md_table(run_rows(comparison, exclude_cold_start)), ""]
    lines += ["## Cold starts", ""]
    notes = cold_start_notes(comparison, exclude_cold_start)
    lines += [f"- {note}" for note in notes] or ["- No first run looked like a cold start."]
    errors = [f"- {side.label}: {side.error}" for side in comparison.sides if side.error]
    if errors:
        lines += ["", "## Errors", "", *errors]
    if sweep is not None:
        lines += ["", *report_sections.sweep_markdown(sweep, sweep_price)]
    return _redact("\n".join(lines) + "\n", secrets)


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}"
    "table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.9rem}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "th{background:#f3f3f3}pre{background:#f6f8fa;padding:0.75rem;white-space:pre-wrap}"
    "dt{font-weight:bold}dd{margin:0 0 0.4rem 0}"
)


def _html_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<p><em>No runs finished.</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_list(items: list[str], empty: str) -> str:
    if not items:
        return f"<p>{html.escape(empty)}</p>"
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def to_html(
    comparison: Comparison,
    *,
    exclude_cold_start: bool = False,
    secrets: Sequence[str | None] = (),
    costs: list[dict[str, str]] | None = None,
    sweep: Sweep | None = None,
    sweep_price: Price | None = None,
    offline_demo: bool = False,
) -> str:
    """The comparison as one standalone HTML page: inline CSS and SVG, no scripts."""
    from chatapp.services import report_sections

    summaries = summarize_all(comparison, exclude_cold_start)
    facts = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in _header_facts(comparison)
    )
    errors = [f"{side.label}: {side.error}" for side in comparison.sides if side.error]
    body = [
        "<h1>Baseten Chat: target comparison</h1>",
        (
            f'<p style="background:#fff3cd;padding:0.6rem;border:1px solid #e0c060">'
            f"<strong>{html.escape(DEMO_NOTICE)}</strong></p>"
        )
        if offline_demo
        else "",
        f"<dl>{facts}</dl>",
        f"<h2>Prompt</h2><pre>{html.escape(comparison.prompt)}</pre>",
        "<h2>Verdict (medians)</h2>",
        _html_list(verdict(summaries), "Not enough data to compare."),
        "<h2>p50 / p95 per target</h2>",
        _html_table(summary_rows(summaries)),
        report_sections.cost_html(costs) if costs else "",
        "<h2>Chart</h2>",
        chart_svg(comparison),
        "<h2>Runs</h2>",
        _html_table(run_rows(comparison, exclude_cold_start)),
        "<h2>Cold starts</h2>",
        _html_list(
            cold_start_notes(comparison, exclude_cold_start),
            "No first run looked like a cold start.",
        ),
    ]
    if errors:
        body += ["<h2>Errors</h2>", _html_list(errors, "")]
    if sweep is not None:
        body.append(report_sections.sweep_html(sweep, sweep_price))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Baseten Chat: target comparison</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    return _redact(page, secrets)

"""Report sections for cost and the load sweep, in Markdown and HTML (used by the Compare
report and the sweep's own report). Plain strings; no scripts, the chart is inline SVG."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from chatapp.services import pricing
from chatapp.services.compare import Comparison
from chatapp.services.load_sweep import StepResult, Sweep
from chatapp.services.pricing import Cost, GpuPrice, Price

# --- cost of a comparison ----------------------------------------------------------------------


def side_costs(comparison: Comparison, prices: Sequence[Price | None]) -> list[Cost | None]:
    """The summed cost of every finished run, per side (None where no price is known)."""
    result = []
    for side, price in zip(comparison.sides, prices):
        result.append(pricing.total(pricing.answer_cost(price, run.metrics) for run in side.runs))
    return result


def cost_rows(comparison: Comparison, prices: Sequence[Price | None]) -> list[dict[str, str]]:
    """Per target: the price used, runs, total, per answer, cached share and saving; then the
    run's total."""
    rows = []
    costs = side_costs(comparison, prices)
    for side, price, cost in zip(comparison.sides, prices, costs):
        answered = sum(1 for run in side.runs if run.ok)
        rows.append(_cost_row(side.label, price.label if price else "no price set", cost, answered))
    known = pricing.total(costs)
    if len(comparison.sides) > 1:
        rows.append(_cost_row("All targets", "", known, 0))
    return rows


def _cost_row(label: str, price: str, cost: Cost | None, answered: int) -> dict[str, str]:
    """``answered`` is what the Answers column says when no cost is known (no price set)."""
    if cost is None:
        return {
            "Target": label,
            "Price": price,
            "Answers": str(answered),
            "Total": "–",
            "Per answer": "–",
            "Input cached": "–",
            "Saved by the cache": "–",
        }
    share = cost.cached_share
    return {
        "Target": label,
        "Price": price,
        "Answers": str(cost.answers),
        "Total": pricing.format_usd(cost.total),
        "Per answer": pricing.format_usd(cost.total / max(cost.answers, 1)),
        "Input cached": "–" if share is None else f"{share:.0%}",
        "Saved by the cache": pricing.format_usd(cost.saving),
    }


# --- the load sweep ----------------------------------------------------------------------------


def sweep_rows(sweep: Sweep, price: Price | None = None) -> list[dict[str, str]]:
    """The sweep table as text, with the GPU cost per million output tokens at each step when
    a GPU-hour price is known (the step's wall time shared by its tokens)."""
    rows = []
    for step in sweep.steps:
        row = {
            k: "–" if v is None else f"{v:.3f}" if k.startswith("TTFT") else str(v)
            for k, v in step.row().items()
        }  # TTFT with 3 decimals: "0.050", not "0.05"
        if step.stopped:
            row["Concurrency"] += " (stopped)"
        if isinstance(price, GpuPrice):
            tokens = sum(r.tokens_out for r in step.results if r.outcome == "ok")
            step_cost = pricing.gpu_time_cost(price, step.wall_s).total
            row["GPU cost per 1M tokens out"] = (
                pricing.format_usd(step_cost / tokens * 1_000_000) if tokens else "–"
            )
        rows.append(row)
    return rows


def sweep_facts(sweep: Sweep) -> list[tuple[str, str]]:
    plan = sweep.plan
    facts = [
        ("Date", f"{sweep.created_at:%Y-%m-%d %H:%M:%S %Z}".strip()),
        ("Target", sweep.target.label),
        ("Concurrencies", ", ".join(map(str, plan.concurrencies))),
        ("Seconds per step", f"{plan.step_s:g}"),
        (
            "Bounds",
            (
                f"at most {plan.max_requests_per_step} requests per step, "
                f"{plan.max_total_s:g} s in all; 429s are counted, never retried"
            ),
        ),
    ]
    if sweep.stopped:
        facts.append(("Stopped", "stopped by the person before the end"))
    if sweep.skipped:
        facts.append(("Skipped (time limit)", ", ".join(map(str, sweep.skipped))))
    return facts


def sweep_svg(sweep: Sweep) -> str:
    """Two panels against concurrency: total tokens/s and p95 TTFT, the knee dashed."""
    steps = [s for s in sweep.steps if s.ended_at is not None]
    panels = [
        _sweep_panel(
            steps,
            sweep.knee,
            "Total tokens/s",
            [s.total_tokens_per_s() for s in steps],
            0,
            "#1f6feb",
        ),
        _sweep_panel(
            steps,
            sweep.knee,
            "p95 time to first token (s)",
            [s.ttft(95) for s in steps],
            380,
            "#e8590c",
        ),
    ]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="760" height="240" '
        'font-family="sans-serif" font-size="11" role="img" '
        'aria-label="Load sweep chart">' + "".join(panels) + "</svg>"
    )


def _sweep_panel(
    steps: list[StepResult],
    knee: int | None,
    title: str,
    values: list[float | None],
    x0: float,
    color: str,
) -> str:
    left, top, width, height = x0 + 50, 30, 300, 170
    top_value = max([v for v in values if v is not None] or [1.0]) * 1.15 or 1.0
    n = max(len(steps), 1)

    def sx(i: int) -> float:
        return left + (i + 0.5) * width / n

    def sy(v: float) -> float:
        return top + height - v / top_value * height

    parts = [
        f'<text x="{x0 + 10}" y="16" font-weight="bold">{html.escape(title)}</text>',
        (
            f'<line x1="{left}" y1="{top + height}" x2="{left + width}" '
            f'y2="{top + height}" stroke="#888"/>'
        ),
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{top_value:.3g}</text>',
        f'<text x="{left - 4}" y="{top + height}" text-anchor="end">0</text>',
        (
            f'<text x="{left + width / 2}" y="{top + height + 28}" text-anchor="middle">'
            "concurrent streams</text>"
        ),
    ]
    points = []
    for i, (step, value) in enumerate(zip(steps, values)):
        parts.append(
            f'<text x="{sx(i):.1f}" y="{top + height + 14}" text-anchor="middle">'
            f"{step.concurrency}</text>"
        )
        if step.concurrency == knee:
            parts.append(
                f'<line x1="{sx(i):.1f}" y1="{top}" x2="{sx(i):.1f}" '
                f'y2="{top + height}" stroke="#555" stroke-dasharray="4 3"/>'
                f'<text x="{sx(i) + 3:.1f}" y="{top + 10}">knee</text>'
            )
        if value is not None:
            points.append(f"{sx(i):.1f},{sy(value):.1f}")
            parts.append(f'<circle cx="{sx(i):.1f}" cy="{sy(value):.1f}" r="3" fill="{color}"/>')
    if len(points) > 1:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>'
        )
    return "".join(parts)


def _md_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return ["_Nothing finished._"]
    head = list(rows[0])

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(cell(row.get(h, "")) for h in head) + " |" for row in rows
    ]


def _html_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<p><em>Nothing finished.</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(row.get(h, ''))}</td>" for h in rows[0]) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cost_markdown(rows: list[dict[str, str]]) -> list[str]:
    return ["## Cost", "", *_md_table(rows), ""]


def cost_html(rows: list[dict[str, str]]) -> str:
    return "<h2>Cost</h2>" + _html_table(rows)


def sweep_markdown(sweep: Sweep, price: Price | None = None, level: int = 2) -> list[str]:
    svg64 = base64.b64encode(sweep_svg(sweep).encode()).decode("ascii")
    hashes = "#" * level
    lines = [f"{hashes} Load sweep", ""]
    lines += [f"- **{k}:** {v}" for k, v in sweep_facts(sweep)]
    lines += ["", f"**{sweep.knee_note()}**", "", *_md_table(sweep_rows(sweep, price)), ""]
    lines += [f"![Load sweep chart](data:image/svg+xml;base64,{svg64})", ""]
    return lines


def sweep_html(sweep: Sweep, price: Price | None = None) -> str:
    facts = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in sweep_facts(sweep)
    )
    return (
        f"<h2>Load sweep</h2><dl>{facts}</dl><p><strong>{html.escape(sweep.knee_note())}"
        f"</strong></p>{_html_table(sweep_rows(sweep, price))}{sweep_svg(sweep)}"
    )


def sweep_report_markdown(sweep: Sweep, price: Price | None = None) -> str:
    """The sweep on its own, as one Markdown file."""
    return "\n".join(["# Baseten Chat: load sweep", "", *sweep_markdown(sweep, price)])

"""The load sweep's chart: the knee rule is drawn only where latency really climbed."""

from __future__ import annotations

from chatapp.services.load_sweep import RequestResult, StepResult, Sweep, SweepPlan
from chatapp.targets import Target
from chatapp.ui.sweep_ui import CHART_HEIGHT, sweep_chart

DEDICATED = Target(kind="dedicated", model="abcd1234")


def sweep_with(ttfts: list[float]) -> Sweep:
    result = Sweep(DEDICATED, "Load", SweepPlan(tuple(2**i for i in range(len(ttfts))), 2))
    for i, ttft in enumerate(ttfts):
        concurrency = 2**i
        result.steps.append(
            StepResult(
                concurrency, 0.0, 2.0, [RequestResult("ok", ttft, 1.0, 100, 50.0)] * concurrency
            )
        )
    return result


def test_a_sweep_whose_latency_climbs_draws_the_knee_rule():
    chart = sweep_chart(sweep_with([0.2, 0.21, 0.9])).to_dict()
    assert len(chart["layer"]) == 3
    assert chart["height"] == CHART_HEIGHT


def test_a_flat_sweep_draws_no_knee_rule_at_its_last_step():
    chart = sweep_chart(sweep_with([0.2, 0.2, 0.21])).to_dict()
    assert len(chart["layer"]) == 2

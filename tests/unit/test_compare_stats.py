"""Compare statistics: percentiles, cold-start flagging and leaving it out, the verdict."""

from __future__ import annotations

import pytest

from chatapp.services.chat import ReplyMetrics
from chatapp.services.compare import (
    Comparison,
    RunRecord,
    SideResult,
    is_cold_start,
    percentile,
    runs_used,
    summarize,
    summarize_all,
)
from chatapp.services.compare_report import verdict
from chatapp.targets import Target

FAST = Target(kind="dedicated", model="abcd1234")
SLOW = Target(kind="model_apis", model="zai-org/GLM-4.6")


def metrics(ttft: float, tps: float = 100.0, total: float = 1.0, out: int = 24) -> ReplyMetrics:
    return ReplyMetrics(ttft, total, 12, out, tps, "stop")


def side_with(ttfts: list[float], target: Target = FAST, name: str = "A") -> SideResult:
    side = SideResult(name, target)
    side.runs = [RunRecord(i + 1, metrics(t)) for i, t in enumerate(ttfts)]
    return side


def test_percentiles_interpolate_between_ranks_like_numpy_linear() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_percentile_of_one_value_is_that_value_and_of_none_is_none() -> None:
    assert percentile([0.7], 50) == 0.7
    assert percentile([0.7], 95) == 0.7
    assert percentile([], 50) is None


def test_a_first_run_much_slower_than_the_rest_is_flagged_as_a_cold_start() -> None:
    assert is_cold_start(side_with([9.0, 0.5, 0.6, 0.4]))


def test_a_slow_first_run_under_one_second_is_not_a_cold_start() -> None:
    """0.9 s vs 0.05 s is 18x, but under a second it is noise, not a model waking up."""
    assert not is_cold_start(side_with([0.9, 0.05, 0.05]))


def test_a_first_run_less_than_three_times_the_median_is_not_a_cold_start() -> None:
    assert not is_cold_start(side_with([2.5, 1.0, 1.0]))


def test_a_single_run_cannot_be_called_a_cold_start() -> None:
    assert not is_cold_start(side_with([30.0]))


def test_a_failed_first_run_is_not_flagged() -> None:
    side = side_with([9.0, 0.5, 0.5])
    side.runs[0].error = "boom"
    assert not is_cold_start(side)


def test_excluding_the_cold_start_drops_only_run_one_from_the_statistics() -> None:
    side = side_with([9.0, 0.5, 0.6, 0.4])
    assert [r.run for r in runs_used(side, exclude_cold_start=True)] == [2, 3, 4]
    kept = summarize(side, exclude_cold_start=False)
    dropped = summarize(side, exclude_cold_start=True)
    assert kept.runs_used == 4 and dropped.runs_used == 3
    assert dropped.p50["ttft_s"] == pytest.approx(0.5)
    assert kept.p95["ttft_s"] > 5.0 > dropped.p95["ttft_s"]
    assert dropped.cold_start and dropped.cold_start_excluded
    assert kept.cold_start and not kept.cold_start_excluded


def test_excluding_does_nothing_when_no_cold_start_was_flagged() -> None:
    side = side_with([0.5, 0.5, 0.6])
    assert len(runs_used(side, exclude_cold_start=True)) == 3


def test_failed_runs_are_counted_but_left_out_of_the_figures() -> None:
    side = side_with([0.5, 0.5, 0.6])
    side.runs.append(RunRecord(4, metrics(50.0), error="429"))
    summary = summarize(side)
    assert summary.runs_used == 3 and summary.runs_failed == 1
    assert summary.p95["ttft_s"] < 1.0


def test_summary_covers_every_metric_with_p50_and_p95() -> None:
    summary = summarize(side_with([0.2, 0.4]))
    assert set(summary.p50) == {"ttft_s", "tokens_per_s", "total_s", "tokens_in", "tokens_out"}
    assert summary.p50["tokens_out"] == 24 and summary.p95["tokens_in"] == 12


def test_the_verdict_names_the_faster_side_and_by_how_much() -> None:
    comparison = Comparison.new([SLOW, FAST], "hi", "Helpful assistant", "", 2)
    comparison.sides[0].runs = [RunRecord(i, metrics(0.6, tps=20.0, total=1.8)) for i in (1, 2)]
    comparison.sides[1].runs = [RunRecord(i, metrics(0.06, tps=200.0, total=0.2)) for i in (1, 2)]
    lines = verdict(summarize_all(comparison))
    assert lines[0].startswith("Fastest first token: B (Dedicated · abcd1234 · production)")
    assert "10.0× vs A" in lines[0]
    assert lines[1].startswith("Highest throughput: B") and "10.0× vs A" in lines[1]
    assert lines[2].startswith("Quickest full reply: B") and "9.0× vs A" in lines[2]


def test_no_verdict_when_only_one_side_has_figures() -> None:
    comparison = Comparison.new([SLOW, FAST], "hi", "Helpful assistant", "", 1)
    comparison.sides[1].runs = [RunRecord(1, metrics(0.06))]
    comparison.sides[0].error = "401"
    assert verdict(summarize_all(comparison)) == []

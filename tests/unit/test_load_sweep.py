"""Load sweep figures: concurrency input, per-step statistics and where the knee is."""

from __future__ import annotations

import pytest

from chatapp.services.load_sweep import (
    RequestResult,
    StepResult,
    find_knee,
    parse_concurrencies,
)


def step(
    concurrency: int, ttfts: list[float], *, limited: int = 0, wall: float = 2.0, tokens: int = 10
) -> StepResult:
    results = [RequestResult("ok", t, 1.0, tokens, 20.0) for t in ttfts]
    results += [RequestResult("rate_limited")] * limited
    return StepResult(concurrency, started_at=0.0, ended_at=wall, results=results)


def test_concurrencies_are_read_sorted_and_bounded_with_plain_messages():
    assert parse_concurrencies("8, 1,2 ,4") == (1, 2, 4, 8)
    assert parse_concurrencies("") == (1, 2, 4, 8, 16)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_concurrencies("1, two")
    with pytest.raises(ValueError, match="between 1 and 64"):
        parse_concurrencies("0, 4")
    with pytest.raises(ValueError, match="between 1 and 64"):
        parse_concurrencies("100")


def test_a_step_reports_ttft_percentiles_per_stream_and_total_throughput_and_429s():
    s = step(4, [0.1, 0.2, 0.3, 0.4, 0.5], limited=2, wall=2.0, tokens=10)
    row = s.row()
    assert row["TTFT p50 (s)"] == 0.3 and row["TTFT p95 (s)"] == pytest.approx(0.48)
    assert row["Tokens/s per stream"] == 20.0
    assert row["Tokens/s total"] == 25.0  # 5 answers x 10 tokens over 2 s
    assert row["429s"] == 2 and row["Requests"] == 7


def test_the_knee_is_the_last_step_before_p95_ttft_climbs():
    steps = [step(1, [0.2, 0.21]), step(2, [0.2, 0.22]), step(4, [0.21, 0.25]), step(8, [0.4, 0.6])]
    assert find_knee(steps) == 4


def test_requests_refused_with_429_mark_the_knee_even_when_ttft_stays_flat():
    steps = [step(1, [0.2]), step(2, [0.2]), step(4, [0.2] * 10, limited=3)]
    assert find_knee(steps) == 2


def test_no_knee_is_claimed_when_the_first_step_already_fails_and_a_stopped_step_is_ignored():
    assert find_knee([step(1, [], limited=4)]) is None
    stopped = step(8, [5.0])
    stopped.stopped = True
    assert find_knee([step(1, [0.2]), step(2, [0.2]), stopped]) == 2


def test_streams_slowing_to_less_than_two_thirds_of_their_rate_mark_the_knee():
    steps = [step(1, [0.2]), step(2, [0.2]), step(4, [0.21])]
    steps[2].results = [RequestResult("ok", 0.21, 1.0, 10, 12.0)] * 4  # 20 -> 12 tokens/s
    assert find_knee(steps) == 2

"""Injected faults, pacing, rate limits and the stream log, over loopback HTTP.

Timing assertions only check ordering and lower bounds, never tight wall-clock windows."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

MODEL = "zai-org/GLM-4.6"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hello emulator"}]}


def chat_url(emulator: Any) -> str:
    return f"{emulator.model_apis_url}/chat/completions"


def auth(emulator: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.api_key}"}


def post(emulator: Any, **extra: Any) -> httpx.Response:
    return httpx.post(
        chat_url(emulator), json={**BODY, **extra}, headers=auth(emulator), timeout=10
    )


def time_to_first_content(emulator: Any, url: str, body: dict[str, Any]) -> tuple[float, float]:
    """(seconds to the first content chunk, seconds to the end) of a streamed request."""
    start, first = time.monotonic(), None
    with httpx.stream(
        "POST", url, json={**body, "stream": True}, headers=auth(emulator), timeout=10
    ) as response:
        for line in response.iter_lines():
            if first is None and '"content":"' in line and '"content":""' not in line:
                first = time.monotonic() - start
    return first or 0.0, time.monotonic() - start


def test_a_429_fault_repeats_n_times_with_retry_after_then_clears(emulator):
    emulator.fault(status=429, times=2, retry_after=1, path_contains="/chat")
    assert httpx.get(f"{emulator.model_apis_url}/models", headers=auth(emulator)).status_code == 200
    for _ in range(2):
        response = post(emulator)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["type"] == "rate_limit_error"
    assert post(emulator).status_code == 200
    assert [e["status"] for e in emulator.requests()] == [200, 429, 429, 200]


def test_a_fault_on_a_dedicated_route_uses_the_baseten_error_shape(emulator):
    emulator.fault(status=503, path_contains="/predict")
    url = emulator.deployment_url.format(model_id="abcd1234") + "/production/predict"
    response = httpx.post(url, json={"prompt": "x"}, headers=auth(emulator))
    assert response.status_code == 503
    assert response.json()["error_code"] == "model_unavailable"


def test_faults_come_after_auth(emulator):
    emulator.fault(status=500)
    assert httpx.post(chat_url(emulator), json=BODY).status_code == 401
    assert post(emulator).status_code == 500


def test_a_cut_stream_drops_the_connection_after_k_chunks_without_done(emulator):
    emulator.fault(cut_after_chunks=3)
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST",
            chat_url(emulator),
            json={**BODY, "stream": True},
            headers=auth(emulator),
            timeout=10,
        ) as response,
    ):
        for line in response.iter_lines():
            lines.append(line)
    contents = [line for line in lines if '"content":"' in line and '"content":""' not in line]
    assert len(contents) == 3
    assert not any("[DONE]" in line for line in lines)
    assert emulator.requests()[-1]["stream_cut"] is True
    assert post(emulator, stream=True).status_code == 200  # the fault was used up


def test_a_first_token_delay_fault_delays_only_the_next_request(emulator):
    emulator.fault(first_token_delay_s=0.4)
    delayed, _ = time_to_first_content(emulator, chat_url(emulator), BODY)
    normal, _ = time_to_first_content(emulator, chat_url(emulator), BODY)
    assert delayed >= 0.4
    assert normal < delayed


def test_pace_can_be_set_per_model(emulator):
    emulator.configure(
        reply_tokens=10, models={MODEL: {"tokens_per_second": 50, "first_token_delay_s": 0.2}}
    )
    slow_first, slow_total = time_to_first_content(emulator, chat_url(emulator), BODY)
    _fast_first, fast_total = time_to_first_content(
        emulator, chat_url(emulator), {**BODY, "model": "zai-org/GLM-4.7"}
    )
    assert slow_first >= 0.2 and slow_total >= 0.2 + 9 / 50
    assert fast_total < slow_total


def test_global_pace_applies_to_dedicated_and_non_streamed_requests(emulator):
    emulator.configure(first_token_delay_s=0.2)
    url = emulator.deployment_url.format(model_id="abcd1234") + "/production/predict"
    start = time.monotonic()
    assert httpx.post(url, json={"prompt": "x"}, headers=auth(emulator)).status_code == 200
    assert time.monotonic() - start >= 0.2


def test_closing_a_stream_early_is_recorded(emulator):
    emulator.configure(tokens_per_second=20)
    with httpx.stream(
        "POST",
        chat_url(emulator),
        json={**BODY, "stream": True},
        headers=auth(emulator),
        timeout=10,
    ) as response:
        for line in response.iter_lines():
            if '"content":"You' in line:
                break
    entry = emulator.requests()[-1]
    deadline = time.monotonic() + 5
    while not entry["stream_closed_early"] and time.monotonic() < deadline:
        time.sleep(0.05)
        entry = emulator.requests()[-1]
    assert entry["stream_closed_early"] is True and entry["stream_cut"] is False


def test_a_full_stream_is_not_marked_closed_early(emulator):
    with httpx.stream(
        "POST",
        chat_url(emulator),
        json={**BODY, "stream": True},
        headers=auth(emulator),
        timeout=10,
    ) as response:
        response.read()
    assert emulator.requests()[-1]["stream_closed_early"] is False


def test_rpm_limits_requests_with_retry_after(emulator):
    emulator.configure(rpm=2)
    statuses = [post(emulator) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["retry-after"]) >= 1


def test_reset_restores_config_and_clears_log_and_faults(emulator):
    emulator.configure(reply_tokens=5)
    emulator.fault(status=500, times=5)
    post(emulator)
    emulator.reset()
    assert emulator.requests() == []
    body = post(emulator).json()
    assert len(body["choices"][0]["message"]["content"].split()) == 24


def test_unknown_config_keys_and_faults_are_refused(emulator):
    with pytest.raises(ValueError):
        emulator.configure(no_such_key=1)
    with pytest.raises(ValueError):
        emulator.fault(times=2)


def test_a_cut_counts_answer_chunks_not_reasoning_chunks(emulator):
    emulator.fault(cut_after_chunks=2)
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST",
            chat_url(emulator),
            headers=auth(emulator),
            timeout=10,
            json={**BODY, "model": "deepseek-ai/DeepSeek-V3.1", "stream": True},
        ) as response,
    ):
        lines.extend(response.iter_lines())
    assert sum('"reasoning_content":' in line for line in lines) == 4
    assert sum('"content":"' in line and '"content":""' not in line for line in lines) == 2

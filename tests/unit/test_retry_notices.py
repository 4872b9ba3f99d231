"""Waits between retries are announced before they happen, can be stopped, and are capped."""

from __future__ import annotations

import httpx
import pytest

from baseten_llm import Baseten, errors
from baseten_llm._http import HTTPTransport, RetryNotice
from baseten_llm.config import ClientConfig

URL = "https://inference.example/v1/chat/completions"


def rate_limited_then_ok(limited: int, retry_after: str = "30"):
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= limited:
            return httpx.Response(429, headers={"Retry-After": retry_after}, json={"error": "slow"})
        return httpx.Response(200, json={"ok": True})

    return handler, calls


def transport(handler, *, max_retries: int = 3, cap: float | None = None):
    notices: list[RetryNotice] = []
    slept: list[float] = []
    config = ClientConfig.resolve(api_key="k", max_retries=max_retries)
    return (
        HTTPTransport(
            config,
            client=httpx.Client(transport=httpx.MockTransport(handler)),
            sleep=slept.append,
            on_retry=notices.append,
            max_total_retry_wait_s=cap,
        ),
        notices,
        slept,
    )


def test_each_wait_is_announced_with_the_attempt_it_leads_to() -> None:
    handler, _ = rate_limited_then_ok(2)
    sender, notices, slept = transport(handler)
    assert sender.request_json("POST", URL, json_body={}) == {"ok": True}
    assert [(n.attempt, n.max_attempts, n.delay_s, n.waited_s) for n in notices] == [
        (2, 4, 30.0, 0.0),
        (3, 4, 30.0, 30.0),
    ]
    assert isinstance(notices[0].error, errors.RateLimitError)
    assert slept == [30.0, 30.0]


def test_the_total_wait_is_capped_and_the_error_says_how_long_was_waited() -> None:
    handler, calls = rate_limited_then_ok(5)
    sender, notices, slept = transport(handler, cap=45.0)
    with pytest.raises(errors.RateLimitError) as caught:
        sender.request_json("POST", URL, json_body={})
    assert slept == [30.0]  # a second 30 s wait would pass the 45 s cap
    assert calls["n"] == 2
    assert caught.value.gave_up_after_s == 30.0
    assert notices[0].max_total_wait_s == 45.0


def test_a_sleep_that_raises_stops_the_retries_at_once() -> None:
    handler, calls = rate_limited_then_ok(5)

    class Stopped(Exception):
        pass

    def stop(_seconds: float) -> None:
        raise Stopped

    config = ClientConfig.resolve(api_key="k", max_retries=3)
    sender = HTTPTransport(
        config, client=httpx.Client(transport=httpx.MockTransport(handler)), sleep=stop
    )
    with pytest.raises(Stopped):
        sender.request_json("POST", URL, json_body={})
    assert calls["n"] == 1


def test_the_llm_passes_its_retry_callback_sleep_and_cap_to_the_transport() -> None:
    handler, _ = rate_limited_then_ok(1, retry_after="2")
    notices: list[RetryNotice] = []
    slept: list[float] = []
    llm = Baseten(
        model_id="deepseek-ai/DeepSeek-V3.1",
        api_key="k",
        model_apis_url="https://inference.example/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        on_retry=notices.append,
        retry_sleep=slept.append,
        max_total_retry_wait_s=60,
    )
    llm._transport.request_json("POST", URL, json_body={})
    assert [n.attempt for n in notices] == [2] and slept == [2.0]

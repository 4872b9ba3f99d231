"""Retry policy, Retry-After parsing and status-code mapping, without sleeping."""

import email.utils

import httpx
import pytest

from baseten_llm import errors
from baseten_llm._http import (
    HTTPTransport,
    error_from_response,
    is_retryable,
    parse_retry_after,
    retry_delay,
)
from baseten_llm.config import ClientConfig

KEY = "sk-test-SECRET-KEY-123"


def test_full_jitter_draws_up_to_the_exponential_ceiling():
    assert [retry_delay(n, rand=lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert retry_delay(3, rand=lambda: 0.0) == 0.0
    assert retry_delay(2, rand=lambda: 0.25) == 0.5


def test_a_retry_after_hint_wins_and_is_capped():
    assert retry_delay(0, retry_after=3.0, rand=lambda: 1.0) == 3.0
    assert retry_delay(5, retry_after=0.0) == 0.0
    assert retry_delay(0, retry_after=10_000) == 60.0


@pytest.mark.parametrize(
    "value, expected",
    [("2", 2.0), (" 1.5 ", 1.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_in_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (402, errors.PaymentRequiredError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (413, errors.PayloadTooLargeError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.APIStatusError),
    ],
)
def test_each_status_maps_to_its_error_class(status, cls):
    error = error_from_response(
        status, b'{"error": "nope"}', httpx.Headers({"x-baseten-request-id": "r1"})
    )
    assert type(error) is cls
    assert error.status_code == status and error.request_id == "r1"
    assert "nope" in str(error)


def test_both_error_body_shapes_are_read():
    baseten = error_from_response(400, b'{"error": "bad temperature"}', httpx.Headers())
    openai = error_from_response(
        400, b'{"error": {"message": "bad top_p", "type": "x"}}', httpx.Headers()
    )
    assert "bad temperature" in str(baseten) and "bad top_p" in str(openai)


def test_rate_limit_carries_retry_after_and_404_carries_the_hint():
    limited = error_from_response(429, b"{}", httpx.Headers({"retry-after": "7"}))
    assert limited.retry_after == 7.0
    missing = error_from_response(
        404, b"{}", httpx.Headers(), not_found_hint=lambda: ("Check the slug.", ["a/b"])
    )
    assert "Check the slug." in str(missing) and missing.suggestions == ["a/b"]


def test_which_errors_are_retried():

    def make(s):
        return error_from_response(s, b"", httpx.Headers())

    assert [
        s for s in (400, 401, 404, 413, 422, 429, 500, 501, 502, 503, 504) if is_retryable(make(s))
    ] == [429, 500, 502, 503, 504]
    assert is_retryable(errors.APIConnectionError("down"))
    assert not is_retryable(errors.APITimeoutError("read timeout"))


def transport_with(replies, max_retries=3):
    calls, sleeps = [], []

    def handler(request):
        calls.append(request)
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    client = httpx.Client(transport=httpx.MockTransport(handler))
    config = ClientConfig.resolve(api_key=KEY, max_retries=max_retries, env={})
    return (
        HTTPTransport(config, client=client, sleep=sleeps.append, rand=lambda: 1.0),
        calls,
        sleeps,
    )


def test_429_twice_then_success_sleeps_as_told():
    replies = [
        httpx.Response(429, headers={"retry-after": "2"}),
        httpx.Response(429, headers={"retry-after": "1"}),
        httpx.Response(200, json={"ok": True}),
    ]
    transport, calls, sleeps = transport_with(replies)
    assert transport.request_json("GET", "https://x/y") == {"ok": True}
    assert len(calls) == 3 and sleeps == [2.0, 1.0]
    assert calls[0].headers["authorization"] == f"Bearer {KEY}"


def test_5xx_and_connection_errors_back_off_exponentially_then_give_up():
    replies = [
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.Response(502),
        httpx.Response(500),
    ]
    transport, calls, sleeps = transport_with(replies)
    with pytest.raises(errors.ServerError) as info:
        transport.request_json("POST", "https://x/y", json_body={})
    assert info.value.status_code == 500 and len(calls) == 4 and sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422])
def test_other_4xx_are_never_retried(status):
    transport, calls, sleeps = transport_with([httpx.Response(status, json={"error": "no"})])
    with pytest.raises(errors.APIStatusError):
        transport.request_json("GET", "https://x/y")
    assert len(calls) == 1 and sleeps == []


def test_timeouts_become_api_timeout_errors_without_the_key():
    transport, calls, _ = transport_with([httpx.ReadTimeout("slow")])
    with pytest.raises(errors.APITimeoutError) as info:
        transport.request_json("GET", "https://x/y")
    assert len(calls) == 1 and KEY not in str(info.value)


def test_a_server_echoing_the_key_does_not_leak_it():
    transport, _, _ = transport_with([httpx.Response(401, json={"error": f"bad key {KEY}"})])
    with pytest.raises(errors.AuthenticationError) as info:
        transport.request_json("GET", "https://x/y")
    assert KEY not in str(info.value) and KEY not in repr(info.value)

"""Hostile but correctly signed deliveries: the receiver stores only what the app can show
again, answers 400 (never 500) for the rest, and times out a stalled body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatapp.services.webhook_receiver import make_receiver_engine, make_webhook_app
from chatapp.settings import WEBHOOK_PATH
from tests.asgi_server import serve_asgi
from tests.unit.test_webhook_receiver import (
    SECRET,
    make_config,
    post,
    rows,
    sign,
)
from tests.unit.test_webhook_receiver import (
    setup as setup,  # a fixture: the tests take it by name
)


def envelope_text(data_json: str, request_id: str = "d" * 32) -> str:
    """A Baseten webhook body with ``data`` spliced in as raw JSON text."""
    sent = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f'{{"request_id":"{request_id}","model_id":"abcd1234","deployment_id":"dep12345",'
        f'"type":"async_request_completed","time":"{sent}","data":{data_json},"errors":[]}}'
    )


@pytest.mark.parametrize(
    "data_json, reason",
    [
        ('{"output":"\\ud800"}', "not valid Unicode"),
        ('["\\udfff tail"]', "not valid Unicode"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"output":' + "[" * 150 + "]" * 150 + "}", "nested too deeply"),
        ('{"score":NaN}', "not finite"),
    ],
    ids=["lone-surrogate", "lone-low-surrogate", "100000-deep", "150-deep", "nan"],
)
def test_a_signed_body_the_app_could_not_store_or_show_gets_400_and_nothing_is_stored(
    setup, data_json, reason
):
    client, engine = setup()
    body = envelope_text(data_json).encode()
    answer = post(client, body, sign(body, SECRET))
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert rows(engine) == []


def test_a_signed_utf16_body_gets_400_not_500(setup):
    client, engine = setup()
    body = envelope_text('{"output":"hi"}').encode("utf-16")
    answer = post(client, body, sign(body, SECRET))
    assert answer.status_code == 400
    assert "not UTF-8" in answer.json()["error"]
    assert rows(engine) == []


def test_an_unsigned_deep_or_surrogate_body_gets_400_in_development_mode(setup):
    client, engine = setup(secrets=(), unsigned=True)
    for data_json in ("[" * 100_000 + "]" * 100_000, '"\\ud800"'):
        assert post(client, envelope_text(data_json).encode(), None).status_code == 400
    assert rows(engine) == []


def test_ordinary_nested_output_is_still_stored(setup):
    client, engine = setup()
    body = envelope_text(json.dumps({"choices": [{"message": {"content": "héllo ✓"}}]})).encode()
    assert post(client, body, sign(body, SECRET)).status_code == 200
    (stored,) = rows(engine)
    assert stored.data["choices"][0]["message"]["content"] == "héllo ✓"


@pytest.fixture()
def receiver_on_a_socket(tmp_path: Path) -> Iterator[int]:
    """The receiver served by uvicorn on a free loopback port, with a 1 s body timeout."""
    config = make_config(tmp_path)
    with serve_asgi(
        make_webhook_app(config, make_receiver_engine(config), body_timeout_s=1.0)
    ) as port:
        yield port


def test_a_stalled_body_is_timed_out_with_408_and_its_connection_closed(receiver_on_a_socket):
    with socket.create_connection(("127.0.0.1", receiver_on_a_socket), timeout=60) as conn:
        conn.sendall(
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"req'.encode()
        )
        received = b""
        while True:  # read until the server closes the connection (or the 60 s socket timeout)
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    assert received.startswith(b"HTTP/1.1 408")
    assert b"did not arrive" in received

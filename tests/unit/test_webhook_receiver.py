"""The webhook receiver, driven over ASGI with Starlette's TestClient (no network)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from chatapp.services.webhook_receiver import make_receiver_engine, make_webhook_app
from chatapp.settings import WEBHOOK_PATH, AppConfig, load_config_without_streamlit
from chatapp.storage.db import session_scope
from chatapp.storage.jobs import WebhookResult

SECRET = "whsec_" + "A" * 40
OLD_SECRET = "whsec_" + "B" * 40


def make_config(
    tmp_path: Path,
    secrets: tuple[str, ...] = (SECRET,),
    unsigned: bool = False,
    database_url: str | None = None,
):
    return AppConfig(
        data_dir=tmp_path,
        database_url=database_url or f"sqlite:///{tmp_path / 'db.sqlite'}",
        webhook_secrets=secrets,
        allow_unsigned_webhooks=unsigned,
    )


def body_for(request_id: str = "a" * 32, *, sent: datetime | None = None, data=None) -> bytes:
    sent = sent or datetime.now(timezone.utc)
    payload = {
        "request_id": request_id,
        "model_id": "abcd1234",
        "deployment_id": "dep12345",
        "type": "async_request_completed",
        "time": sent.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {"output": "You said: hello"} if data is None else data,
        "errors": [],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(body: bytes, *secrets: str) -> str:
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def rows(engine: Engine) -> list[WebhookResult]:
    with session_scope(engine) as session:
        return list(session.scalars(select(WebhookResult)))


@pytest.fixture()
def setup(tmp_path: Path, database_url: str):
    """Builds the receiver on a database of each kind (SQLite and PostgreSQL)."""
    engines: list[Engine] = []

    def build(**kwargs):
        config = make_config(tmp_path, database_url=database_url, **kwargs)
        engine = make_receiver_engine(config)
        engines.append(engine)
        return TestClient(make_webhook_app(config, engine)), engine

    yield build
    for engine in engines:
        engine.dispose()


def post(client: TestClient, body: bytes, signature: str | None, **headers: str):
    if signature is not None:
        headers["X-BASETEN-SIGNATURE"] = signature
    return client.post(
        WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json", **headers}
    )


def test_a_correctly_signed_delivery_is_stored_once_and_answered_200(setup):
    client, engine = setup()
    body = body_for("1" * 32)
    answer = post(client, body, sign(body, SECRET))
    assert answer.status_code == 200
    (stored,) = rows(engine)
    assert stored.request_id == "1" * 32
    assert stored.data == {"output": "You said: hello"}
    assert stored.raw_body == body.decode()
    assert stored.model_id == "abcd1234"


def test_a_second_delivery_of_the_same_request_answers_200_and_changes_nothing(setup):
    client, engine = setup()
    first = body_for("2" * 32, data={"output": "first"})
    again = body_for("2" * 32, data={"output": "second"})
    assert post(client, first, sign(first, SECRET)).status_code == 200
    answer = post(client, again, sign(again, SECRET))
    assert answer.status_code == 200
    assert answer.json()["stored"] is False
    (stored,) = rows(engine)
    assert stored.data == {"output": "first"}


def test_a_forged_signature_is_refused_with_401_and_nothing_is_stored(setup):
    client, engine = setup()
    body = body_for()
    forged = sign(body, "whsec_" + "Z" * 40)
    assert post(client, body, forged).status_code == 401
    assert rows(engine) == []


def test_a_body_altered_after_signing_is_refused(setup):
    client, engine = setup()
    body = body_for()
    signature = sign(body, SECRET)
    tampered = body.replace(b"hello", b"HELLO")
    assert post(client, tampered, signature).status_code == 401
    assert rows(engine) == []


def test_a_delivery_without_a_signature_header_is_refused(setup):
    client, engine = setup()
    assert post(client, body_for(), None).status_code == 401
    assert rows(engine) == []


def test_a_delivery_sent_longer_ago_than_the_tolerance_is_refused_as_a_replay(setup):
    client, engine = setup()
    body = body_for(sent=datetime.now(timezone.utc) - timedelta(minutes=10))
    assert post(client, body, sign(body, SECRET)).status_code == 401
    assert rows(engine) == []


def test_a_body_declared_over_the_size_limit_is_refused_with_413(setup):
    client, engine = setup()
    big = b'{"pad":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert post(client, big, sign(big, SECRET)).status_code == 413
    assert rows(engine) == []


def test_a_body_streamed_without_length_over_the_limit_is_refused_with_413(setup):
    client, engine = setup()

    def chunks():
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    answer = client.post(WEBHOOK_PATH, content=chunks(), headers={"X-BASETEN-SIGNATURE": "v1=00"})
    assert answer.status_code == 413
    assert rows(engine) == []


def test_a_signed_body_that_is_not_json_is_refused_with_400(setup):
    client, engine = setup()
    body = b"{not json"
    assert post(client, body, sign(body, SECRET)).status_code == 400
    assert rows(engine) == []


def test_with_no_secret_configured_every_delivery_is_refused(setup):
    client, engine = setup(secrets=())
    body = body_for()
    assert post(client, body, sign(body, SECRET)).status_code == 401
    assert post(client, body, None).status_code == 401
    assert rows(engine) == []


def test_unsigned_deliveries_are_accepted_only_with_the_development_flag(setup):
    client, engine = setup(secrets=(), unsigned=True)
    body = body_for("3" * 32)
    assert post(client, body, None).status_code == 200
    (stored,) = rows(engine)
    assert stored.request_id == "3" * 32
    assert stored.signed == 0


def test_an_unsigned_delivery_that_is_not_json_is_refused_even_in_development(setup):
    client, engine = setup(secrets=(), unsigned=True)
    assert post(client, b"[1, 2", None).status_code == 400
    assert rows(engine) == []


def test_the_development_flag_does_not_let_unsigned_deliveries_past_a_configured_secret(setup):
    client, engine = setup(unsigned=True)
    assert post(client, body_for(), None).status_code == 401
    assert rows(engine) == []


@pytest.mark.parametrize("signing_secret", [SECRET, OLD_SECRET])
def test_during_rotation_a_signature_by_either_configured_secret_is_accepted(setup, signing_secret):
    client, engine = setup(secrets=(SECRET, OLD_SECRET))
    body = body_for("4" * 32)
    assert post(client, body, sign(body, signing_secret)).status_code == 200
    assert len(rows(engine)) == 1


def test_a_header_with_one_signature_per_active_secret_is_accepted(setup):
    client, engine = setup(secrets=(OLD_SECRET,))
    body = body_for("5" * 32)
    assert post(client, body, sign(body, SECRET, OLD_SECRET)).status_code == 200
    assert len(rows(engine)) == 1


def test_a_result_for_a_request_this_app_did_not_submit_is_still_stored(setup):
    client, engine = setup()
    body = body_for("f" * 32)
    assert post(client, body, sign(body, SECRET)).status_code == 200
    assert [r.request_id for r in rows(engine)] == ["f" * 32]


def test_a_request_id_with_path_characters_is_refused(setup):
    client, engine = setup()
    body = body_for("../../etc")
    assert post(client, body, sign(body, SECRET)).status_code == 400
    assert rows(engine) == []


def test_a_stored_result_is_committed_before_the_answer_and_visible_to_another_engine(
    setup, tmp_path, database_url
):
    client, _ = setup()
    body = body_for("6" * 32)
    assert post(client, body, sign(body, SECRET)).status_code == 200
    other = make_receiver_engine(make_config(tmp_path, database_url=database_url))
    with session_scope(other) as session:
        assert session.scalar(select(func.count()).select_from(WebhookResult)) == 1
    other.dispose()


def test_refusals_are_logged_without_the_secret_or_the_body(setup, caplog):
    client, _ = setup()
    body = body_for(data={"output": "private words"})
    with caplog.at_level("INFO", logger="chatapp.webhooks"):
        post(client, body, sign(body, "whsec_" + "Q" * 40))
    text = caplog.text
    assert "refused: 401" in text
    assert SECRET not in text and "private words" not in text


def test_the_receiver_reads_its_config_from_a_secrets_file_without_streamlit(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'BASETEN_WEBHOOK_SECRETS = "{SECRET},{OLD_SECRET}"\n')
    config = load_config_without_streamlit((secrets,), {"BASETEN_CHAT_DATA_DIR": str(tmp_path)})
    assert config.webhook_secrets == (SECRET, OLD_SECRET)
    assert config.data_dir == tmp_path.resolve()


def test_the_mounted_route_gets_the_process_receiver_on_the_first_delivery_and_keeps_it(
    tmp_path: Path,
):
    from starlette.applications import Starlette

    from chatapp.services.webhook_receiver import WebhookReceiver, webhook_routes

    config = make_config(tmp_path)
    engine = make_receiver_engine(config)
    asked: list[WebhookReceiver] = []

    def the_receiver() -> WebhookReceiver:
        asked.append(WebhookReceiver(config, engine))
        return asked[-1]

    client = TestClient(Starlette(routes=webhook_routes(the_receiver)))
    assert asked == []  # nothing is built before a delivery arrives
    for request_id in ("5" * 32, "6" * 32):
        body = body_for(request_id)
        assert post(client, body, sign(body, SECRET)).status_code == 200
    assert len(asked) == 1 and sorted(r.request_id for r in rows(engine)) == ["5" * 32, "6" * 32]

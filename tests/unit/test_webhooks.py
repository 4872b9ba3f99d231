"""Webhook signature and timestamp checks, including secret rotation and tolerance edges."""

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from baseten_llm import errors
from baseten_llm.webhooks import verify_webhook

OLD = "whsec_" + "A" * 40
NEW = "whsec_" + "b1" * 20
SENT = datetime(2024, 4, 30, 1, 1, 8, 883423, tzinfo=timezone.utc)
BODY = json.dumps(
    {
        "request_id": "9876543210abcdef1234567890fedcba",
        "model_id": "abcd1234",
        "deployment_id": "def45678",
        "type": "async_request_completed",
        "time": "2024-04-30T01:01:08.883423Z",
        "data": {"output": "hi"},
        "errors": [],
    },
    separators=(",", ":"),
).encode()


def sign(body, secret):
    # Written independently of the module under test: hex HMAC-SHA256 keyed by the whole secret.
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_valid_signature_returns_the_typed_payload():
    payload = verify_webhook(BODY, sign(BODY, OLD), [OLD], now=SENT)
    assert payload.request_id == "9876543210abcdef1234567890fedcba"
    assert payload.model_id == "abcd1234" and payload.deployment_id == "def45678"
    assert payload.type == "async_request_completed" and payload.data == {"output": "hi"}
    assert payload.time == SENT and payload.errors == () and payload.succeeded
    with pytest.raises(AttributeError):
        payload.request_id = "x"  # frozen


@pytest.mark.parametrize(
    "header_secrets, configured",
    [
        ((NEW, OLD), [OLD]),
        ((NEW, OLD), [NEW]),
        ((OLD,), [NEW, OLD]),
        ((NEW, OLD), [OLD, NEW]),
    ],
)
def test_rotation_any_entry_may_match_any_secret(header_secrets, configured):
    header = ",".join(sign(BODY, s) for s in header_secrets)
    assert verify_webhook(BODY, header, configured, now=SENT).request_id


def test_spaces_around_entries_are_tolerated():
    header = f" {sign(BODY, NEW)} , {sign(BODY, OLD)} "
    assert verify_webhook(BODY, header, [OLD], now=SENT)


@pytest.mark.parametrize(
    "header, secrets",
    [
        (None, [OLD]),
        ("", [OLD]),
        ("v2=abc", [OLD]),
        (sign(BODY, OLD), []),
        (sign(BODY, NEW), [OLD]),
        (sign(BODY, OLD).upper().replace("V1=", "v1=") + "00", [OLD]),
    ],
)
def test_missing_or_wrong_signatures_are_rejected(header, secrets):
    with pytest.raises(errors.WebhookSignatureError):
        verify_webhook(BODY, header, secrets, now=SENT)


def test_a_changed_body_fails_the_signature():
    tampered = BODY.replace(b'"hi"', b'"ho"')
    with pytest.raises(errors.WebhookSignatureError):
        verify_webhook(tampered, sign(BODY, OLD), [OLD], now=SENT)


@pytest.mark.parametrize("offset", [-300, 300, 0, -299.999, 299.999])
def test_times_within_the_tolerance_pass(offset):
    assert verify_webhook(BODY, sign(BODY, OLD), [OLD], now=SENT + timedelta(seconds=offset))


@pytest.mark.parametrize("offset", [-300.001, 300.001, 3600])
def test_times_just_past_the_tolerance_fail(offset):
    with pytest.raises(errors.WebhookTimestampError):
        verify_webhook(BODY, sign(BODY, OLD), [OLD], now=SENT + timedelta(seconds=offset))


def test_now_may_be_epoch_seconds_and_tolerance_is_configurable():
    epoch = SENT.timestamp()
    assert verify_webhook(BODY, sign(BODY, OLD), [OLD], now=epoch + 10, tolerance_s=10)
    with pytest.raises(errors.WebhookTimestampError):
        verify_webhook(BODY, sign(BODY, OLD), [OLD], now=epoch + 11, tolerance_s=10)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1,2]",
        b'{"request_id":"x"}',
        b'{"request_id":"x","type":"t","time":"yesterday"}',
    ],
)
def test_bad_bodies_raise_payload_errors(body):
    with pytest.raises(errors.WebhookPayloadError):
        verify_webhook(body, sign(body, OLD), [OLD], now=SENT)


def test_all_webhook_errors_share_the_verification_base():
    for cls in (
        errors.WebhookSignatureError,
        errors.WebhookTimestampError,
        errors.WebhookPayloadError,
    ):
        assert issubclass(cls, errors.WebhookVerificationError) and issubclass(
            cls, errors.BasetenError
        )

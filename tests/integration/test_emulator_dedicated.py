"""The emulator's dedicated-deployment surface (`/model-{id}/...`), over loopback HTTP."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest


def url(emulator: Any, model_id: str, path: str) -> str:
    return emulator.deployment_url.format(model_id=model_id) + path


def headers(emulator: Any) -> dict[str, str]:
    return {"Authorization": f"Api-Key {emulator.api_key}"}


@pytest.mark.parametrize(
    "target",
    [
        "production",
        "environments/production",
        "environments/staging",
        "development",
        "deployment/zz99yy88",
    ],
)
def test_chat_completions_work_under_every_target(emulator, target):
    response = httpx.post(
        url(emulator, "abcd1234", f"/{target}/sync/v1/chat/completions"),
        headers=headers(emulator),
        json={"model": "anything", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("You said: hi ")
    assert response.json()["model"] == "anything"


def test_dedicated_models_reports_the_context_window(emulator):
    body = httpx.get(
        url(emulator, "efgh5678", "/production/sync/v1/models"), headers=headers(emulator)
    ).json()
    assert body["data"][0]["id"] == "efgh5678"
    assert body["data"][0]["max_model_len"] == 131072


def test_predict_returns_json_output_with_a_request_id_header(emulator):
    response = httpx.post(
        url(emulator, "abcd1234", "/production/predict"),
        headers=headers(emulator),
        json={"prompt": "tell me", "max_tokens": 4},
    )
    assert response.status_code == 200
    assert response.json() == {"output": "You said: tell me "}
    assert len(response.headers["x-baseten-request-id"]) == 32


def test_predict_with_stream_true_sends_raw_chunked_words(emulator):
    with httpx.stream(
        "POST",
        url(emulator, "abcd1234", "/production/predict"),
        headers=headers(emulator),
        json={"messages": [{"role": "user", "content": "stream it"}], "stream": True},
    ) as response:
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["transfer-encoding"] == "chunked"
        assert "x-baseten-request-id" in response.headers
        text = b"".join(response.iter_bytes()).decode()
    assert text.startswith("You said: stream it ") and len(text.split()) == 24
    assert "data:" not in text


def test_embeddings_are_deterministic_unit_vectors_in_a_batch(emulator):
    body = httpx.post(
        url(emulator, "emb12345", "/environments/production/sync/v1/embeddings"),
        headers=headers(emulator),
        json={"input": ["alpha beta", "gamma", "alpha beta"], "model": "x"},
    ).json()
    vectors = [row["embedding"] for row in body["data"]]
    assert [row["index"] for row in body["data"]] == [0, 1, 2]
    assert all(len(v) == 384 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-9)
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert body["usage"] == {"prompt_tokens": 5, "total_tokens": 5}


@pytest.mark.parametrize(
    "path", ["/production/predict", "/environments/nowhere/predict", "/production/no_such_route"]
)
def test_unknown_models_environments_and_routes_are_404s_in_baseten_shape(emulator, path):
    for model_id in ("zzzz0000", "abcd1234"):
        response = httpx.post(
            url(emulator, model_id, path), headers=headers(emulator), json={"prompt": "x"}
        )
        if model_id == "abcd1234" and path == "/production/predict":
            continue
        assert response.status_code == 404
        assert isinstance(response.json()["error"], str) and "error_code" in response.json()


def test_a_dedicated_401_uses_the_baseten_error_shape(emulator):
    response = httpx.post(url(emulator, "abcd1234", "/production/predict"), json={"prompt": "x"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "unauthorized"


def test_wake_is_accepted_and_queue_status_counts_jobs(emulator):
    wake = httpx.post(url(emulator, "abcd1234", "/production/wake"), headers=headers(emulator))
    assert wake.status_code == 202
    status = httpx.get(
        url(emulator, "abcd1234", "/production/async_queue_status"), headers=headers(emulator)
    ).json()
    assert status == {
        "model_id": "abcd1234",
        "deployment_id": "prodabcd",
        "num_queued_requests": 0,
        "num_in_progress_requests": 0,
    }

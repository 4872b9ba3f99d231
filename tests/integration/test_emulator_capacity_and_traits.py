"""The emulator's deployment capacity, prompt-cache accounting and model traits, over loopback."""

from __future__ import annotations

import base64
import io
import time
from contextlib import ExitStack
from typing import Any

import httpx
from PIL import Image

from baseten_llm.emulator.capacity import CapacityLimits, CapacityTracker

CHAT = "/environments/production/sync/v1/chat/completions"


def auth(emulator: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.api_key}"}


def dedicated_url(emulator: Any, model_id: str) -> str:
    return emulator.deployment_url.format(model_id=model_id) + CHAT


def chat_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_deployment_refuses_with_429_once_its_streams_and_queue_are_full(emulator):
    emulator.configure(
        tokens_per_second=5.0, models={"abcd1234": {"capacity_streams": 2, "queue_limit": 1}}
    )
    url = dedicated_url(emulator, "abcd1234")
    with httpx.Client(timeout=20) as client, ExitStack() as open_streams:
        for _ in range(3):
            response = open_streams.enter_context(
                client.stream("POST", url, json=chat_body(stream=True), headers=auth(emulator))
            )
            assert response.status_code == 200
        refused = client.post(url, json=chat_body(), headers=auth(emulator))
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert emulator.capacity()["active"]["abcd1234"] == 3
    # Every stream the client closed gives its place back.
    wait_until(lambda: emulator.capacity()["active"]["abcd1234"] == 0)
    assert emulator.capacity()["refused"]["abcd1234"] == 1


def test_streams_past_full_speed_are_slowed_in_proportion_to_the_load():
    tracker, limits = CapacityTracker(), CapacityLimits(streams=4, queue=8)
    for _ in range(4):
        assert tracker.try_admit("m", limits)
    assert tracker.slowdown("m", limits) == 1.0
    for _ in range(4):
        tracker.try_admit("m", limits)
    assert tracker.slowdown("m", limits) == 2.0
    for _ in range(4):
        tracker.try_admit("m", limits)
    assert not tracker.try_admit("m", limits)
    tracker.release("m")
    assert tracker.slowdown("m", limits) == 11 / 4


def test_a_repeated_prefix_is_reported_as_cached_tokens_on_the_same_replica(emulator):
    url = f"{emulator.model_apis_url}/chat/completions"
    first = [
        {"role": "system", "content": "You are terse and exact"},
        {"role": "user", "content": "what is a KV cache"},
    ]
    second = [
        *first,
        {"role": "assistant", "content": "a store"},
        {"role": "user", "content": "and why does it help"},
    ]
    headers = {**auth(emulator), "x-session-affinity": "conversation-1"}

    def usage(messages: list[dict[str, str]], extra: dict[str, str]) -> dict[str, Any]:
        body = {"model": "zai-org/GLM-4.6", "messages": messages}
        return httpx.post(url, json=body, headers=extra, timeout=10).json()["usage"]

    assert usage(first, headers)["prompt_tokens_details"]["cached_tokens"] == 0
    again = usage(second, headers)
    assert again["prompt_tokens_details"]["cached_tokens"] == 10  # the first turn's 10 words
    assert again["prompt_tokens"] == 17


def test_without_session_affinity_turns_land_on_different_replicas_and_miss(emulator):
    url = f"{emulator.model_apis_url}/chat/completions"
    messages = [{"role": "user", "content": "the same long question every time"}]
    cached = [
        httpx.post(
            url,
            json={"model": "zai-org/GLM-4.6", "messages": messages},
            headers=auth(emulator),
            timeout=10,
        ).json()["usage"]["prompt_tokens_details"]["cached_tokens"]
        for _ in range(4)
    ]
    assert cached == [0, 0, 5, 5]  # round robin over two replicas


def test_a_weak_model_ignores_tools_and_schemas_and_reports_no_usage(emulator):
    url = dedicated_url(emulator, "weak1234")
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    body = httpx.post(url, json=chat_body(tools=[tool]), headers=auth(emulator), timeout=10).json()
    message = body["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"].startswith("You said")
    assert "usage" not in body
    off = httpx.post(
        url,
        json=chat_body(chat_template_args={"enable_thinking": False}),
        headers=auth(emulator),
        timeout=10,
    ).json()
    assert off["choices"][0]["message"]["reasoning_content"]  # cannot be turned off


def test_a_weak_model_refuses_a_prompt_beyond_its_real_context(emulator):
    url = dedicated_url(emulator, "weak1234")
    response = httpx.post(url, json=chat_body("word " * 9000), headers=auth(emulator), timeout=10)
    assert response.status_code == 400
    assert "maximum context length is 8192" in response.json()["error"]


def png_data_url(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def image_message(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def test_a_vision_model_describes_the_image_it_was_sent(emulator):
    body = {"model": "moonshotai/Kimi-K2.5", "messages": image_message(png_data_url(8, 6))}
    reply = httpx.post(
        f"{emulator.model_apis_url}/chat/completions", json=body, headers=auth(emulator), timeout=10
    ).json()
    assert reply["choices"][0]["message"]["content"].startswith("I see 1 image: PNG 8x6.")
    models = httpx.get(f"{emulator.model_apis_url}/models", headers=auth(emulator)).json()
    row = next(r for r in models["data"] if r["id"] == "moonshotai/Kimi-K2.5")
    assert row["input_modalities"] == ["text", "image"]


def test_a_text_only_model_refuses_an_image_with_400(emulator):
    body = {"model": "m", "messages": image_message(png_data_url(4, 4))}
    response = httpx.post(
        dedicated_url(emulator, "weak1234"), json=body, headers=auth(emulator), timeout=10
    )
    assert response.status_code == 400 and "does not accept image" in response.json()["error"]

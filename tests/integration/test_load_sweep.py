"""Load sweep against the emulator's capacity model: a real knee, 429s counted, stop at once."""

from __future__ import annotations

import time
from typing import Any

import httpx
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from baseten_llm import Baseten
from chatapp.services.load_sweep import Sweep, SweepPlan, SweepRunner
from chatapp.targets import Target

MESSAGES = [ChatMessage(role=MessageRole.USER, content="How many users can you serve?")]


def client_factory(emulator: Any, retries: list[int]) -> Any:
    def make(http: httpx.Client) -> Baseten:
        llm = Baseten(
            model_id="abcd1234",
            model_apis=False,
            api_key=emulator.api_key,
            deployment_url=emulator.deployment_url,
            http_client=http,
            max_retries=0,
        )
        retries.append(llm.max_retries)
        return llm

    return make


def wait_until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_sweep_finds_the_knee_where_the_deployment_runs_out_of_streams(emulator):
    emulator.configure(
        tokens_per_second=50.0,
        reply_tokens=10,
        models={"abcd1234": {"capacity_streams": 2, "queue_limit": 2, "prefill_s": 0.3}},
    )
    sweep = Sweep(
        Target(kind="dedicated", model="abcd1234"),
        "How many?",
        SweepPlan(concurrencies=(1, 2, 4, 8), step_s=1.5),
    )
    retries: list[int] = []
    with SweepRunner(sweep, client_factory(emulator, retries), MESSAGES) as runner:
        assert runner.wait(120)
    assert retries and set(retries) == {0}  # the sweep's clients never retry a 429
    by_concurrency = {step.concurrency: step for step in sweep.steps}
    assert list(by_concurrency) == [1, 2, 4, 8] and not sweep.stopped
    assert all(step.requests >= step.concurrency for step in sweep.steps)
    assert by_concurrency[8].rate_limited > 0  # past 4 in flight the deployment refuses
    assert by_concurrency[1].rate_limited == by_concurrency[2].rate_limited == 0
    assert sweep.knee == 2
    assert sweep.knee_note().startswith("Knee at 2 concurrent streams")
    # Every 429 the log shows was counted once, never retried behind the sweep's back.
    refused = [r for r in emulator.requests() if r["status"] == 429]
    assert len(refused) == sum(step.rate_limited for step in sweep.steps)


def test_stopping_a_sweep_closes_every_stream_at_once(emulator):
    emulator.configure(tokens_per_second=2.0, reply_tokens=200)
    sweep = Sweep(
        Target(kind="dedicated", model="abcd1234"),
        "Long answers",
        SweepPlan(concurrencies=(4, 8), step_s=60),
    )
    runner = SweepRunner(sweep, client_factory(emulator, []), MESSAGES)
    with runner:
        wait_until(lambda: emulator.capacity()["active"].get("abcd1234") == 4)
    assert runner.wait(10) and sweep.stopped
    wait_until(lambda: emulator.capacity()["active"]["abcd1234"] == 0)
    streams = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]
    assert len(streams) == 4 and all(r["stream_closed_early"] for r in streams)
    assert [step.concurrency for step in sweep.steps] == [4] and sweep.steps[0].stopped

"""Capability checks against the emulator: a full-featured model, a weak one, a /predict one."""

from __future__ import annotations

import json
from typing import Any

from baseten_llm import Baseten
from chatapp.services import capabilities
from chatapp.services.capabilities import CapabilityReport, ProbeContext
from chatapp.targets import Target


def check(
    emulator: Any, target: Target, *, images: bool, window: int | None = None
) -> CapabilityReport:
    llm = Baseten(
        **target.llm_kwargs(),
        api_key=emulator.api_key,
        max_retries=0,
        model_apis_url=emulator.model_apis_url,
        deployment_url=emulator.deployment_url,
    )
    if window is None and target.is_dedicated:
        window = capabilities.deployment_context_window(llm)
    ctx = ProbeContext(llm, window, images, capabilities.describe_failure)
    return CapabilityReport(target, list(capabilities.run_checks(target, ctx)))


def statuses(report: CapabilityReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


def test_a_full_featured_vision_model_passes_every_check(emulator):
    report = check(emulator, Target(model="moonshotai/Kimi-K2.5"), images=True, window=4000)
    assert set(statuses(report).values()) == {"pass"}
    evidence = {r.name: r.evidence for r in report.results}
    assert evidence["Tool calling"] == 'Called get_weather with {"city": "Paris"}.'
    assert "PNG 16x12" in evidence["Image input"]
    assert "of the advertised 4,000 tokens" in evidence["Context window"]
    assert report.summary() == "7 of 7 checks passed."


def test_a_weak_model_fails_the_checks_it_cannot_do_with_the_evidence(emulator):
    report = check(emulator, Target(kind="dedicated", model="weak1234"), images=True)
    assert statuses(report) == {
        "Streaming": "pass",
        "Usage reporting": "fail",
        "Tool calling": "fail",
        "JSON-schema output": "fail",
        "Reasoning on/off": "fail",
        "Image input": "fail",
        "Context window": "fail",
    }
    evidence = {r.name: r.evidence for r in report.results}
    assert evidence["Tool calling"].startswith("No tool call; it answered in text")
    assert evidence["Context window"] == (
        "Refused (400): “This model's maximum context length is 8192 tokens, but the messages "
        "have 27855 tokens”."
    )
    assert evidence["Image input"].startswith("Refused (400)")
    exported = json.loads(report.to_json())
    assert exported["target"] == "Dedicated · weak1234 · production"
    assert len(exported["results"]) == 7
    assert "| Usage reporting | ❌ fail |" in report.to_markdown()


def test_a_text_model_skips_the_image_check_and_a_predict_deployment_skips_them_all(emulator):
    plain = check(emulator, Target(kind="dedicated", model="abcd1234"), images=False)
    assert statuses(plain)["Image input"] == "skip"
    assert statuses(plain)["Context window"] == "pass"
    assert plain.summary().endswith("checks passed; skipped: Image input.")
    predict = check(
        emulator,
        Target(kind="dedicated", model="abcd1234", api_style="predict"),
        images=False,
        window=1000,
    )
    assert set(statuses(predict).values()) == {"skip"}
    assert not [r for r in emulator.requests() if "/predict" in r["path"]]

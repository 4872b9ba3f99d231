"""The app's target: a dedicated one that cannot be sent to says why, and never shows its id."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.targets import Target
from tests.plain_words import assert_plain


@pytest.mark.parametrize("model", ["", "xyz!", "ab cd", "deepseek-ai/DeepSeek-V3.1"])
def test_an_unusable_dedicated_target_says_why_and_never_shows_its_id(model: str) -> None:
    target = Target(kind="dedicated", model=model)
    problem = target.problem()
    assert problem and "model" in problem and "sidebar" in problem
    assert_plain(problem)
    assert target.label == "Dedicated · model id needed"


def test_a_valid_dedicated_target_has_no_problem_and_a_full_label() -> None:
    target = Target(kind="dedicated", model="abcd1234", scope="environment", environment="staging")
    assert target.problem() is None and target.label == "Dedicated · abcd1234 · staging"


def test_a_bad_environment_or_a_missing_deployment_id_is_a_problem_too() -> None:
    bad_env = Target(kind="dedicated", model="abcd1234", scope="environment", environment="a b")
    assert "environment name" in (bad_env.problem() or "")
    no_deployment = Target(kind="dedicated", model="abcd1234", scope="deployment")
    assert "deployment id" in (no_deployment.problem() or "")


def test_a_model_api_target_is_always_usable() -> None:
    assert Target().problem() is None and Target().label.startswith("Model API · ")


def test_generation_settings_reach_the_client_whole_with_the_persona_default_where_unset() -> None:
    from chatapp.settings import AppConfig
    from chatapp.targets import GenerationSettings, make_llm

    chosen = GenerationSettings(
        max_tokens=300,
        reasoning_effort="low",
        enable_thinking=True,
        extra={"top_p": 0.5, "temperature": 1.9},
    )
    settings = chosen.with_persona_default(0.3)
    assert settings.temperature == 0.3
    assert GenerationSettings(temperature=0.8).with_persona_default(0.3).temperature == 0.8
    llm = make_llm(Target(), "key", AppConfig(Path("."), "sqlite://"), settings)
    assert (llm.temperature, llm.max_tokens) == (0.3, 300)
    assert llm.additional_kwargs == {
        "top_p": 0.5,
        "reasoning_effort": "low",
        "chat_template_args": {"enable_thinking": True},
    }

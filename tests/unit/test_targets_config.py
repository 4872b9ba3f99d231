"""Dedicated model ids and targets, and settings resolution (argument > environment > default)."""

import pytest

from baseten_llm import errors
from baseten_llm.config import ClientConfig
from baseten_llm.targets import DedicatedTarget, validate_model_id


@pytest.mark.parametrize("good", ["abcd1234", "7wlxp82w", "03y7n6e3"])
def test_real_looking_model_ids_pass(good):
    assert validate_model_id(good) == good


@pytest.mark.parametrize(
    "bad",
    ["", " ", "deepseek-ai/DeepSeek-V3.1", "abcd 1234", "your_model_id", "abcd-1234", "ab/cd"],
)
def test_obviously_wrong_model_ids_explain_the_format(bad):
    with pytest.raises(errors.InvalidModelIdError) as info:
        validate_model_id(bad)
    assert "abcd1234" in str(info.value) and "8 lowercase letters and digits" in str(info.value)


def test_a_slug_as_model_id_suggests_model_apis():
    with pytest.raises(errors.InvalidModelIdError, match="model_apis=True"):
        validate_model_id("openai/gpt-oss-120b")


@pytest.mark.parametrize(
    "target, prefix",
    [
        (DedicatedTarget(), "/environments/production"),
        (DedicatedTarget(environment="staging"), "/environments/staging"),
        (DedicatedTarget(development=True), "/development"),
        (DedicatedTarget(deployment_id="dep12345"), "/deployment/dep12345"),
    ],
)
def test_targets_map_to_baseten_paths(target, prefix):
    base = "https://model-abcd1234.api.baseten.co"
    assert (
        target.url(base, "sync/v1/chat/completions") == f"{base}{prefix}/sync/v1/chat/completions"
    )
    assert target.url(base + "/", "/predict") == f"{base}{prefix}/predict"


def test_two_targets_at_once_are_refused():
    with pytest.raises(errors.ConfigurationError, match="Choose one"):
        DedicatedTarget(environment="staging", development=True)


def test_settings_resolve_argument_then_environment_then_default():
    env = {
        "BASETEN_API_KEY": "env-key",
        "BASETEN_MODEL_APIS_URL": "http://env/v1/",
        "BASETEN_DEPLOYMENT_URL": "http://env/model-{model_id}",
    }
    from_env = ClientConfig.resolve(env=env)
    assert (from_env.api_key, from_env.model_apis_url) == ("env-key", "http://env/v1")
    assert from_env.model_base_url("abcd1234") == "http://env/model-abcd1234"
    from_args = ClientConfig.resolve(api_key="arg-key", model_apis_url="http://arg/v1", env=env)
    assert (from_args.api_key, from_args.model_apis_url) == ("arg-key", "http://arg/v1")
    default = ClientConfig.resolve(env={})
    assert default.model_apis_url == "https://inference.baseten.co/v1"
    assert default.model_base_url("abcd1234") == "https://model-abcd1234.api.baseten.co"
    assert default.api_key is None


def test_missing_key_error_names_the_variable_and_repr_hides_the_key():
    with pytest.raises(errors.MissingAPIKeyError, match="BASETEN_API_KEY"):
        ClientConfig.resolve(env={}).auth_headers()
    config = ClientConfig.resolve(api_key="top-secret-key", env={})
    assert config.auth_headers()["Authorization"] == "Bearer top-secret-key"
    assert "top-secret-key" not in repr(config)


def test_timeouts_are_httpx_timeouts():
    timeout = ClientConfig.resolve(timeout_s=30, connect_timeout_s=2, env={}).httpx_timeout()
    assert (timeout.connect, timeout.read) == (2.0, 30.0)


def test_a_deployment_url_without_the_placeholder_is_the_base_url_of_that_one_model():
    config = ClientConfig.resolve(env={"BASETEN_DEPLOYMENT_URL": "https://proxy.example/llm/"})
    assert (
        config.model_base_url("abcd1234")
        == config.model_base_url("efgh5678")
        == "https://proxy.example/llm"
    )
    assert config.model_apis_url == "https://inference.baseten.co/v1"
    assert (
        ClientConfig.resolve(env={}).model_base_url("abcd1234")
        == "https://model-abcd1234.api.baseten.co"
    )

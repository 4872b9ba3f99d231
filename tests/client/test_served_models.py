"""``Baseten.served_models()``: the model list a target serves, as served (what the capability
check reads a dedicated deployment's context window from)."""

from __future__ import annotations

import pytest

from baseten_llm import errors


def test_a_dedicated_deployment_lists_itself_with_its_context_length(emulator, dedicated):
    rows = dedicated("efgh5678", environment="staging").served_models()
    assert [row["id"] for row in rows] == ["efgh5678"] and rows[0]["max_model_len"] == 131072
    assert emulator.requests()[-1]["path"] == "/model-efgh5678/environments/staging/sync/v1/models"


def test_model_apis_serve_their_whole_list(model_api):
    ids = [row["id"] for row in model_api().served_models()]
    assert "deepseek-ai/DeepSeek-V3.1" in ids and "zai-org/GLM-4.6" in ids


def test_an_unknown_deployment_is_a_not_found_error_that_says_what_to_check(dedicated):
    with pytest.raises(errors.NotFoundError, match="model id 'zzzz9999'"):
        dedicated("zzzz9999").served_models()

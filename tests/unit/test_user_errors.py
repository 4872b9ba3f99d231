"""The app's one error presenter: plain words, the host named, the next step given.

The library's messages are written for programmers (they name the URL, the keyword to change,
the attribute holding the partial text); these tests feed the presenter such messages, as the
library words them, and check what a person would read instead.
"""

from __future__ import annotations

import pytest

from baseten_llm import errors
from chatapp.services import user_errors
from chatapp.services.batch_inputs import InputError
from chatapp.services.embedders import EmbedderUnavailableError
from chatapp.services.ingest import IngestError
from tests.plain_words import assert_plain, developer_words

URL = "https://inference.baseten.co/v1/chat/completions"
DEDICATED = "https://model-abcd1234.api.baseten.co/environments/production/sync/v1/chat/completions"


def status(cls: type[errors.APIStatusError], code: int, url: str, tail: str, **extra) -> Exception:
    return cls(f"HTTP {code} from {url}: {tail}", status_code=code, **extra)


LIBRARY_ERRORS = {
    "no key": errors.MissingAPIKeyError(
        "No Baseten API key. Pass api_key=... or set the BASETEN_API_KEY environment variable "
        "(create a key at https://app.baseten.co/settings/api_keys)."
    ),
    "bad model id": errors.InvalidModelIdError("'xyz!' is not a valid dedicated deployment id."),
    "config": errors.ConfigurationError("deployment_url must contain '{model_id}'."),
    "401": status(
        errors.AuthenticationError,
        401,
        URL,
        "bad key Check your API key (api_key= or BASETEN_API_KEY)",
    ),
    "402": status(errors.PaymentRequiredError, 402, URL, "billing"),
    "403": status(errors.PermissionDeniedError, 403, URL, "forbidden"),
    "404 slug": errors.NotFoundError(
        f"HTTP 404 Not Found from {URL}: no such model. Check the Model APIs slug "
        "'deepseek-ai/DeepSeek-V3'. Did you mean: deepseek-ai/DeepSeek-V3.1?",
        suggestions=["deepseek-ai/DeepSeek-V3.1", "deepseek-ai/DeepSeek-V3-0324"],
    ),
    "unknown slug": errors.UnknownModelError(
        "Model 'deepseek-ai/DeepSeek-V3' is not a Baseten Model APIs slug. For a dedicated "
        "deployment pass its model id with model_apis=False.",
        suggestions=["deepseek-ai/DeepSeek-V3.1"],
    ),
    "404 dedicated": status(errors.NotFoundError, 404, DEDICATED, "Environment 'nope' not found."),
    "413": status(errors.PayloadTooLargeError, 413, URL, "too big"),
    "429": errors.RateLimitError(f"HTTP 429 from {URL}: slow down", retry_after=12),
    "400": status(errors.BadRequestError, 400, URL, "max_tokens=99999 is over the limit"),
    "503": status(errors.ServerError, 503, DEDICATED, "upstream failed"),
    "timeout": errors.APITimeoutError(
        f"Request to {URL} timed out (ReadTimeout); raise timeout= or connect_timeout=."
    ),
    "refused": errors.APIConnectionError(
        f"Could not reach {URL}: ConnectError: [Errno 111] Connection refused"
    ),
    "cut": errors.StreamInterruptedError(
        "The stream broke after 40 characters (RemoteProtocolError); the partial answer is in "
        ".partial_text.",
        partial_text="Forty characters of an answer so far ...",
    ),
    "unexpected": KeyError("partial_text"),
}


@pytest.mark.parametrize("case", sorted(LIBRARY_ERRORS))
def test_every_error_reads_as_plain_words_for_a_person(case: str) -> None:
    assert_plain(user_errors.describe(LIBRARY_ERRORS[case]))


@pytest.mark.parametrize("context", ["chat", "compare", "documents", "indexing", "jobs"])
def test_every_context_words_its_own_next_step_in_plain_words(context) -> None:
    for exc in LIBRARY_ERRORS.values():
        assert_plain(user_errors.describe(exc, context=context))


def test_no_key_points_to_the_sidebar_key_and_the_offline_demo() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["no key"])
    assert "sidebar" in text and "offline demo" in text
    assert "environment variable" not in text


def test_a_rejected_key_names_the_host_but_not_the_url() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["401"])
    assert "inference.baseten.co" in text and "key" in text
    assert "/chat/completions" not in text


def test_the_host_given_by_the_caller_wins_over_the_one_in_the_message() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["refused"], host="127.0.0.1:8700")
    assert "127.0.0.1:8700" in text and "inference.baseten.co" not in text


def test_a_rate_limit_says_how_long_to_wait() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["429"])
    assert "about 12 seconds" in text and "press Retry" in text


def test_an_unknown_model_names_the_closest_slugs_but_not_itself() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["404 slug"])
    assert "“deepseek-ai/DeepSeek-V3”" in text
    assert "“deepseek-ai/DeepSeek-V3.1” or “deepseek-ai/DeepSeek-V3-0324”" in text
    assert "sidebar" in text


def test_a_listed_model_that_is_not_served_says_it_may_be_retired_or_not_enabled() -> None:
    exc = errors.NotFoundError(
        f"HTTP 404 Not Found from {URL}: gone. The model list (live) has the slug "
        "'deepseek-ai/DeepSeek-V3.1', so it may be retired.",
        suggestions=["deepseek-ai/DeepSeek-V3.1"],
    )
    text = user_errors.describe(exc)
    assert "lists the model “deepseek-ai/DeepSeek-V3.1” but does not serve it" in text
    assert "not enabled for your account" in text
    assert_plain(text)


def test_a_missing_deployment_repeats_what_the_server_said_and_what_to_check() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["404 dedicated"])
    assert "model-abcd1234.api.baseten.co" in text
    assert "Environment 'nope' not found" in text and "model id" in text


def test_a_server_reply_that_quotes_a_keyword_is_left_out_rather_than_shown() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["400"])
    assert "max_tokens" not in text and "generation settings" in text


def test_a_cut_stream_says_the_partial_answer_is_kept_and_not_charged_twice() -> None:
    text = user_errors.describe(LIBRARY_ERRORS["cut"])
    assert "cut off" in text and "kept" in text and "Retry" in text


def test_an_unexpected_error_is_logged_for_developers_and_apologised_for(caplog) -> None:
    text = user_errors.describe(RuntimeError("boom at chatapp/x.py"), context="documents")
    assert "answering from the documents" in text and "ask again" in text
    assert "boom" not in text and "RuntimeError" not in text
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_messages_already_written_for_people_pass_through_unchanged() -> None:
    parse = IngestError("report.pdf could not be read as a PDF: the file is damaged.")
    embed = EmbedderUnavailableError("Could not load the embedding model: use the bundled one.")
    assert user_errors.describe(parse, context="indexing") == str(parse)
    assert user_errors.describe(embed, context="documents") == str(embed)
    bad_input = InputError("Row 2 is not valid JSON: check the quotes.")
    assert user_errors.describe(bad_input, context="jobs") == str(bad_input)


def test_the_plain_words_check_catches_what_the_library_says_to_programmers() -> None:
    for case in ("no key", "401", "timeout", "cut", "unknown slug"):
        assert developer_words(str(LIBRARY_ERRORS[case])), case


def test_a_cut_stream_names_the_host_of_the_request_it_was_raised_from() -> None:
    import httpx

    request = httpx.Request("POST", DEDICATED)
    try:
        try:
            raise httpx.RemoteProtocolError("peer closed", request=request)
        except httpx.RemoteProtocolError as broken:
            raise errors.StreamInterruptedError("The stream broke.", partial_text="x") from broken
    except errors.StreamInterruptedError as exc:
        text = user_errors.describe(exc)
    assert "model-abcd1234.api.baseten.co" in text and "/environments/" not in text


def test_the_host_of_a_url_keeps_its_port_and_drops_credentials() -> None:
    assert user_errors.host_of("http://user:pw@127.0.0.1:8700/v1/models") == "127.0.0.1:8700"
    assert user_errors.host_of("") is None

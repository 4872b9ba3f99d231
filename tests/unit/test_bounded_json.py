"""The shared loader for untrusted JSON: limits checked, each refusal said in plain words."""

from __future__ import annotations

import json

import pytest

from chatapp.services.bounded_json import (
    MAX_DEPTH,
    InvalidJSONError,
    JSONLimitError,
    check_value,
    loads_bounded,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_ordinary_json_is_returned_as_parsed():
    assert loads_bounded('{"prompt": "hi", "n": [1, 2.5, null, true]}') == {
        "prompt": "hi",
        "n": [1, 2.5, None, True],
    }


@pytest.mark.parametrize("text", ['{"temperature": NaN}', '{"t": Infinity}', "[-Infinity]"])
def test_nan_and_infinity_are_refused_with_a_message(text):
    with pytest.raises(JSONLimitError, match="not a number JSON can carry"):
        loads_bounded(text)


def test_a_number_too_large_for_json_is_refused():
    with pytest.raises(JSONLimitError, match="1e999 is too large"):
        loads_bounded('{"temperature": 1e999}')


def test_json_nested_five_thousand_deep_says_it_is_nested_too_deeply():
    with pytest.raises(JSONLimitError, match="nested too deeply"):
        loads_bounded(nested(5000))


def test_json_nested_a_hundred_thousand_deep_says_it_is_nested_too_deeply():
    with pytest.raises(JSONLimitError, match="nested too deeply"):
        loads_bounded('{"data": ' + nested(100_000) + "}")


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not():
    assert loads_bounded(nested(MAX_DEPTH))
    with pytest.raises(JSONLimitError, match=f"more than {MAX_DEPTH} levels"):
        loads_bounded(nested(MAX_DEPTH + 1))


def test_a_lone_surrogate_escape_is_refused_as_invalid_unicode():
    with pytest.raises(JSONLimitError, match="not valid Unicode"):
        loads_bounded('{"data": "\\ud800"}')
    with pytest.raises(JSONLimitError, match="not valid Unicode"):
        loads_bounded('{"\\udfff": 1}')


def test_utf16_bytes_are_refused_as_not_utf8():
    with pytest.raises(JSONLimitError, match="not UTF-8"):
        loads_bounded(json.dumps({"a": 1}).encode("utf-16"))


def test_invalid_json_names_line_and_column():
    with pytest.raises(InvalidJSONError, match="line 2, column 2"):
        loads_bounded('{"a":\n }')


def test_a_value_parsed_elsewhere_is_checked_the_same_way():
    check_value({"ok": ["fine", 1.5]})
    with pytest.raises(JSONLimitError, match="not finite"):
        check_value({"x": [float("nan")]})
    with pytest.raises(JSONLimitError, match="not valid Unicode"):
        check_value(["\ud800"])

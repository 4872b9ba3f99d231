"""Turning uploaded JSONL/CSV files and typed inputs into model inputs."""

from __future__ import annotations

import json

import pytest

from baseten_llm.jobs import MAX_ASYNC_BODY_BYTES
from chatapp.services.batch_inputs import (
    InputError,
    parse_batch,
    parse_json_input,
    prompt_input,
)


def test_a_prompt_becomes_a_model_input_with_a_prompt_key():
    assert prompt_input("  Tell me a joke ") == {"prompt": "Tell me a joke"}


def test_an_empty_prompt_is_refused_with_a_message():
    with pytest.raises(InputError, match="prompt is empty"):
        prompt_input("   ")


def test_raw_json_must_be_an_object():
    assert parse_json_input('{"prompt": "hi", "max_tokens": 5}') == {
        "prompt": "hi",
        "max_tokens": 5,
    }
    with pytest.raises(InputError, match="must be a JSON object"):
        parse_json_input("[1, 2]")


def test_invalid_raw_json_names_the_line_and_column():
    with pytest.raises(InputError, match="line 2, column"):
        parse_json_input('{"prompt":\n oops}')


def test_an_input_over_256_kib_is_refused_with_its_size():
    with pytest.raises(InputError, match="at most 256 KiB"):
        parse_json_input(json.dumps({"prompt": "x" * MAX_ASYNC_BODY_BYTES}))


def test_an_input_just_under_the_limit_is_accepted_with_room_for_the_envelope():
    text = "x" * (MAX_ASYNC_BODY_BYTES - 1024)
    assert parse_json_input(json.dumps({"prompt": text})) == {"prompt": text}


def test_jsonl_rows_are_objects_or_prompt_strings_and_bad_lines_are_reported_with_numbers():
    content = b'{"prompt": "one"}\n"two"\n\n{broken\n[1]\n{"prompt": "six"}\n'
    rows = parse_batch("inputs.jsonl", content)
    assert [(r.row_number, r.model_input) for r in rows if r.ok] == [
        (1, {"prompt": "one"}),
        (2, {"prompt": "two"}),
        (6, {"prompt": "six"}),
    ]
    bad = {r.row_number: r.error for r in rows if not r.ok}
    assert set(bad) == {4, 5}
    assert "not valid JSON" in bad[4]
    assert "got a list" in bad[5]


def test_a_csv_with_a_prompt_column_maps_each_row_to_a_prompt():
    content = b"prompt,notes\nHello there,x\n,empty prompt\nBye,y\n"
    rows = parse_batch("batch.csv", content)
    assert [r.model_input for r in rows if r.ok] == [{"prompt": "Hello there"}, {"prompt": "Bye"}]
    assert [(r.row_number, r.error) for r in rows if not r.ok] == [
        (2, "The prompt is empty: type what the model should answer.")
    ]


def test_a_csv_without_a_prompt_column_uses_every_column_as_a_model_input_key():
    content = b'text,max_tokens,options\nhi,5,"{""temperature"": 0.2}"\nbye,7,\n'
    rows = parse_batch("batch.csv", content)
    assert [r.model_input for r in rows] == [
        {"text": "hi", "max_tokens": 5, "options": {"temperature": 0.2}},
        {"text": "bye", "max_tokens": 7, "options": ""},
    ]


def test_a_csv_row_with_more_cells_than_headers_is_reported():
    rows = parse_batch("b.csv", b'prompt\nok\n"a","b"\n')
    assert rows[0].ok
    assert rows[1].error == "more cells than header columns"


def test_a_file_of_another_type_or_without_rows_is_refused():
    with pytest.raises(InputError, match=r".jsonl or .csv"):
        parse_batch("inputs.xlsx", b"")
    with pytest.raises(InputError, match="no rows"):
        parse_batch("inputs.jsonl", b"\n\n")


def test_a_file_that_is_not_utf8_is_refused_with_a_fix():
    with pytest.raises(InputError, match="UTF-8"):
        parse_batch("inputs.csv", "prompt\ncafé\n".encode("latin-1"))


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"prompt": "hi", "temperature": NaN}', "NaN, which is not a number JSON can carry"),
        ('{"prompt": "hi", "temperature": 1e999}', "1e999 is too large"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"prompt": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ],
)
def test_raw_json_that_cannot_be_sent_is_refused_with_a_clear_message(text, words):
    with pytest.raises(InputError, match=words):
        parse_json_input(text)


def test_a_batch_row_with_nan_or_deep_nesting_is_a_problem_row_and_the_others_are_ready():
    content = (
        '{"prompt": "one"}\n{"prompt": "two", "temperature": NaN}\n'
        + '{"prompt": '
        + "[" * 5000
        + "]" * 5000
        + '}\n"four"\n'
    ).encode()
    rows = parse_batch("b.jsonl", content)
    assert [r.ok for r in rows] == [True, False, False, True]
    assert "NaN" in rows[1].error
    assert "nested too deeply" in rows[2].error


def test_a_csv_cell_holding_nan_json_is_a_problem_row():
    rows = parse_batch("b.csv", b'question,options\nhi,"{""t"": NaN}"\nyo,"{""t"": 1}"\n')
    assert [r.ok for r in rows] == [False, True]
    assert "NaN" in rows[0].error

"""The incremental SSE decoder gives the same events however the bytes are split."""

import pytest

from baseten_llm._sse import SSEDecoder

STREAM = (
    b": keep-alive comment\r\n"
    b'data: {"a": 1}\r\n\r\n'
    b"event: note\ndata: line one\ndata: line two\n\n"
    b"id: 7\rdata: caf\xc3\xa9 \xe2\x9c\x93\r\r"
    b"data:no-space\n\n"
    b"data: [DONE]\n\n"
)


def decode_all(chunks):
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.flush()


def summary(events):
    return [(e.event, e.data, e.id) for e in events]


EXPECTED = [
    ("message", '{"a": 1}', None),
    ("note", "line one\nline two", None),
    ("message", "caf\u00e9 \u2713", "7"),
    ("message", "no-space", "7"),
    ("message", "[DONE]", "7"),
]


def test_whole_stream_decodes_to_the_expected_events():
    events = decode_all([STREAM])
    assert summary(events) == EXPECTED
    assert [e.is_done for e in events] == [False, False, False, False, True]


@pytest.mark.parametrize("offset", range(1, len(STREAM)))
def test_split_at_every_byte_offset_gives_the_same_events(offset):
    assert summary(decode_all([STREAM[:offset], STREAM[offset:]])) == EXPECTED


def test_one_byte_at_a_time_gives_the_same_events():
    assert summary(decode_all([STREAM[i : i + 1] for i in range(len(STREAM))])) == EXPECTED


def test_an_unterminated_last_event_is_dispatched_by_flush():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert [e.data for e in decoder.flush()] == ["tail"]


def test_comments_and_blank_lines_alone_make_no_event():
    assert decode_all([b": ping\n\n\n: pong\r\n\r\n"]) == []


def test_a_cr_at_the_end_of_a_chunk_waits_for_a_possible_lf():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert [e.data for e in decoder.feed(b"\n\r\n")] == ["x"]

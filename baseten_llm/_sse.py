"""Incremental Server-Sent Events decoder: feed bytes, get events. Pure, no I/O.

Follows the WHATWG event-stream rules that matter for OpenAI-style streams: lines end with
``\\r\\n``, ``\\n`` or ``\\r``; a blank line dispatches the event; ``data`` lines of one event are
joined with ``\\n``; lines starting with ``:`` are comments; a field without a colon has an
empty value; one leading space after the colon is dropped. Bytes are split into lines before
decoding, so a UTF-8 character cut between two network chunks is decoded whole.

:meth:`SSEDecoder.feed` (events) and :meth:`SSEDecoder.feed_data` (only each event's data, as
UTF-8 bytes: the hot path of a streamed chat) share one decoding path. While the stream uses
``\n`` line endings it splits complete events on ``\n\n`` in one pass and takes the common
single-line ``data: {...}`` event without the line machinery; any other event (comments,
``event:``/``id:`` fields, several ``data`` lines) goes through the general rules, and a stream
that uses ``\r`` is decoded by them from then on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ServerSentEvent", "SSEDecoder", "DONE"]

#: The data of the OpenAI stream terminator event.
DONE = "[DONE]"


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    @property
    def is_done(self) -> bool:
        """True for the ``data: [DONE]`` terminator."""
        return self.data.strip() == DONE


class SSEDecoder:
    """Feed raw bytes with :meth:`feed`; call :meth:`flush` at end of stream."""

    def __init__(self) -> None:
        self._buffer = b""
        self._lf_only = True  # no "\r" seen yet: events can be split on b"\n\n"
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Add bytes; return the events completed by them."""
        return self._decode(chunk, True)

    def feed_data(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the ``data`` of each event completed by them, undecoded.

        The same events as :meth:`feed`, cheaper: ``d.decode("utf-8", errors="replace")`` of
        each item equals the ``data`` of the matching :class:`ServerSentEvent`.
        """
        return self._decode(chunk, False)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: treat any unterminated line as complete, dispatch a pending event."""
        events = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            for part in _split_lines(line):
                event = self._process_line(part)
                if event is not None:
                    events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def flush_data(self) -> list[bytes]:
        """End of stream for :meth:`feed_data` users."""
        return [event.data.encode() for event in self.flush()]

    def _decode(self, chunk: bytes, as_events: bool) -> list[Any]:
        """The one decoding path: events (``as_events``) or their data as bytes."""
        if not self._lf_only or b"\r" in chunk:
            self._lf_only = False
            return self._line_events(chunk, as_events)
        *blocks, self._buffer = (self._buffer + chunk).split(b"\n\n")
        out: list[Any] = []
        for block in blocks:
            if block[:5] == b"data:" and b"\n" not in block:  # one data line: no state to keep
                data = block[6:] if block[5:6] == b" " else block[5:]
                out.append(
                    ServerSentEvent(data.decode("utf-8", errors="replace"), id=self._id)
                    if as_events
                    else data
                )
            elif block:
                event = self._block_event(block)
                if event is not None:
                    out.append(event if as_events else event.data.encode())
        return out

    def _line_events(self, chunk: bytes, as_events: bool) -> list[Any]:
        """The general rules, line by line (any line endings)."""
        self._buffer += chunk
        out: list[Any] = []
        for line in self._complete_lines():
            event = self._process_line(line)
            if event is not None:
                out.append(event if as_events else event.data.encode())
        return out

    def _block_event(self, block: bytes) -> ServerSentEvent | None:
        """The general rules for one complete ``\\n``-separated event (without its blank line)."""
        for line in block.split(b"\n"):
            self._process_line(line.decode("utf-8", errors="replace"))
        return self._dispatch()

    def _complete_lines(self) -> Iterator[str]:
        if b"\r" not in self._buffer:  # split all complete lines in one pass
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace")
            return
        while True:
            index = _line_end(self._buffer)
            if index is None:
                return
            end, skip = index
            line = self._buffer[:end]
            self._buffer = self._buffer[end + skip :]
            yield line.decode("utf-8", errors="replace")

    def _process_line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data and self._event is None:
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data, self._event, self._retry = [], None, None
        return event


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """(index, terminator length) of the first complete line ending, or None.

    A trailing ``\\r`` is not complete yet: the next chunk may start with ``\\n``.
    """
    lf, cr = buffer.find(b"\n"), buffer.find(b"\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return None if lf == -1 else (lf, 1)
    if cr + 1 == len(buffer):
        return None
    return cr, 2 if buffer[cr + 1] == 0x0A else 1


def _split_lines(raw: bytes) -> list[str]:
    text = raw.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

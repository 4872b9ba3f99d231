"""Stream objects: what ``stream_chat`` / ``stream_complete`` and their async twins return.

A :class:`ChatStream` (sync) or :class:`AsyncChatStream` owns the open HTTP response of one
streamed reply and closes it: at the end of the stream, on an error, on ``close()`` /
``await aclose()``, or when a ``with`` / ``async with`` block ends. It decodes the response
through one :class:`~baseten_llm.chat.StreamAssembler` (only the byte loop is written twice,
for ``iter_bytes`` and ``aiter_bytes``) and knows how the reply is going at any moment:
:attr:`~ChatStream.text` and :attr:`~ChatStream.reasoning` so far, and
:attr:`~ChatStream.metrics` (time to the first token, usage, tokens per second).

Iterating a stream goes through LlamaIndex's callback wrapper (``llm_chat_callback`` /
``llm_completion_callback``), so its per-chunk instrumentation events are kept. That wrapper
replaces the generator a decorated method returns with its own, so :func:`returns_stream`
(applied outside the LlamaIndex decorator) hands the caller the stream object the method
opened, with LlamaIndex's generator attached for iteration. The stream object finds its way
out through one context variable, set by :func:`returns_stream` and filled only by the
stream's constructor.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import (
    Any,
    TypeVar,
)

import httpx
from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from ._http import stream_error
from .chat import StreamAssembler, completion_from_chat

__all__ = ["StreamMetrics", "ChatStream", "AsyncChatStream", "returns_stream"]

Clock = Callable[[], float]
F = TypeVar("F", bound=Callable[..., Any])

#: The streams opened by the current ``returns_stream`` call (filled by the stream constructors).
_opening: ContextVar[list[Any] | None] = ContextVar("baseten_llm_opening_streams", default=None)


@dataclass(frozen=True)
class StreamMetrics:
    """How a streamed reply went, so far or in all.

    ``time_to_first_token_s``: from sending the request to the first answer, reasoning or
    tool-call text (None before it). ``elapsed_s``: from sending the request to the end of the
    stream (or to now, while it runs). ``tokens_per_s``: completion tokens (from ``usage``)
    over the time from the first to the last token; None until the server reported usage.
    """

    time_to_first_token_s: float | None
    elapsed_s: float
    usage: dict[str, int] | None
    finish_reason: str | None
    tokens_per_s: float | None


class _Progress:
    """The decoder of one stream and when its text arrived (shared by a stream and its reader)."""

    __slots__ = ("assembler", "clock", "ended_at", "first_at", "last_at", "started_at")

    def __init__(self, assembler: StreamAssembler, clock: Clock, started_at: float | None) -> None:
        self.assembler = assembler
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.ended_at: float | None = None

    def finish(self) -> list[ChatResponse]:
        """End of the bytes: the last responses (or StreamInterruptedError)."""
        self.ended_at = self.clock()
        return self.assembler.finish()

    def error(self, exc: httpx.HTTPError) -> Exception:
        """The library error for a transport failure mid-stream (keeps the partial text)."""
        self.ended_at = self.clock()
        return stream_error(exc, self.assembler.text)

    def metrics(self) -> StreamMetrics:
        result = self.assembler.state.result
        usage = dict(result.usage) if result.usage else None
        span = (
            (self.last_at - self.first_at)
            if self.first_at is not None and self.last_at is not None
            else 0.0
        )
        tokens = usage.get("completion_tokens") if usage else None
        end = self.ended_at if self.ended_at is not None else self.clock()
        return StreamMetrics(
            time_to_first_token_s=None
            if self.first_at is None
            else self.first_at - self.started_at,
            elapsed_s=end - self.started_at,
            usage=usage,
            finish_reason=result.finish_reason,
            tokens_per_s=tokens / span if tokens and span > 0 else None,
        )


def _read(response: httpx.Response, progress: _Progress) -> Iterator[ChatResponse]:
    """The chat responses of an open response; closing this generator closes the response.

    The loop is written twice so that, after the first text, a read costs one clock call more
    than decoding (this runs once per network read).
    """
    feed, clock = progress.assembler.feed, progress.clock
    try:
        reads = response.iter_bytes()
        for data in reads:
            items = feed(data)
            if items:
                progress.first_at = progress.last_at = clock()
                yield from items
                break
        for data in reads:
            items = feed(data)
            if items:
                progress.last_at = clock()
                yield from items
        yield from progress.finish()
    except httpx.HTTPError as exc:
        raise progress.error(exc) from exc
    finally:
        response.close()


async def _aread(response: httpx.Response, progress: _Progress) -> AsyncIterator[ChatResponse]:
    """Async twin of :func:`_read`."""
    feed, clock = progress.assembler.feed, progress.clock
    try:
        reads = response.aiter_bytes()
        async for data in reads:
            items = feed(data)
            if items:
                progress.first_at = progress.last_at = clock()
                for item in items:
                    yield item
                break
        async for data in reads:
            items = feed(data)
            if items:
                progress.last_at = clock()
                for item in items:
                    yield item
        for item in progress.finish():
            yield item
    except httpx.HTTPError as exc:
        raise progress.error(exc) from exc
    finally:
        await response.aclose()


def _completions(chunks: Iterator[ChatResponse]) -> Iterator[CompletionResponse]:
    for item in chunks:
        yield completion_from_chat(item)


async def _acompletions(chunks: AsyncIterator[ChatResponse]) -> AsyncIterator[CompletionResponse]:
    async for item in chunks:
        yield completion_from_chat(item)


class _StreamState:
    """What the two stream objects share: opening the reader, and what they report.

    Subclasses name their reader (:func:`_read` / :func:`_aread`) and completion mapping.
    """

    __slots__ = ("_chunks", "_items", "_progress", "_reader", "_response")
    _read_with: Callable[..., Any]
    _completions_of: Callable[..., Any]
    _items: Any

    def __init__(
        self,
        response: httpx.Response,
        assembler: StreamAssembler,
        *,
        completions: bool = False,
        started_at: float | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self._response = response
        self._progress = _Progress(assembler, clock, started_at)
        self._reader = self._read_with(response, self._progress)
        self._chunks = self._completions_of(self._reader) if completions else self._reader
        self._items = self._chunks  # LlamaIndex's generator over _chunks, once attached
        opening = _opening.get()
        if opening is not None:
            opening.append(self)

    def chunks(self) -> Any:
        """The generator a LlamaIndex-decorated method returns (the decorator wraps it)."""
        return self._chunks

    def _attach(self, outer: Any) -> None:
        self._items = outer

    @property
    def response(self) -> httpx.Response:
        """The HTTP response this stream reads (and closes)."""
        return self._response

    @property
    def text(self) -> str:
        """The answer received so far."""
        return self._progress.assembler.text

    @property
    def reasoning(self) -> str:
        """The model's reasoning received so far (kept apart from the answer)."""
        return self._progress.assembler.state.result.reasoning

    @property
    def metrics(self) -> StreamMetrics:
        """Time to first token, usage and tokens per second, so far (see :class:`StreamMetrics`)."""
        return self._progress.metrics()

    @property
    def clock(self) -> Clock:
        """The clock this stream is timed with (``time.perf_counter`` unless one was injected)."""
        return self._progress.clock

    @property
    def started_at(self) -> float:
        """The clock reading when the request was sent."""
        return self._progress.started_at

    @property
    def first_token_at(self) -> float | None:
        """The clock reading when the first text arrived (None before it)."""
        return self._progress.first_at

    @property
    def last_token_at(self) -> float | None:
        """The clock reading when the latest text arrived (None before the first)."""
        return self._progress.last_at


class ChatStream(_StreamState, collections.abc.Generator[Any, None, None]):
    """A streamed reply: iterate it for ``ChatResponse`` chunks (``CompletionResponse`` from
    ``stream_complete``), each with the increment in ``delta`` and the text so far; the last
    one has ``delta=""`` and carries ``usage`` and ``finish_reason`` in ``additional_kwargs``.

    ``close()`` (or leaving a ``with`` block) closes the HTTP response at once.
    """

    __slots__ = ()
    _read_with = staticmethod(_read)
    _completions_of = staticmethod(_completions)

    def __iter__(self) -> Generator[Any, None, None]:
        return self._items

    def __next__(self) -> Any:
        return next(self._items)

    def send(self, value: Any) -> Any:
        return self._items.send(value)

    def throw(self, *args: Any) -> Any:
        return self._items.throw(*args)

    def close(self) -> None:
        """Stop reading and close the HTTP response (harmless when already closed)."""
        try:
            for generator in (self._items, self._chunks, self._reader):
                generator.close()
        finally:
            self._response.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncChatStream(_StreamState, collections.abc.AsyncGenerator[Any, None]):
    """Async twin of :class:`ChatStream`: ``async for`` it; ``await aclose()`` (or leaving an
    ``async with`` block) closes the HTTP response before it returns, read or not."""

    __slots__ = ()
    _read_with = staticmethod(_aread)
    _completions_of = staticmethod(_acompletions)

    def __aiter__(self) -> AsyncGenerator[Any, None]:
        return self._items

    def __anext__(self) -> Coroutine[Any, Any, Any]:
        return self._items.__anext__()

    def asend(self, value: Any) -> Coroutine[Any, Any, Any]:
        return self._items.asend(value)

    def athrow(self, *args: Any) -> Coroutine[Any, Any, Any]:
        return self._items.athrow(*args)

    async def aclose(self) -> None:
        """Close LlamaIndex's generator, then ours, then the HTTP response, even if one raises.

        LlamaIndex's async wrapper does not close the generator it wraps, so this does.
        """
        first_error: BaseException | None = None
        closers = (
            self._items.aclose,
            self._chunks.aclose,
            self._reader.aclose,
            self._response.aclose,
        )
        for close in closers:
            try:
                await close()
            except BaseException as exc:  # noqa: BLE001 - close the rest, then raise the first
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


AnyStream = ChatStream | AsyncChatStream


def _adopt(result: Any, opened: list[AnyStream]) -> Any:
    """The stream the call opened, iterating through ``result`` (LlamaIndex's generator)."""
    if len(opened) != 1:
        return result
    stream = opened[0]
    stream._attach(result)
    return stream


def returns_stream(method: F) -> F:
    """Wrap a LlamaIndex-decorated ``stream_*`` / ``astream_*`` method to return its stream object."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            opened: list[AnyStream] = []
            token = _opening.set(opened)
            try:
                result = await method(*args, **kwargs)
            except BaseException:
                for stream in opened:
                    await stream.aclose()  # type: ignore[union-attr]
                raise
            finally:
                _opening.reset(token)
            return _adopt(result, opened)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opened: list[AnyStream] = []
        token = _opening.set(opened)
        try:
            result = method(*args, **kwargs)
        except BaseException:
            for stream in opened:
                stream.close()  # type: ignore[union-attr]
            raise
        finally:
            _opening.reset(token)
        return _adopt(result, opened)

    return wrapper  # type: ignore[return-value]

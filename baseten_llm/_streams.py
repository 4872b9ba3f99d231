"""Stream loops over an open HTTP response, and closing async streams promptly.

Closing a sync stream (``.close()``, or dropping it after leaving the ``for`` loop) closes the
HTTP response: LlamaIndex's callback wrapper is a plain generator whose frame holds ours, so
CPython finalizes both at once. LlamaIndex's *async* wrapper does not ``aclose`` the generator
it wraps, so ``await stream.aclose()`` used to leave the response open until the event loop got
round to finalizing our generator. :func:`closes_async_stream` (applied outside
``llm_chat_callback`` / ``llm_completion_callback``) returns a :class:`ClosingAsyncStream`
whose ``aclose`` closes LlamaIndex's generator, then ours and the HTTP response, before it
returns.
"""

from __future__ import annotations

import collections.abc
import functools
from contextvars import ContextVar
from typing import Any, AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, List, Optional, TypeVar

import httpx
from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from ._http import stream_error
from .chat import StreamAssembler, completion_from_chat

__all__ = ["iter_stream", "aiter_stream", "map_stream", "amap_stream", "ClosingAsyncStream",
           "closes_async_stream", "opened_async_stream"]

T = TypeVar("T")

#: The streams opened by the current ``astream_*`` call, for :func:`closes_async_stream`.
_opened: ContextVar[Optional[List[Any]]] = ContextVar("baseten_llm_opened_streams", default=None)


def iter_stream(response: httpx.Response, assembler: StreamAssembler) -> Iterator[ChatResponse]:
    """Read an open response; closing this generator closes the HTTP stream."""
    feed = assembler.feed
    try:
        for data in response.iter_bytes():
            yield from feed(data)
        yield from assembler.finish()
    except httpx.HTTPError as exc:
        raise stream_error(exc, assembler.text) from exc
    finally:
        response.close()


async def aiter_stream(response: httpx.Response, assembler: StreamAssembler) -> AsyncIterator[ChatResponse]:
    """Async twin of :func:`iter_stream`."""
    feed = assembler.feed
    try:
        async for data in response.aiter_bytes():
            for item in feed(data):
                yield item
        for item in assembler.finish():
            yield item
    except httpx.HTTPError as exc:
        raise stream_error(exc, assembler.text) from exc
    finally:
        await response.aclose()


def map_stream(stream: Iterator[ChatResponse]) -> Iterator[CompletionResponse]:
    """Chat chunks as completion chunks; closing this closes ``stream``."""
    try:
        for item in stream:
            yield completion_from_chat(item)
    finally:
        stream.close()  # type: ignore[attr-defined]


async def amap_stream(stream: AsyncIterator[ChatResponse]) -> AsyncIterator[CompletionResponse]:
    """Async twin of :func:`map_stream`."""
    try:
        async for item in stream:
            yield completion_from_chat(item)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


def opened_async_stream(opened_thing: T) -> T:
    """Note an HTTP response, or the outermost generator of ours that reads it, for the
    enclosing :func:`closes_async_stream` to close (generators first, in order)."""
    opened = _opened.get()
    if opened is not None:
        opened.append(opened_thing)
    return opened_thing


class ClosingAsyncStream(collections.abc.AsyncGenerator):
    """LlamaIndex's async stream, with an ``aclose`` that also closes ours and the response.

    Iteration goes straight to LlamaIndex's generator (its instrumentation events are kept).
    """

    __slots__ = ("_outer", "_opened")

    def __init__(self, outer: AsyncGenerator, opened: List[Any]) -> None:
        self._outer = outer
        self._opened = opened

    def __aiter__(self) -> "ClosingAsyncStream":
        return self

    def __anext__(self) -> Awaitable[Any]:
        return self._outer.__anext__()

    def asend(self, value: Any) -> Awaitable[Any]:
        return self._outer.asend(value)

    def athrow(self, *args: Any) -> Awaitable[Any]:
        return self._outer.athrow(*args)

    async def aclose(self) -> None:
        """Close LlamaIndex's generator, then ours, then the HTTP response (even if never read)."""
        try:
            await self._outer.aclose()
        finally:
            await _close_all(self._opened)


async def _close_all(opened: List[Any]) -> None:
    """``aclose`` each generator, then each response, even if one of them raises."""
    generators = [o for o in opened if not isinstance(o, httpx.Response)]
    responses = [o for o in opened if isinstance(o, httpx.Response)]
    first_error: Optional[BaseException] = None
    for thing in generators + responses:
        try:
            await thing.aclose()
        except BaseException as exc:  # close the rest, then raise the first
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def closes_async_stream(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a decorated ``astream_*`` method so that ``aclose`` on its stream closes the response."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        opened: List[Any] = []
        token = _opened.set(opened)
        try:
            stream = await method(*args, **kwargs)
        finally:
            _opened.reset(token)
        if not opened or not isinstance(stream, collections.abc.AsyncGenerator):
            return stream
        return ClosingAsyncStream(stream, opened)

    return wrapper

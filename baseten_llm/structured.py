"""Structured outputs through ``response_format`` (a JSON schema), as Baseten serves them.

Baseten's Model APIs (and OpenAI-compatible dedicated deployments) constrain the answer to a JSON
schema sent as ``response_format={"type": "json_schema", "json_schema": {"name", "schema"}}``.
:class:`StructuredOutputMixin` gives :class:`~baseten_llm.Baseten` the LlamaIndex structured
methods (``structured_predict``, ``astructured_predict``, ``stream_structured_predict``,
``astream_structured_predict``, and so ``as_structured_llm``) on that basis: one request, no
tool-calling detour. LlamaIndex's own program (tool calling or text parsing) is used instead when
``pydantic_program_mode`` is not the default or the target is a custom Truss ``/predict`` model.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Generator
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, ValidationError

__all__ = ["StructuredOutputMixin", "response_format_for", "parse_structured"]

dispatcher = get_dispatcher(__name__)
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def response_format_for(output_cls: type[BaseModel]) -> dict[str, Any]:
    """The ``response_format`` that asks for JSON matching ``output_cls``'s schema."""
    name = _NAME_CHARS.sub("_", output_cls.__name__)[:64] or "output"
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": output_cls.model_json_schema()},
    }


def parse_structured(text: str, output_cls: type[BaseModel]) -> BaseModel:
    """``output_cls`` from the answer; tolerates a Markdown fence or words around the object."""
    try:
        return output_cls.model_validate_json(text)
    except ValidationError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start or (start == 0 and end == len(text) - 1):
            raise
        return output_cls.model_validate_json(text[start : end + 1])


class StructuredOutputMixin:
    """Structured prediction through ``response_format``; mixed into :class:`~baseten_llm.Baseten`.

    The host class provides ``chat``/``achat``/``stream_chat``/``astream_chat``,
    ``_extend_messages``, ``pydantic_program_mode`` and ``_speaks_openai`` (True when the target
    answers OpenAI chat completions, so ``response_format`` is understood).
    """

    def _uses_response_format(self) -> bool:
        host: Any = self
        return (
            bool(host._speaks_openai) and host.pydantic_program_mode == PydanticProgramMode.DEFAULT
        )

    def _structured_request(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        host: Any = self
        kwargs = dict(llm_kwargs or {})
        kwargs.pop("tool_choice", None)
        kwargs["response_format"] = response_format_for(output_cls)
        return host._extend_messages(prompt.format_messages(**prompt_args)), kwargs

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> BaseModel:
        """An ``output_cls`` instance, from one chat request constrained to its JSON schema."""
        if not self._uses_response_format():
            return super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)  # type: ignore[misc]
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        response = self.chat(messages, **kwargs)  # type: ignore[attr-defined]
        result = parse_structured(response.message.content or "", output_cls)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> BaseModel:
        """Async twin of :meth:`structured_predict`."""
        if not self._uses_response_format():
            return await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args)  # type: ignore[misc]
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        response = await self.achat(messages, **kwargs)  # type: ignore[attr-defined]
        result = parse_structured(response.message.content or "", output_cls)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def _structured_stream_call(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Partial objects as the JSON streams in (used by ``stream_structured_predict``)."""
        if not self._uses_response_format():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)  # type: ignore[misc]
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        return _partials(self.stream_chat(messages, **kwargs), output_cls)  # type: ignore[attr-defined]

    async def _structured_astream_call(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        """Async twin of :meth:`_structured_stream_call` (used by ``astream_structured_predict``)."""
        if not self._uses_response_format():
            return await super()._structured_astream_call(  # type: ignore[misc]
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        return _apartials(await self.astream_chat(messages, **kwargs), output_cls)  # type: ignore[attr-defined]


def _partials(stream: Any, output_cls: type[BaseModel]) -> Generator[Any, None, None]:
    """The best object so far after each chunk that added answer text; closing it closes the stream."""
    from llama_index.core.program.streaming_utils import process_streaming_content_incremental

    current = None
    try:
        for response in stream:
            if response.delta or current is None:
                current = process_streaming_content_incremental(response, output_cls, current)
                yield current
    finally:
        stream.close()


async def _apartials(stream: Any, output_cls: type[BaseModel]) -> AsyncGenerator[Any, None]:
    """Async twin of :func:`_partials`."""
    from llama_index.core.program.streaming_utils import process_streaming_content_incremental

    current = None
    try:
        async for response in stream:
            if response.delta or current is None:
                current = process_streaming_content_incremental(response, output_cls, current)
                yield current
    finally:
        await stream.aclose()

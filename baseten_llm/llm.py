"""``Baseten``: a LlamaIndex ``FunctionCallingLLM`` for Baseten Model APIs and dedicated deployments.

Routes (``{target}`` from :mod:`baseten_llm.targets`):

* Model APIs: ``POST {model_apis_url}/chat/completions`` (``complete`` goes through chat too).
* Dedicated, ``api_style="openai"`` (default): ``{deployment_url}{target}/sync/v1/chat/completions``.
* Dedicated, ``api_style="predict"``: ``{deployment_url}{target}/predict`` (see :mod:`.predict`).
* Async jobs: ``{target}/async_predict`` and ``/async_request/{id}`` (see :mod:`.jobs`).

Nothing touches the network at construction. The API key is checked on the first request. A
Model APIs slug is sent as given, listed in ``/v1/models`` or not (servers serve models they do
not list); the catalog is read for the context window, for :meth:`Baseten.list_models`, and to
name the closest slugs after a 404.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import httpx
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from . import predict as predict_mod
from ._http import AsyncHTTPTransport, HTTPTransport, decode_json
from ._streams import AsyncChatStream, ChatStream, returns_stream
from .catalog import (
    SNAPSHOT,
    ModelCatalog,
    ModelInfo,
    ModelList,
    find_model,
    suggest_models,
    unknown_model_error,
)
from .chat import (
    ChatResult,
    StreamAssembler,
    build_chat_payload,
    chat_response,
    completion_from_chat,
    generation_params,
    messages_to_dicts,
    parse_chat_response,
    request_options,
)
from .config import ClientConfig
from .errors import AsyncModeError, ConfigurationError, NotFoundError
from .jobs import AsyncQueueStatus, AsyncRequestInfo, JobsClient, build_async_body
from .structured import StructuredOutputMixin
from .targets import DedicatedTarget, validate_model_id

__all__ = ["Baseten", "DEFAULT_DEDICATED_CONTEXT_WINDOW", "DEFAULT_NUM_OUTPUT"]

#: Context window assumed for a dedicated deployment without ``context_window=``.
DEFAULT_DEDICATED_CONTEXT_WINDOW = 8192
#: Baseten's default ``max_tokens`` when none is sent.
DEFAULT_NUM_OUTPUT = 4096


class _ChatRequest(NamedTuple):
    url: str
    body: dict[str, Any]
    headers: dict[str, str] | None


def _resolve_tool_choice(
    tool_choice: str | dict[str, Any] | None, tool_required: bool
) -> str | dict[str, Any]:
    if tool_choice is None:
        return "required" if tool_required else "auto"
    if isinstance(tool_choice, dict) or tool_choice in ("none", "auto", "required"):
        return tool_choice
    return {"type": "function", "function": {"name": tool_choice}}


def _parse_arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        from llama_index.core.llms.utils import (
            parse_partial_json,  # tolerate truncated JSON (streamed calls)
        )

        try:
            value = parse_partial_json(arguments)
        except (TypeError, ValueError):
            return {}
    return value if isinstance(value, dict) else {}


class Baseten(StructuredOutputMixin, FunctionCallingLLM):
    """Baseten LLM: Model APIs by slug (default) or a dedicated deployment by model id.

    Examples:
        ``Baseten(model_id="deepseek-ai/DeepSeek-V3.1")`` (key from ``BASETEN_API_KEY``);
        ``Baseten(model_id="abcd1234", model_apis=False, environment="staging")``;
        ``Baseten(model_id="abcd1234", model_apis=False, api_style="predict")``.

    With ``webhook_endpoint=`` on a dedicated deployment, ``acomplete`` submits an async job and
    returns its request id as the text (the seed package's behaviour); ``achat`` then raises
    :class:`~baseten_llm.errors.AsyncModeError`. If ``model_apis`` is not given, it is False
    exactly when a webhook is set and ``model_id`` is not a slug (has no ``/``).
    """

    model_id: str = Field(description="Model APIs slug, or the dedicated deployment's model id.")
    model_apis: bool = Field(
        default=True, description="True for Model APIs, False for a dedicated deployment."
    )
    environment: str | None = Field(
        default=None, description="Dedicated environment (default production)."
    )
    deployment_id: str | None = Field(default=None, description="A specific dedicated deployment.")
    development: bool = Field(default=False, description="Call the development deployment.")
    api_style: str = Field(
        default="openai", description="'openai' (/sync/v1) or 'predict' (custom Truss)."
    )
    webhook_endpoint: str | None = Field(
        default=None, description="Async-job mode: where results go."
    )
    model_apis_url: str | None = Field(default=None, description="Model APIs base URL override.")
    deployment_url: str | None = Field(default=None, description="Template with {model_id}.")
    temperature: float | None = Field(default=None, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, description="Maximum tokens to generate.")
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra body parameters."
    )
    max_retries: int = Field(default=3, ge=0, description="Retries for 429/5xx/connection errors.")
    timeout: float = Field(default=600.0, description="Read timeout in seconds.")
    connect_timeout: float = Field(default=10.0, description="Connect timeout in seconds.")
    context_window: int | None = Field(default=None, description="Override of the context window.")
    max_total_retry_wait_s: float | None = Field(
        default=None,
        description="Give up instead of waiting longer than this, in all, between retries.",
    )
    on_retry: Callable[..., None] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Called with a RetryNotice before each wait between retries (e.g. to show it).",
    )
    retry_sleep: Callable[[float], None] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="How the sync client waits between retries (default time.sleep); may raise to stop.",
    )
    stream_clock: Callable[[], float] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="The clock streams are timed with (default time.perf_counter), e.g. a fake one in tests.",
    )
    default_headers: dict[str, str] | None = Field(default=None, exclude=True, repr=False)
    predict_input_builder: Callable[..., dict[str, Any]] | None = Field(default=None, exclude=True)
    predict_output_parser: Callable[[Any], str] | None = Field(default=None, exclude=True)

    _config: ClientConfig = PrivateAttr()
    _transport: HTTPTransport = PrivateAttr()
    _atransport: AsyncHTTPTransport = PrivateAttr()
    _target: DedicatedTarget | None = PrivateAttr(default=None)
    _model_info: ModelInfo | None = PrivateAttr(default=None)
    _jobs_client: JobsClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        model_id: str,
        model_apis: bool | None = None,
        webhook_endpoint: str | None = None,
        api_key: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        if model_apis is None:
            model_apis = not (webhook_endpoint and "/" not in str(model_id))
        super().__init__(
            model_id=model_id, model_apis=model_apis, webhook_endpoint=webhook_endpoint, **kwargs
        )
        self._check_settings()
        self._config = ClientConfig.resolve(
            api_key=api_key,
            model_apis_url=self.model_apis_url,
            deployment_url=self.deployment_url,
            timeout_s=self.timeout,
            connect_timeout_s=self.connect_timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
        )
        self._transport = HTTPTransport(
            self._config,
            client=http_client,
            sleep=self.retry_sleep or time.sleep,
            on_retry=self.on_retry,
            max_total_retry_wait_s=self.max_total_retry_wait_s,
        )
        self._atransport = AsyncHTTPTransport(
            self._config,
            client=async_http_client,
            on_retry=self.on_retry,
            max_total_retry_wait_s=self.max_total_retry_wait_s,
        )

    def _check_settings(self) -> None:
        if self.api_style not in ("openai", "predict"):
            raise ConfigurationError(
                f"api_style must be 'openai' or 'predict', got {self.api_style!r}."
            )
        if self.model_apis:
            if self.webhook_endpoint:
                raise AsyncModeError(
                    "Async jobs (webhook_endpoint=...) need a dedicated deployment: pass its model id "
                    "with model_apis=False. Model APIs only serve synchronous requests."
                )
            if not self.model_id or not self.model_id.strip():
                raise ConfigurationError(
                    "model_id is empty: pass a Model APIs slug like 'deepseek-ai/DeepSeek-V3.1'."
                )
            return
        validate_model_id(self.model_id)
        self._target = DedicatedTarget(self.environment, self.development, self.deployment_id)

    @classmethod
    def class_name(cls) -> str:
        """Name used by LlamaIndex serialization (same as the seed package)."""
        return "Baseten_LLM"

    # ------------------------------------------------------------------ URLs and hints
    @property
    def _catalog(self) -> ModelCatalog:
        return ModelCatalog(self._config.model_apis_url)

    def _model_base_url(self) -> str:
        return self._config.model_base_url(self.model_id)

    def _target_url(self, route: str) -> str:
        if self._target is None:
            raise ConfigurationError("This call needs a dedicated deployment (model_apis=False).")
        return self._target.url(self._model_base_url(), route)

    @property
    def _speaks_openai(self) -> bool:
        """True when the target answers OpenAI chat completions (Model APIs, dedicated /sync/v1)."""
        return self.model_apis or self.api_style == "openai"

    def _chat_url(self) -> str:
        if self.model_apis:
            return f"{self._config.model_apis_url}/chat/completions"
        return self._target_url(
            "predict" if self.api_style == "predict" else "sync/v1/chat/completions"
        )

    def _not_found_hint(self) -> tuple[str, Sequence[str]]:
        """What to check after a 404 from a dedicated deployment (Model APIs: :meth:`_slug_not_found`)."""
        if self._target is None:
            return "", ()
        return (
            f"Check the model id {self.model_id!r} and {self._target.describe()} on the model's page "
            "in the Baseten dashboard (a scaled-to-zero development deployment can also 404)."
        ), ()

    def _slug_not_found(
        self, error: NotFoundError, listed: tuple[list[ModelInfo], str]
    ) -> NotFoundError:
        """A Model APIs 404, explained with the catalog: the closest slugs, or that it is listed."""
        models, source = listed
        names = [m.id for m in models]
        if self.model_id in names:
            suggestions = [self.model_id]
            hint = (
                f"The model list ({source}) has the slug {self.model_id!r}, so it may be retired or not "
                "enabled for your account: check the Model APIs page of the Baseten dashboard."
            )
        else:
            suggestions = suggest_models(self.model_id, names)
            more = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            hint = f"Check the Model APIs slug {self.model_id!r}: it is not in the model list ({source}).{more}"
        return NotFoundError(
            f"{error} {hint}", request_id=error.request_id, suggestions=suggestions
        )

    # ------------------------------------------------------------------ catalog
    def _fetch_json(self, url: str) -> Any:
        return self._transport.request_json("GET", url)

    async def _afetch_json(self, url: str) -> Any:
        return await self._atransport.request_json("GET", url)

    def _use_models(self, models: list[ModelInfo], source: str) -> ModelInfo:
        info = find_model(self.model_id, models)
        if info is None:
            raise unknown_model_error(self.model_id, models, source=source)
        self._model_info = info
        return info

    # Overrides pydantic's deprecated classmethod BaseModel.validate; the public name stays.
    def validate(self) -> ModelInfo | None:  # type: ignore[override]
        """Check the key and (Model APIs) that the catalog lists the slug; return its row.

        Requests never need this: a slug missing from the list is still sent (the server may
        serve models it does not list), and a 404 then names the closest listed slugs.
        """
        self._config.require_api_key()
        if self.model_apis and self._model_info is None:
            self._use_models(*self._catalog.models(self._fetch_json))
        return self._model_info

    async def avalidate(self) -> ModelInfo | None:
        """Async twin of :meth:`validate`."""
        self._config.require_api_key()
        if self.model_apis and self._model_info is None:
            self._use_models(*(await self._catalog.amodels(self._afetch_json)))
        return self._model_info

    def list_models(self) -> ModelList:
        """Model APIs: the catalog rows (id, name, context_length, ...). Dedicated: this model.

        The result is a list with ``.source``: where it came from (the live list and its URL, or
        the dated built-in snapshot after a failed fetch, or this deployment), and ``.live``.
        """
        if not self.model_apis:
            row = ModelInfo(
                self.model_id,
                self.model_id,
                self.context_window or DEFAULT_DEDICATED_CONTEXT_WINDOW,
            )
            return ModelList([row], source="this dedicated deployment", live=False)
        models, source = self._catalog.models(self._fetch_json)
        return ModelList(models, source=source, live=source.startswith("live"))

    def served_models(self) -> list[dict[str, Any]]:
        """The rows of the OpenAI-style model list the target serves, as served (one request,
        not cached): ``{model_apis_url}/models``, or a dedicated deployment's
        ``{target}/sync/v1/models``, whose rows may say ``max_model_len``. For the Model APIs
        catalog with its snapshot fallback, use :meth:`list_models`."""
        self._config.require_api_key()
        if self.model_apis:
            url, hint = f"{self._config.model_apis_url}/models", None
        else:
            url, hint = self._target_url("sync/v1/models"), self._not_found_hint
        data = self._transport.request_json("GET", url, not_found_hint=hint)
        rows = data.get("data") if isinstance(data, dict) else None
        return [row for row in rows or () if isinstance(row, dict)]

    @property
    def available_models(self) -> list[ModelInfo]:
        """Same as :meth:`list_models` (the seed package's property)."""
        return self.list_models()

    @property
    def metadata(self) -> LLMMetadata:
        """Context window from ``context_window``, the catalog row, or the default. No I/O.

        LlamaIndex reads this on every call (also inside the event loop), so it never fetches:
        it uses the catalog already loaded for this URL (by :meth:`list_models`, :meth:`validate`
        or a 404), even if older than its refresh time, else the built-in snapshot.
        """
        info = self._model_info
        if self.model_apis and info is None:
            hit = self._catalog.cached(stale_ok=True)
            info = find_model(self.model_id, hit[0] if hit else ()) or find_model(
                self.model_id, SNAPSHOT
            )
        context = (
            self.context_window
            or (info.context_length if info else None)
            or DEFAULT_DEDICATED_CONTEXT_WINDOW
        )
        num_output = (
            self.max_tokens or (info.max_completion_tokens if info else None) or DEFAULT_NUM_OUTPUT
        )
        return LLMMetadata(
            context_window=context,
            num_output=num_output,
            model_name=self.model_id,
            is_chat_model=True,
            is_function_calling_model=True,
        )

    # ------------------------------------------------------------------ request building (pure)
    def _params(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return generation_params(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            additional_kwargs=self.additional_kwargs,
            call_kwargs=kwargs,
        )

    def _chat_body(
        self, messages: Sequence[ChatMessage], stream: bool, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if self.api_style == "predict" and not self.model_apis:
            return predict_mod.build_predict_input(
                messages_to_dicts(messages),
                stream=stream,
                params=self._params(kwargs),
                builder=self.predict_input_builder,
            )
        return build_chat_payload(
            self.model_id, messages, stream=stream, params=self._params(kwargs)
        )

    def _chat_request(
        self, messages: Sequence[ChatMessage], stream: bool, kwargs: dict[str, Any]
    ) -> _ChatRequest:
        """URL, JSON body and per-call headers of one chat call (``extra_headers`` / ``extra_body``)."""
        options = request_options(kwargs)
        body = self._chat_body(messages, stream, options.call_kwargs)
        if options.extra_body:
            body.update(options.extra_body)
        return _ChatRequest(self._chat_url(), body, options.extra_headers)

    def _result(self, data: Any) -> ChatResult:
        if isinstance(data, dict) and "choices" in data and not self.predict_output_parser:
            return parse_chat_response(data)
        parse = self.predict_output_parser or predict_mod.extract_predict_text
        return ChatResult(content=parse(data), finish_reason="stop")

    def _prompt_messages(self, prompt: str) -> list[ChatMessage]:
        messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
        if self.system_prompt:
            messages.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=self.system_prompt))
        return messages

    # ------------------------------------------------------------------ network: sync
    def _send_chat(self, request: _ChatRequest, stream: bool) -> httpx.Response:
        self._config.require_api_key()
        try:
            return self._transport.send(
                "POST",
                request.url,
                json_body=request.body,
                headers=request.headers,
                stream=stream,
                not_found_hint=self._not_found_hint,
            )
        except NotFoundError as exc:
            if not self.model_apis:
                raise
            raise self._slug_not_found(exc, self._catalog.models(self._fetch_json)) from exc

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        data = decode_json(
            self._send_chat(self._chat_request(messages, False, kwargs), stream=False)
        )
        return chat_response(self._result(data), raw=data)

    def _open_stream(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], *, completions: bool
    ) -> ChatResponseGen:
        """Send a streamed chat; the :class:`ChatStream` that owns the response gives its chunks."""
        clock = self.stream_clock or time.perf_counter
        started = clock()
        response = self._send_chat(self._chat_request(messages, True, kwargs), stream=True)
        return ChatStream(
            response,
            self._assembler(response),
            completions=completions,
            started_at=started,
            clock=clock,
        ).chunks()

    # ------------------------------------------------------------------ network: async
    async def _asend_chat(self, request: _ChatRequest, stream: bool) -> httpx.Response:
        self._config.require_api_key()
        try:
            return await self._atransport.send(
                "POST",
                request.url,
                json_body=request.body,
                headers=request.headers,
                stream=stream,
                not_found_hint=self._not_found_hint,
            )
        except NotFoundError as exc:
            if not self.model_apis:
                raise
            raise self._slug_not_found(exc, await self._catalog.amodels(self._afetch_json)) from exc

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        data = decode_json(
            await self._asend_chat(self._chat_request(messages, False, kwargs), stream=False)
        )
        return chat_response(self._result(data), raw=data)

    async def _aopen_stream(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], *, completions: bool
    ) -> ChatResponseAsyncGen:
        """Async twin of :meth:`_open_stream` (an :class:`AsyncChatStream`)."""
        clock = self.stream_clock or time.perf_counter
        started = clock()
        response = await self._asend_chat(self._chat_request(messages, True, kwargs), stream=True)
        stream = AsyncChatStream(
            response,
            self._assembler(response),
            completions=completions,
            started_at=started,
            clock=clock,
        )
        return stream.chunks()

    def _assembler(self, response: httpx.Response) -> StreamAssembler:
        sse = (
            self.api_style == "openai"
            or self.model_apis
            or predict_mod.is_sse(response.headers.get("content-type"))
        )
        return StreamAssembler(sse=sse)

    def _refuse_in_async_mode(self, method: str) -> None:
        if self.webhook_endpoint:
            raise AsyncModeError(
                f"{method} is not available while webhook_endpoint is set: in that mode acomplete() submits "
                "an async job. Use complete()/chat(), or create a Baseten without webhook_endpoint."
            )

    # ------------------------------------------------------------------ LlamaIndex API
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat completion."""
        return self._chat(messages, **kwargs)

    @returns_stream
    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Streamed chat, a :class:`~baseten_llm.ChatStream`: ``delta`` per chunk, the answer so far
        in ``message.content``; ``.metrics`` and ``.close()`` on the stream."""
        return self._open_stream(messages, kwargs, completions=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Completion, sent as a one-message chat (Model APIs have no /completions)."""
        return completion_from_chat(self._chat(self._prompt_messages(prompt), **kwargs))

    @returns_stream
    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Streamed completion (a :class:`~baseten_llm.ChatStream` of ``CompletionResponse``)."""
        return self._open_stream(self._prompt_messages(prompt), kwargs, completions=True)  # type: ignore[return-value]

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async chat completion (AsyncModeError in async-job mode)."""
        self._refuse_in_async_mode("achat")
        return await self._achat(messages, **kwargs)

    @returns_stream
    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async streamed chat, an :class:`~baseten_llm.AsyncChatStream`; ``await stream.aclose()``
        closes the HTTP stream at once."""
        self._refuse_in_async_mode("astream_chat")
        return await self._aopen_stream(messages, kwargs, completions=False)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async completion; with ``webhook_endpoint`` set, submits an async job instead."""
        if self.webhook_endpoint:
            return await self._asubmit_prompt_job(prompt, **kwargs)
        return completion_from_chat(await self._achat(self._prompt_messages(prompt), **kwargs))

    @returns_stream
    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async streamed completion; ``await stream.aclose()`` closes the HTTP stream at once."""
        self._refuse_in_async_mode("astream_complete")
        return await self._aopen_stream(self._prompt_messages(prompt), kwargs, completions=True)  # type: ignore[return-value]

    # ------------------------------------------------------------------ tools
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Messages plus OpenAI-style ``tools`` and ``tool_choice`` for :meth:`chat`."""
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["tool_choice"] = _resolve_tool_choice(tool_choice, tool_required)
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[Any],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call (block and ``tool_calls`` entry) unless parallel calls are allowed."""
        message = response.message
        calls = message.additional_kwargs.get("tool_calls") or []
        if not allow_parallel_tool_calls and len(calls) > 1:
            message.additional_kwargs["tool_calls"] = calls[:1]
        blocks = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
        if not allow_parallel_tool_calls and len(blocks) > 1:
            message.blocks = [
                b for b in message.blocks if not isinstance(b, ToolCallBlock) or b is blocks[0]
            ]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls of a response (its ``ToolCallBlock``s, else ``tool_calls``) as ``ToolSelection``s."""
        selections = [
            ToolSelection(
                tool_id=b.tool_call_id or "",
                tool_name=b.tool_name,
                tool_kwargs=_parse_arguments(b.tool_kwargs),
            )
            for b in response.message.blocks
            if isinstance(b, ToolCallBlock)
        ]
        if not selections:
            selections = [
                ToolSelection(
                    tool_id=c.get("id") or "",
                    tool_name=c["function"]["name"],
                    tool_kwargs=_parse_arguments(c["function"].get("arguments")),
                )
                for c in response.message.additional_kwargs.get("tool_calls") or []
            ]
        if not selections and error_on_no_tool_call:
            raise ValueError(
                f"Expected at least one tool call, but the model answered: {response.message.content!r}"
            )
        return selections

    # ------------------------------------------------------------------ async jobs
    @property
    def jobs(self) -> JobsClient:
        """This deployment's async-job client (submit, status, cancel, queue status), built once."""
        if self._jobs_client is None:
            self._jobs_client = JobsClient(
                self._model_base_url(),
                self._target_url("").rstrip("/"),
                self._transport,
                self._atransport,
                not_found_hint=self._not_found_hint,
            )
        return self._jobs_client

    def _job_body(
        self,
        model_input: Any,
        webhook_endpoint: str | None,
        priority: int,
        max_time_in_queue_seconds: int,
        inference_retry_config: dict[str, int] | None,
    ) -> dict[str, Any]:
        return build_async_body(
            model_input,
            webhook_endpoint=webhook_endpoint or self.webhook_endpoint,
            priority=priority,
            max_time_in_queue_seconds=max_time_in_queue_seconds,
            inference_retry_config=inference_retry_config,
        )

    def _prompt_job_body(self, prompt: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        model_input = {"prompt": prompt, **self._params(kwargs)}
        return build_async_body(model_input, webhook_endpoint=self.webhook_endpoint)

    async def _asubmit_prompt_job(self, prompt: str, **kwargs: Any) -> CompletionResponse:
        self._config.require_api_key()
        reply = await self.jobs.asubmit(self._prompt_job_body(prompt, kwargs))
        return CompletionResponse(
            text=str(reply["request_id"]), raw=reply, additional_kwargs={"async_request": True}
        )

    def submit_async_request(
        self,
        model_input: Any,
        *,
        webhook_endpoint: str | None = None,
        priority: int = 0,
        max_time_in_queue_seconds: int = 600,
        inference_retry_config: dict[str, int] | None = None,
    ) -> str:
        """Queue an async job on this deployment; return its request id."""
        body = self._job_body(
            model_input,
            webhook_endpoint,
            priority,
            max_time_in_queue_seconds,
            inference_retry_config,
        )
        return str(self.jobs.submit(body)["request_id"])

    async def asubmit_async_request(
        self,
        model_input: Any,
        *,
        webhook_endpoint: str | None = None,
        priority: int = 0,
        max_time_in_queue_seconds: int = 600,
        inference_retry_config: dict[str, int] | None = None,
    ) -> str:
        """Async twin of :meth:`submit_async_request`."""
        body = self._job_body(
            model_input,
            webhook_endpoint,
            priority,
            max_time_in_queue_seconds,
            inference_retry_config,
        )
        return str((await self.jobs.asubmit(body))["request_id"])

    def get_async_request(self, request_id: str) -> AsyncRequestInfo:
        """Status of an async job (Baseten keeps it for 1 h after completion)."""
        return self.jobs.status(request_id)

    async def aget_async_request(self, request_id: str) -> AsyncRequestInfo:
        """Async twin of :meth:`get_async_request`."""
        return await self.jobs.astatus(request_id)

    def cancel_async_request(self, request_id: str) -> bool:
        """Cancel a queued job; True when it was canceled."""
        return self.jobs.cancel(request_id)

    async def acancel_async_request(self, request_id: str) -> bool:
        """Async twin of :meth:`cancel_async_request`."""
        return await self.jobs.acancel(request_id)

    def get_async_queue_status(self) -> AsyncQueueStatus:
        """Queued and running job counts of the target deployment."""
        return self.jobs.queue_status()

    async def aget_async_queue_status(self) -> AsyncQueueStatus:
        """Async twin of :meth:`get_async_queue_status`."""
        return await self.jobs.aqueue_status()

    def wake(self) -> None:
        """Ask a scaled-to-zero deployment to start (``POST {target}/wake``)."""
        self._transport.send(
            "POST", self._target_url("wake"), not_found_hint=self._not_found_hint
        ).close()

    async def awake(self) -> None:
        """Async twin of :meth:`wake`."""
        await (
            await self._atransport.send(
                "POST", self._target_url("wake"), not_found_hint=self._not_found_hint
            )
        ).aclose()

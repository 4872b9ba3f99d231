"""Capability checks: a small, fixed set of probes that say what a target can really do.

Each probe sends one or two short requests and returns a :class:`ProbeResult`: pass, fail or
skip, with the evidence a person can read (what was sent and what came back). The probes:
streaming, usage reporting, tool calling, JSON-schema output, reasoning on and off, an image
(only when the model says it takes images) and the context window near its advertised limit
(about :data:`CONTEXT_FILL` of it, so this probe costs the most: the page says how much).

A custom Truss ``/predict`` target has none of these OpenAI-style features to check; every
probe is skipped with that reason. Nothing here imports Streamlit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
)

from chatapp.targets import Target

Status = Literal["pass", "fail", "skip"]
CONTEXT_FILL = 0.85
PROBE_MAX_TOKENS = 64
SYMBOLS = {"pass": "✅ pass", "fail": "❌ fail", "skip": "➖ skipped"}
CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["city", "country"],
    "additionalProperties": False,
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
}


@dataclass(frozen=True)
class ProbeResult:
    name: str
    status: Status
    evidence: str


@dataclass
class CapabilityReport:
    """The results of one check of one target."""

    target: Target
    results: list[ProbeResult] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def rows(self) -> list[dict[str, str]]:
        return [
            {"Check": r.name, "Result": SYMBOLS[r.status], "Evidence": r.evidence}
            for r in self.results
        ]

    def summary(self) -> str:
        passed = sum(r.status == "pass" for r in self.results)
        failed = [r.name for r in self.results if r.status == "fail"]
        skipped = [r.name for r in self.results if r.status == "skip"]
        line = f"{passed} of {len(self.results)} checks passed"
        if failed:
            line += f"; failed: {', '.join(failed)}"
        if skipped:
            line += f"; skipped: {', '.join(skipped)}"
        return line + "."

    def to_json(self) -> str:
        return json.dumps(
            {
                "target": self.target.label,
                "checked_at": self.checked_at.isoformat(),
                "results": [asdict(r) for r in self.results],
            },
            indent=2,
        )

    def to_markdown(self) -> str:
        lines = [
            "# Baseten Chat: capability check",
            "",
            f"- **Target:** {self.target.label}",
            f"- **Checked:** {self.checked_at:%Y-%m-%d %H:%M:%S %Z}",
            "",
            f"**{self.summary()}**",
            "",
            "| Check | Result | Evidence |",
            "|---|---|---|",
        ]
        for row in self.rows():
            cells = [row[k].replace("|", "\\|").replace("\n", " ") for k in row]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


Describe = Callable[[BaseException], str]


@dataclass
class ProbeContext:
    """What the probes need besides the client."""

    llm: Any
    context_window: int | None
    accepts_images: bool
    describe: Describe
    #: The streamed probe's usage, read by the usage probe (one request serves both).
    stream_usage: dict[str, Any] | None = None


def _user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


def _short(text: str, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def probe_streaming(ctx: ProbeContext) -> ProbeResult:
    pieces, usage = 0, None
    stream = ctx.llm.stream_chat(_user("Count from one to five."), max_tokens=PROBE_MAX_TOKENS)
    try:
        for chunk in stream:
            pieces += bool(chunk.delta)
            usage = chunk.additional_kwargs.get("usage") or usage
    finally:
        stream.close()
    ctx.stream_usage = usage
    if pieces >= 2:
        return ProbeResult("Streaming", "pass", f"The answer arrived in {pieces} pieces.")
    return ProbeResult(
        "Streaming", "fail", f"The answer arrived in {pieces} piece(s), not as a stream."
    )


def probe_usage(ctx: ProbeContext) -> ProbeResult:
    usage = ctx.stream_usage
    if usage and usage.get("prompt_tokens") and usage.get("completion_tokens"):
        cached = usage.get("cached_tokens")
        extra = f", {cached} cached" if cached else ""
        return ProbeResult(
            "Usage reporting",
            "pass",
            f"The stream ended with token counts: {usage['prompt_tokens']} in"
            f"{extra}, {usage['completion_tokens']} out.",
        )
    return ProbeResult(
        "Usage reporting",
        "fail",
        "The stream ended without token counts, so cost and throughput can only be estimated.",
    )


def _weather(city: str) -> str:
    """Today's weather in a city."""
    return f"Sunny in {city}"


def probe_tools(ctx: ProbeContext) -> ProbeResult:
    from llama_index.core.tools import FunctionTool

    tool = FunctionTool.from_defaults(fn=_weather, name="get_weather")
    response = ctx.llm.chat_with_tools(
        [tool], user_msg="What is the weather in city Paris?", max_tokens=PROBE_MAX_TOKENS
    )
    calls = ctx.llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    if calls and calls[0].tool_name == "get_weather":
        return ProbeResult(
            "Tool calling", "pass", f"Called get_weather with {json.dumps(calls[0].tool_kwargs)}."
        )
    text = _short(response.message.content or "")
    return ProbeResult("Tool calling", "fail", f"No tool call; it answered in text: “{text}”.")


def probe_json_schema(ctx: ProbeContext) -> ProbeResult:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "place", "schema": CITY_SCHEMA, "strict": True},
    }
    response = ctx.llm.chat(
        _user("Where is the Eiffel Tower? Give the city and country."),
        response_format=fmt,
        max_tokens=PROBE_MAX_TOKENS,
    )
    text = response.message.content or ""
    try:
        value = json.loads(text)
    except ValueError:
        return ProbeResult("JSON-schema output", "fail", f"Not JSON: “{_short(text)}”.")
    missing = [k for k in CITY_SCHEMA["required"] if not isinstance(value, dict) or k not in value]
    if missing:
        return ProbeResult(
            "JSON-schema output", "fail", f"JSON without {', '.join(missing)}: {_short(text)}"
        )
    return ProbeResult("JSON-schema output", "pass", f"Valid against the schema: {_short(text)}")


def _thinking(ctx: ProbeContext, on: bool) -> str:
    response = ctx.llm.chat(
        _user("Is 17 a prime number?"),
        max_tokens=PROBE_MAX_TOKENS,
        chat_template_args={"enable_thinking": on},
    )
    return response.message.additional_kwargs.get("reasoning_content") or ""


def probe_reasoning(ctx: ProbeContext) -> ProbeResult:
    on, off = _thinking(ctx, True), _thinking(ctx, False)
    if not on and not off:
        return ProbeResult(
            "Reasoning on/off",
            "skip",
            "No thinking came back even when asked: not a reasoning model.",
        )
    if on and not off:
        return ProbeResult(
            "Reasoning on/off",
            "pass",
            f"Thinks when asked (“{_short(on, 50)}”) and not when told not to.",
        )
    if off and on:
        return ProbeResult(
            "Reasoning on/off",
            "fail",
            "Still thinks when told not to: thinking cannot be turned off.",
        )
    return ProbeResult("Reasoning on/off", "fail", "Thinks only when told not to.")


def probe_image_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (220, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def probe_image(ctx: ProbeContext) -> ProbeResult:
    if not ctx.accepts_images:
        return ProbeResult("Image input", "skip", "The model does not say it takes images.")
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[
            TextBlock(text="What is in this image?"),
            ImageBlock(image=probe_image_png(), image_mimetype="image/png"),
        ],
    )
    response = ctx.llm.chat([message], max_tokens=PROBE_MAX_TOKENS)
    text = response.message.content or ""
    if text.strip():
        return ProbeResult("Image input", "pass", f"Answered about a 16×12 PNG: “{_short(text)}”.")
    return ProbeResult("Image input", "fail", "An empty answer to an image.")


def probe_context(ctx: ProbeContext) -> ProbeResult:
    window = ctx.context_window
    if not window:
        return ProbeResult("Context window", "skip", "The advertised context window is unknown.")
    words = int(window * CONTEXT_FILL)
    prompt = "Reply with OK. " + "data " * words
    response = ctx.llm.chat(_user(prompt), max_tokens=8)
    usage = response.additional_kwargs.get("usage") or {}
    counted = (
        f" (it counted {usage['prompt_tokens']:,} tokens)" if usage.get("prompt_tokens") else ""
    )
    return ProbeResult(
        "Context window",
        "pass",
        f"Accepted a prompt of about {words:,} words, "
        f"{CONTEXT_FILL:.0%} of the advertised {window:,} tokens{counted}.",
    )


PROBES: tuple[Callable[[ProbeContext], ProbeResult], ...] = (
    probe_streaming,
    probe_usage,
    probe_tools,
    probe_json_schema,
    probe_reasoning,
    probe_image,
    probe_context,
)
NAMES = (
    "Streaming",
    "Usage reporting",
    "Tool calling",
    "JSON-schema output",
    "Reasoning on/off",
    "Image input",
    "Context window",
)


def describe_failure(exc: BaseException, host: str | None = None) -> str:
    """Evidence for a probe the server refused: its own words and the status code; anything
    else in the app's plain words."""
    from baseten_llm import errors
    from chatapp.services import user_errors

    if isinstance(exc, (errors.BadRequestError, errors.UnprocessableEntityError)):
        said = user_errors.server_detail(exc)  # the server's reason, without URLs or advice
        return f"Refused ({exc.status_code})" + (f": “{said}”." if said else ".")
    return user_errors.describe(exc, host=host, context="compare")


def run_checks(target: Target, ctx: ProbeContext) -> Iterator[ProbeResult]:
    """Run every probe in order, yielding each result as it is known. A probe that raises
    fails with the error in plain words as its evidence; the others still run."""
    for name, probe in zip(NAMES, PROBES):
        if target.is_dedicated and target.api_style == "predict":
            yield ProbeResult(
                name,
                "skip",
                "A custom Truss /predict deployment: these checks "
                "are for OpenAI-compatible servers.",
            )
            continue
        try:
            yield probe(ctx)
        except Exception as exc:  # noqa: BLE001 - a failed probe is a result, not a crash
            yield ProbeResult(name, "fail", ctx.describe(exc))


def context_probe_tokens(window: int | None) -> int:
    """About how many input tokens the context probe sends (for the cost warning)."""
    return int((window or 0) * CONTEXT_FILL)


def deployment_context_window(llm: Any) -> int | None:
    """A dedicated OpenAI-compatible deployment's ``max_model_len`` from its ``/sync/v1/models``
    (the library reads no dedicated catalog); None when it does not say."""
    for row in llm.served_models():
        for key in ("max_model_len", "context_length", "context_window"):
            if isinstance(row.get(key), int):
                return int(row[key])
    return None

"""What an answer cost: token prices for Model APIs, GPU time for a dedicated deployment.

Where a price comes from, first match wins:
1. a price the person entered (:class:`PriceSettings`, kept for the browser session);
2. the ``pricing`` object of the model's ``/v1/models`` row, when Baseten serves one;
3. the dated built-in table :data:`SNAPSHOT_PRICES` (Baseten's Model APIs docs, see
   :data:`SNAPSHOT_DATE`), which may be out of date.

A dedicated deployment is billed per minute of GPU time, not per token; the person enters a
price per GPU-hour and the cost of an answer is that price spread over the time it took
(``total_s``). When several streams share the deployment (a load sweep), the time is the step's
wall time, shared by every answer of the step (:func:`gpu_time_cost`).

Cached input tokens (``usage.prompt_tokens_details.cached_tokens``) are billed at the
cached-input rate; the saving is what they would have cost at the full input rate. A price with
no cached-input rate bills them at the full rate (no saving claimed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MILLION = 1_000_000
SNAPSHOT_DATE = "2026-03"
SNAPSHOT_SOURCE = "Baseten's Model APIs docs"
#: A ``pricing`` value below this is taken as USD per token, not per million tokens.
PER_TOKEN_BELOW = 0.001

PriceSource = Literal["yours", "Baseten's model list", "built-in table"]


@dataclass(frozen=True)
class TokenPrice:
    """USD per million tokens; ``cached_input`` None when no cached rate is known."""

    input: float
    output: float
    cached_input: float | None = None
    source: PriceSource = "built-in table"

    @property
    def label(self) -> str:
        cached = "" if self.cached_input is None else f", ${self.cached_input:g} cached"
        return (
            f"${self.input:g} in / ${self.output:g} out{cached} per million tokens "
            f"({self.source_note})"
        )

    @property
    def source_note(self) -> str:
        if self.source == "built-in table":
            return f"built-in table of {SNAPSHOT_DATE}, may be out of date"
        return "your price" if self.source == "yours" else "from Baseten's model list"


@dataclass(frozen=True)
class GpuPrice:
    """USD per GPU-hour of a dedicated deployment (all its GPUs), as the person entered it."""

    per_hour: float

    @property
    def label(self) -> str:
        return f"${self.per_hour:g} per GPU-hour (your price), spread over the measured time"


Price = TokenPrice | GpuPrice

#: Input and output USD per million tokens from Baseten's Model APIs docs (pricing table,
#: read 2026-03); the docs published no cached-input rates then.
SNAPSHOT_PRICES: dict[str, TokenPrice] = {
    slug: TokenPrice(inp, out)
    for slug, inp, out in (
        ("openai/gpt-oss-120b", 0.10, 0.50),
        ("MiniMaxAI/MiniMax-M2.5", 0.30, 1.20),
        ("deepseek-ai/DeepSeek-V3.1", 0.50, 1.50),
        ("zai-org/GLM-4.6", 0.60, 2.20),
        ("zai-org/GLM-4.7", 0.60, 2.20),
        ("moonshotai/Kimi-K2.5", 0.60, 3.00),
        ("deepseek-ai/DeepSeek-V3-0324", 0.77, 0.77),
        ("zai-org/GLM-5", 0.95, 3.15),
    )
}


@dataclass
class PriceSettings:
    """Prices the person entered: per Model APIs slug, and per dedicated model id (GPU-hour)."""

    token_prices: dict[str, TokenPrice] = field(default_factory=dict)
    gpu_hour: dict[str, float] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def from_catalog(pricing: Mapping[str, Any] | None) -> TokenPrice | None:
    """A ``/v1/models`` ``pricing`` object (``prompt``, ``completion``, ``input_cache_read``;
    numbers or strings, per token or per million) as a price per million, or None."""
    if not pricing:
        return None
    values = [_number(pricing.get(k)) for k in ("prompt", "completion", "input_cache_read")]
    prompt, completion, cached = values
    if prompt is None or completion is None:
        return None
    per_token = 0 < max(prompt, completion) < PER_TOKEN_BELOW
    scale = MILLION if per_token else 1
    return TokenPrice(
        prompt * scale,
        completion * scale,
        None if cached is None else cached * scale,
        "Baseten's model list",
    )


def price_for(
    model: str,
    *,
    dedicated: bool,
    catalog_pricing: Mapping[str, Any] | None,
    settings: PriceSettings,
) -> Price | None:
    """The price in effect for a target (see the module docstring), or None when unknown."""
    if dedicated:
        per_hour = settings.gpu_hour.get(model)
        return GpuPrice(per_hour) if per_hour else None
    return (
        settings.token_prices.get(model)
        or from_catalog(catalog_pricing)
        or SNAPSHOT_PRICES.get(model)
    )


@dataclass(frozen=True)
class Cost:
    """What one answer (or a sum of answers) cost, in USD."""

    total: float
    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0
    saving: float = 0.0
    tokens_in: int = 0
    cached_tokens: int = 0
    answers: int = 1

    @property
    def cached_share(self) -> float | None:
        """The share of input tokens served from the prompt cache (None without input)."""
        return self.cached_tokens / self.tokens_in if self.tokens_in else None

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.total + other.total,
            self.input + other.input,
            self.cached_input + other.cached_input,
            self.output + other.output,
            self.saving + other.saving,
            self.tokens_in + other.tokens_in,
            self.cached_tokens + other.cached_tokens,
            self.answers + other.answers,
        )


def token_cost(
    price: TokenPrice, tokens_in: int, tokens_out: int, cached_tokens: int | None
) -> Cost:
    cached = min(max(cached_tokens or 0, 0), tokens_in)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    fresh = (tokens_in - cached) * price.input / MILLION
    from_cache = cached * cached_rate / MILLION
    output = tokens_out * price.output / MILLION
    return Cost(
        fresh + from_cache + output,
        fresh,
        from_cache,
        output,
        cached * (price.input - cached_rate) / MILLION,
        tokens_in,
        cached,
    )


def gpu_time_cost(price: GpuPrice, seconds: float, shared_by: int = 1) -> Cost:
    """GPU time of ``seconds`` shared by ``shared_by`` answers; the cost of one of them."""
    return Cost(price.per_hour * max(seconds, 0.0) / 3600 / max(shared_by, 1))


def answer_cost(price: Price | None, metrics: Mapping[str, Any] | Any) -> Cost | None:
    """The cost of one answer from its metrics (a ``ReplyMetrics`` or its dict)."""
    if price is None:
        return None
    get = metrics.get if isinstance(metrics, Mapping) else lambda k: getattr(metrics, k, None)
    if isinstance(price, GpuPrice):
        cost = gpu_time_cost(price, float(get("total_s") or 0.0))
        return Cost(
            cost.total,
            tokens_in=int(get("tokens_in") or 0),
            cached_tokens=int(get("cached_tokens") or 0),
        )
    return token_cost(
        price, int(get("tokens_in") or 0), int(get("tokens_out") or 0), get("cached_tokens")
    )


def total(costs: Iterable[Cost | None]) -> Cost | None:
    """The sum of the known costs, or None when none is known."""
    known = [c for c in costs if c is not None]
    if not known:
        return None
    result = known[0]
    for cost in known[1:]:
        result = result + cost
    return result


def format_usd(amount: float) -> str:
    """``$1.23`` from a cent up, else four significant digits (``$0.0001234``)."""
    if amount == 0:
        return "$0"
    if amount >= 0.01:
        return f"${amount:,.2f}"
    decimals = min(12, 3 - math.floor(math.log10(amount)))
    return f"${amount:.{decimals}f}"


def describe(cost: Cost | None) -> str:
    """One short line: ``$0.000412 · 62% of input cached, saved $0.000120``."""
    if cost is None:
        return "cost unknown (no price for this target)"
    line = format_usd(cost.total)
    share = cost.cached_share
    if share:
        line += f" · {share:.0%} of input cached"
        if cost.saving > 0:
            line += f", saved {format_usd(cost.saving)}"
    return line

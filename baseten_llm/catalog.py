"""The Model APIs catalog: ``GET {model_apis_url}/models``, fetched lazily, cached per base URL
for :data:`CATALOG_TTL_S`, with a dated built-in snapshot when the call fails.

Nothing here runs at construction time: the first request (or an explicit ``validate()``)
fetches the list. Slug checks suggest the closest names, case-insensitively.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import BasetenError, ConfigurationError, UnknownModelError

__all__ = [
    "ModelInfo",
    "ModelList",
    "SNAPSHOT",
    "SNAPSHOT_DATE",
    "CATALOG_TTL_S",
    "ModelCatalog",
    "parse_models",
    "suggest_models",
    "unknown_model_error",
]

logger = logging.getLogger("baseten_llm")

CATALOG_TTL_S = 600.0
FALLBACK_TTL_S = 60.0
#: When the built-in list was last checked against Baseten's docs: the Model APIs overview
#: ("inference/model-apis/overview", its feature table) and the reasoning page, as indexed on
#: that date. Contexts are left unknown (None) where the docs do not state them.
SNAPSHOT_DATE = "2026-12-01"


@dataclass(frozen=True)
class ModelInfo:
    """One Model APIs row: ``id`` is the slug to pass as ``model_id``."""

    id: str
    name: str
    context_length: int | None = None
    max_completion_tokens: int | None = None
    #: The row's ``pricing`` object as served (unit unconfirmed), and its input modalities.
    pricing: dict[str, Any] | None = field(default=None, hash=False)
    input_modalities: tuple[str, ...] | None = None


_VISION = ("text", "image")

SNAPSHOT: tuple[ModelInfo, ...] = (
    # Listed since early 2026 (docs "development/model-apis/overview").
    ModelInfo("deepseek-ai/DeepSeek-V3-0324", "DeepSeek V3 0324", 163_840),
    ModelInfo("deepseek-ai/DeepSeek-V3.1", "DeepSeek V3.1", 163_840),
    ModelInfo("zai-org/GLM-4.6", "GLM 4.6", 200_000),
    ModelInfo("zai-org/GLM-4.7", "GLM 4.7", 204_800),
    ModelInfo("zai-org/GLM-5", "GLM 5", 327_680),
    ModelInfo("moonshotai/Kimi-K2-Instruct-0905", "Kimi K2 0905", 131_072),
    ModelInfo("moonshotai/Kimi-K2-Thinking", "Kimi K2 Thinking", 262_144),
    ModelInfo("moonshotai/Kimi-K2.5", "Kimi K2.5", 262_144, input_modalities=_VISION),
    ModelInfo("MiniMaxAI/MiniMax-M2.5", "MiniMax M2.5", 204_800),
    ModelInfo("openai/gpt-oss-120b", "OpenAI GPT OSS 120B", 131_072),
    # Added by the current overview and reasoning pages.
    ModelInfo("deepseek-ai/DeepSeek-V4-Pro", "DeepSeek V4 Pro"),
    ModelInfo("zai-org/GLM-5.1", "GLM 5.1"),
    ModelInfo("zai-org/GLM-5.2", "GLM 5.2", 131_072, 131_072),
    ModelInfo("moonshotai/Kimi-K2.6", "Kimi K2.6", input_modalities=_VISION),
    ModelInfo("moonshotai/Kimi-K2.7-Code", "Kimi K2.7 Code"),
    ModelInfo("nvidia/Nemotron-120B-A12B", "Nemotron Super"),
    ModelInfo("nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B", "Nemotron Ultra"),
)


class ModelList(list[ModelInfo]):
    """The rows of a model list, with where they came from."""

    def __init__(
        self, rows: Sequence[ModelInfo] = (), *, source: str = "", live: bool = False
    ) -> None:
        super().__init__(rows)
        #: "live list from <url>", "built-in snapshot of <date>", or "this dedicated deployment".
        self.source = source
        #: True when the rows come from the server's ``/models`` just now (or within the cache time).
        self.live = live


def parse_models(payload: Any) -> list[ModelInfo]:
    """Rows of an OpenAI-style ``{"object": "list", "data": [...]}`` reply."""
    rows = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise ValueError("the /models reply has no 'data' list")
    models = []
    for row in rows:
        if isinstance(row, dict) and row.get("id"):
            models.append(
                ModelInfo(
                    id=str(row["id"]),
                    name=str(row.get("name") or row["id"]),
                    context_length=_int_or_none(
                        row.get("context_length") or row.get("context_window")
                    ),
                    max_completion_tokens=_int_or_none(row.get("max_completion_tokens")),
                    pricing=dict(row["pricing"]) if isinstance(row.get("pricing"), dict) else None,
                    input_modalities=_modalities(row.get("input_modalities")),
                )
            )
    return models


def _modalities(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(str(v) for v in value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def suggest_models(name: str, candidates: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates closest to ``name``, compared case-insensitively."""
    by_lower: dict[str, str] = {c.lower(): c for c in candidates}
    wanted = name.lower()
    if wanted in by_lower:
        return [by_lower[wanted]]
    tails = {c.lower().rsplit("/", 1)[-1]: c for c in candidates}
    close = difflib.get_close_matches(wanted, list(by_lower), n=n, cutoff=0.5)
    close += [
        tails[t].lower()
        for t in difflib.get_close_matches(wanted.rsplit("/", 1)[-1], list(tails), n=n, cutoff=0.6)
    ]
    seen: list[str] = []
    for lower in close:
        if by_lower[lower] not in seen:
            seen.append(by_lower[lower])
    return seen[:n]


def unknown_model_error(
    slug: str, models: Sequence[ModelInfo], *, source: str
) -> UnknownModelError:
    """The error for a slug that is not served, with suggestions."""
    names = [m.id for m in models]
    suggestions = suggest_models(slug, names)
    hint = (
        f" Did you mean: {', '.join(suggestions)}?"
        if suggestions
        else f" Available: {', '.join(names)}."
    )
    return UnknownModelError(
        f"Model {slug!r} is not a Baseten Model APIs slug ({source}).{hint} "
        "For a dedicated deployment pass its model id with model_apis=False.",
        suggestions=suggestions,
    )


class ModelCatalog:
    """Process-wide cache of ``/models`` per base URL; fetch functions are injected."""

    _cache: ClassVar[dict[str, tuple[float, list[ModelInfo], str]]] = {}
    _lock = threading.Lock()

    def __init__(
        self,
        base_url: str,
        *,
        ttl_s: float = CATALOG_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s
        self._clock = clock

    @property
    def url(self) -> str:
        """The catalog endpoint."""
        return f"{self.base_url}/models"

    def cached(self, *, stale_ok: bool = False) -> tuple[list[ModelInfo], str] | None:
        """(models, source) if fresh in the cache (or, with ``stale_ok``, held at all), else None."""
        with self._lock:
            entry = self._cache.get(self.base_url)
        if entry and (stale_ok or entry[0] > self._clock()):
            return entry[1], entry[2]
        return None

    def store(
        self, payload: Any = None, error: BaseException | None = None
    ) -> tuple[list[ModelInfo], str]:
        """Cache a fetched payload, or the snapshot after ``error``; return (models, source)."""
        models: list[ModelInfo] = []
        if error is None:
            try:
                models = parse_models(payload)
            except ValueError as exc:
                error = exc
        if error is not None or not models:
            logger.warning(
                "baseten_llm: could not fetch %s (%s); using the snapshot of %s",
                self.url,
                type(error).__name__,
                SNAPSHOT_DATE,
            )
            entry = (
                self._clock() + FALLBACK_TTL_S,
                list(SNAPSHOT),
                f"built-in snapshot of {SNAPSHOT_DATE}",
            )
        else:
            entry = (self._clock() + self.ttl_s, models, f"live list from {self.url}")
        with self._lock:
            self._cache[self.base_url] = entry
        return entry[1], entry[2]

    def models(self, fetch: Callable[[str], Any]) -> tuple[list[ModelInfo], str]:
        """(models, source): cached, else ``fetch(url)``, else the snapshot."""
        hit = self.cached()
        if hit:
            return hit
        try:
            return self.store(fetch(self.url))
        except ConfigurationError:
            raise
        except (BasetenError, OSError) as exc:
            return self.store(error=exc)

    async def amodels(self, afetch: Callable[[str], Any]) -> tuple[list[ModelInfo], str]:
        """Async twin of :meth:`models`."""
        hit = self.cached()
        if hit:
            return hit
        try:
            return self.store(await afetch(self.url))
        except ConfigurationError:
            raise
        except (BasetenError, OSError) as exc:
            return self.store(error=exc)

    @classmethod
    def clear(cls) -> None:
        """Forget every cached list (tests)."""
        with cls._lock:
            cls._cache.clear()


def find_model(slug: str, models: Sequence[ModelInfo]) -> ModelInfo | None:
    """The row whose id is exactly ``slug``."""
    return next((m for m in models if m.id == slug), None)

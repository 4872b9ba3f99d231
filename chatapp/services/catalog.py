"""The Model APIs list the sidebar and the compare page pick from.

It is the library's catalog (``GET /v1/models``, cached per base URL, a dated snapshot when the
call fails), fetched over the app's shared connection pool when one is given, with a note for
the person choosing when the list is not the live one (``list_models().live``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from baseten_llm import Baseten
from baseten_llm.catalog import SNAPSHOT, SNAPSHOT_DATE, ModelInfo
from baseten_llm.config import DEFAULT_MODEL_APIS_URL
from baseten_llm.errors import BasetenError
from chatapp.services import user_errors

if TYPE_CHECKING:
    import httpx

#: The slug used only to build a client for listing; any valid slug does.
_LISTING_SLUG = SNAPSHOT[0].id


@dataclass(frozen=True)
class CatalogRow:
    """One pickable model."""

    id: str
    name: str
    context_length: int | None
    #: ``pricing`` and ``input_modalities`` as ``/v1/models`` served them (None when absent).
    pricing: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    input_modalities: tuple[str, ...] | None = None

    @property
    def accepts_images(self) -> bool:
        return "image" in (self.input_modalities or ())

    @property
    def label(self) -> str:
        """``deepseek-ai/DeepSeek-V3.1 · 164k context`` (the context only when known)."""
        if not self.context_length:
            return self.id
        return f"{self.id} · {round(self.context_length / 1000)}k context"


@dataclass(frozen=True)
class Catalog:
    rows: tuple[CatalogRow, ...]
    note: str | None = None


def _rows(models: list[ModelInfo] | tuple[ModelInfo, ...]) -> tuple[CatalogRow, ...]:
    return tuple(
        CatalogRow(m.id, m.name, m.context_length, m.pricing, m.input_modalities) for m in models
    )


def _snapshot(note: str) -> Catalog:
    return Catalog(_rows(SNAPSHOT), note)


def load_catalog(
    model_apis_url: str | None, api_key: str | None, http_client: httpx.Client | None = None
) -> Catalog:
    """The live list when it can be fetched, else the built-in snapshot with a note why.

    ``http_client``: the process's shared pool (``chatapp.resources.get_http_client``).
    """
    if not api_key:
        return _snapshot(f"Built-in list of {SNAPSHOT_DATE}: set an API key for the live list.")
    url = (model_apis_url or DEFAULT_MODEL_APIS_URL).rstrip("/")
    llm = Baseten(
        model_id=_LISTING_SLUG,
        api_key=api_key,
        model_apis_url=url,
        max_retries=0,
        timeout=10.0,
        http_client=http_client,
    )
    try:
        models = llm.list_models()
    except BasetenError as exc:
        why = user_errors.describe(exc, context="catalog")
        return _snapshot(
            f"Built-in list of {SNAPSHOT_DATE}: the live list could not be loaded. {why}"
        )
    if not models.live:
        return Catalog(
            _rows(models), f"Baseten's list could not be loaded; showing the {models.source}."
        )
    return Catalog(_rows(models))

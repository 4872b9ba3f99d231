"""The BEI rerank route, ``{target}/sync/rerank``, on the emulated reranker deployment.

Relevance is deterministic and explainable: the share of the query's distinct words (lower
case, two letters or more) that the passage contains, with a tiny tie-break for shorter
passages. ``raw_scores`` leaves that share as is; otherwise it is squashed into (0, 1) like a
cross-encoder's sigmoid. Results come best first, ties in input order.
"""

from __future__ import annotations

import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import inference
from .errors import error_response

WORD = re.compile(r"\w\w+")
MAX_TEXTS = 1024


def words(text: str) -> set[str]:
    """The distinct lower-cased words of ``text``."""
    return set(WORD.findall(text.lower()))


def relevance(query: str, text: str) -> float:
    """Share of the query's words found in ``text`` (0..1), minus a length tie-break."""
    wanted = words(query)
    if not wanted:
        return 0.0
    overlap = len(wanted & words(text)) / len(wanted)
    return overlap - min(len(text), 100_000) * 1e-9


def results(
    query: str, texts: list[str], raw_scores: bool, return_text: bool
) -> list[dict[str, Any]]:
    """The reply: one ``{index, score[, text]}`` per text, best first."""
    rows = []
    for index, text in enumerate(texts):
        score = relevance(query, text)
        if not raw_scores:
            score = 1.0 / (1.0 + math.exp(-8.0 * (score - 0.5)))
        row: dict[str, Any] = {"index": index, "score": score}
        if return_text:
            row["text"] = text
        rows.append(row)
    return sorted(rows, key=lambda r: -r["score"])


async def rerank(request: Request, model: dict[str, Any], model_id: str) -> Response:
    """Handle ``POST .../sync/rerank`` for a model of kind ``reranker``."""
    path = request.url.path
    if model["kind"] != "reranker":
        return error_response(
            path, 404, f"Model '{model_id}' is not a reranker: it has no rerank route."
        )
    body = inference.json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return error_response(path, 400, "'query' is required and must be a string.")
    texts = body.get("texts", body.get("documents"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return error_response(path, 400, "'texts' must be a list of strings.")
    if len(texts) > MAX_TEXTS:
        return error_response(path, 413, f"At most {MAX_TEXTS} texts per request.")
    return JSONResponse(
        results(body["query"], texts, bool(body.get("raw_scores")), bool(body.get("return_text")))
    )

"""Citation numbers in an answer: ``[1]``, ``[2][3]``, kept when they name a source, dropped
when they do not, and turned into links to the sources on the page.

The model is asked to cite the numbered passages it was given (``rag.CONTEXT_PROMPT``). A
number outside ``1..count`` (the model miscounted, or a document told it to cite ``[9]``)
matches no source: it is removed, not shown. ``[1](...)`` is a Markdown link, not a citation,
and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: ``[n]`` not followed by ``(`` (a Markdown link) and not escaped as ``\[n]``.
CITATION = re.compile(r"(?<!\\)\[(\d{1,4})\](?!\()")


def cited_numbers(text: str, count: int) -> list[int]:
    """The valid citation numbers of ``text``, each once, in order of first use."""
    seen: dict[int, None] = {}
    for match in CITATION.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= count:
            seen.setdefault(number)
    return list(seen)


def drop_unknown(text: str, count: int) -> str:
    """``text`` without citation numbers that match no source (and the space before them)."""

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if 1 <= int(match.group(2)) <= count else ""

    return re.sub(r"(\s?)" + CITATION.pattern, keep, text)


def link_citations(
    text: str, count: int, target: Callable[[int], str], title: Callable[[int], str]
) -> str:
    """Markdown with each valid ``[n]`` a link to ``target(n)`` (titled ``title(n)``) and
    each invalid one dropped. ``text`` must already be safe Markdown; titles are quoted."""

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        label = title(number).replace("\\", "\\\\").replace('"', '\\"')
        return f'[\\[{number}\\]]({target(number)} "{label}")'

    return CITATION.sub(link, drop_unknown(text, count))

"""The plain-language rule for text a person reads, as a check tests share.

A message on the page says what happened and what to do next; it never shows a Python
attribute (``.partial_text``), a keyword argument (``api_key=``), an exception class name
(``PdfReadError``), an internal route (``/environments/``, ``/sync/``), a URL with a path, or
a traceback.
"""

from __future__ import annotations

import re

DEVELOPER_PATTERNS: dict[str, re.Pattern[str]] = {
    "a Python attribute": re.compile(r"\.\w+_\w+"),
    "a keyword argument": re.compile(r"\b\w+="),
    "an exception class name": re.compile(r"\b\w*(?:Error|Exception)\b"),
    "an internal environments path": re.compile(r"/environments/"),
    "an internal sync path": re.compile(r"/sync/"),
    "a URL with a path": re.compile(r"https?://[^\s/]+/\S+"),
    "an API version path": re.compile(r"/v1/"),
    "a traceback": re.compile(r"Traceback|File \"|line \d+, in "),
}


def developer_words(text: str) -> list[str]:
    """What in ``text`` is meant for a programmer (empty when it reads as plain words)."""
    return [
        f"{what}: {match.group(0)!r}"
        for what, pattern in DEVELOPER_PATTERNS.items()
        for match in [pattern.search(text)]
        if match
    ]


def assert_plain(text: str) -> None:
    """Fail with the offending pieces when ``text`` holds words meant for programmers."""
    found = developer_words(text)
    assert not found, f"{text!r} shows {found}"

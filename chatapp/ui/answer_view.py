"""How a Documents answer shows its work: numbered citations that link to their sources, the
search that found them, the standalone question, and each cited page or section on request.

Widget keys: ``docs_sources_<record id>`` (a record's sources), ``docs_open_<record id>_<n>``
(open source n's page or section in a dialog).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from chatapp.services import citations, page_view, rag
from chatapp.services.hybrid import MODES
from chatapp.ui.safe_text import plain_text, safe_markdown

FOUND_BY = {"both": "keywords + vectors", "keywords": "keywords (BM25)", "vectors": "vectors"}


@dataclass(frozen=True)
class SourceContext:
    """What opening a source needs: a file's kept original PDF (its bytes, or None) and the
    collection's chunks of a file, both by the file's hash."""

    original: Callable[[str], bytes | None]
    file_nodes: Callable[[str], list[Any]]


def anchor(record_id: Any, number: int) -> str:
    """The in-page anchor of a record's source ``number``."""
    return f"docs-source-{record_id}-{number}"


def answer_markdown(answer: str, sources: list[rag.Source], record_id: Any) -> str:
    """The answer as safe Markdown, each valid ``[n]`` a link to source n, others dropped."""
    return citations.link_citations(
        safe_markdown(answer),
        len(sources),
        lambda n: f"#{anchor(record_id, n)}",
        lambda n: sources[n - 1].citation,
    )


def search_caption(record: dict[str, Any], sources: list[rag.Source]) -> str:
    """``Search: Hybrid: keywords + vectors · searched for: "…"``."""
    parts = []
    mode = record.get("mode") or (sources[0].search if sources else "")
    if mode in MODES:
        parts.append(f"Search: {MODES[mode]}")
    standalone = (record.get("standalone") or record.get("standalone_question") or "").strip()
    if standalone and standalone != record.get("question", "").strip():
        parts.append(f"searched for: “{plain_text(standalone)}” and the question as asked")
    return " · ".join(parts)


def render_sources(
    sources: list[rag.Source], record_id: Any, context: SourceContext, expanded: bool = False
) -> None:
    """Each cited passage: file, page or section, which search found it, the quoted text, and
    a button that opens the page (PDF) or the section."""
    if not sources:
        return
    with st.expander(
        f"Sources ({len(sources)})", expanded=expanded, key=f"docs_sources_{record_id}"
    ):
        for number, source in enumerate(sources, start=1):
            st.html(f'<span id="{anchor(record_id, number)}"></span>')
            found = FOUND_BY.get(source.found_by, source.found_by)
            st.markdown(
                f"**[{number}] {plain_text(source.citation)}** · found by {found} · "
                f"similarity {source.score:.2f}"
            )
            quoted = "\n".join(f"> {line}" for line in source.text.splitlines())
            st.markdown(safe_markdown(quoted) or "> (empty)")
            label = "Open page" if source.page is not None else "Open section"
            if st.button(label, key=f"docs_open_{record_id}_{number}", icon="🔎"):
                show_source(source, number, context)


@st.dialog("Source", width="large")
def show_source(source: rag.Source, number: int, context: SourceContext) -> None:
    """The cited PDF page with the passage highlighted, or the cited section's text."""
    st.markdown(f"**[{number}] {plain_text(source.citation)}**")
    if source.page is not None:
        _show_page(source, context)
    else:
        _show_section(source, context)


def _show_page(source: rag.Source, context: SourceContext) -> None:
    data = context.original(source.sha256)
    if data is None:
        st.info(
            "This file was indexed before pages were kept for previews: remove it and "
            "upload it again to see its pages. The quoted passage is under the answer."
        )
        return
    try:
        rendered = page_view.render_page(data, int(source.page or 0), source.text)
    except Exception:  # noqa: BLE001 - a damaged or changed file: say so, never a traceback
        st.warning(
            f"Page {source.page} of this file could not be drawn. The quoted passage "
            "is under the answer."
        )
        return
    st.image(
        rendered.png, caption=f"Page {source.page}" + (" (read with OCR)" if source.ocr else "")
    )
    if not rendered.highlighted:
        st.caption(
            "The passage could not be located exactly on the page image (its text "
            "was extracted differently); it is quoted under the answer."
        )


def _show_section(source: rag.Source, context: SourceContext) -> None:
    nodes = [
        n
        for n in context.file_nodes(source.sha256)
        if (n.metadata.get("section") or None) == source.section
    ]
    if not nodes:
        st.info("This section is no longer in the collection.")
        return
    for node in nodes:
        text = node.get_content()
        if text == source.text:
            with st.container(border=True):
                st.caption("Cited passage")
                st.text(text)
        else:
            st.text(text)

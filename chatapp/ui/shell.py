"""The frame every page is drawn in: navigation, the shared sidebar, the target banner.

Pages live in ``app_pages/``, not ``pages/``: a folder named ``pages`` next to the entry
script puts Streamlit in its legacy pages-directory mode, where a rerun (AppTest's, or the
first run of a server process opened on a page URL) executes the page file alone, without
``app.py`` and its sidebar. No setting turns that check off (see the README's "Layout" note and
``tests/app/test_layout.py``).
"""

from __future__ import annotations

import streamlit as st

from chatapp import state

PAGES = (
    ("app_pages/chat.py", "Chat", ":material/chat:"),
    ("app_pages/documents.py", "Documents", ":material/description:"),
    ("app_pages/jobs.py", "Jobs", ":material/schedule:"),
    ("app_pages/compare.py", "Compare", ":material/compare_arrows:"),
)


def run() -> None:
    """Draw the sidebar, then the selected page; with sign-in, only for people let in."""
    st.set_page_config(page_title="Baseten Chat", page_icon="💬", layout="wide")
    from chatapp.ui.signin_gate import admit, render_account

    if not admit():  # the sign-in screen (or the refusal) is all this run draws
        return
    pages = [st.Page(path, title=title, icon=icon) for path, title, icon in PAGES]
    page = st.navigation(pages)
    state.restore_from_url()  # reload, back/forward and bookmarks return to the same place
    with st.sidebar:
        st.markdown("### 💬 Baseten Chat")
        render_account()
        from chatapp.ui.sidebar import render_connection

        render_connection()
        st.divider()
        from chatapp.ui.chat_sidebar import render_chat_sidebar

        render_chat_sidebar()
    _banner()
    page.run()


def _banner() -> None:
    """The current target on every page, and a loud note while replies are synthetic."""
    if state.demo_active():
        st.warning(
            "**Offline demo**: replies are synthetic, produced by the bundled Baseten emulator. "
            "Set an API key in the sidebar to talk to real models.",
            icon="🧪",
        )
    problem = state.target_problem()
    if problem:
        st.caption("🎯 No target yet: the connection settings in the sidebar need a fix.")
    else:
        st.caption(f"🎯 {state.target().label}")

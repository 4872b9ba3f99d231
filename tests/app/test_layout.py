"""Why the pages live in ``app_pages/`` and not ``pages/`` (the README's "Layout" note).

Streamlit 1.67 decides once per process (``PagesManager.uses_pages_directory``, a class
attribute) whether a folder named ``pages`` sits next to the entry script; if it does, a run
that starts before ``st.navigation`` was called goes through the legacy pages-directory mode,
which runs a page file on its own, without ``app.py``. AppTest resets that flag before every
run, so there every rerun on a page skips the frame; no config option turns the detection off
(``client.showSidebarNavigation`` only hides the legacy menu). The first test below is a
canary: when a Streamlit upgrade makes it fail, ``pages/`` has become safe to use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatapp.ui import shell

REPO = Path(__file__).resolve().parents[2]

FRAME = """
import streamlit as st
page = st.navigation([st.Page("{folder}/one.py", title="One", default=True),
                      st.Page("{folder}/two.py", title="Two")])
st.sidebar.markdown("the shared sidebar")
page.run()
"""
PAGE = """
import streamlit as st
st.markdown("page {name}")
st.button("Again", key="again_{name}")
"""


def project(tmp_path: Path, folder: str) -> Path:
    """A two-page app whose pages live in ``folder``, framed by ``app.py``'s sidebar."""
    (tmp_path / folder).mkdir()
    (tmp_path / "app.py").write_text(FRAME.format(folder=folder))
    for name in ("one", "two"):
        (tmp_path / folder / f"{name}.py").write_text(PAGE.format(name=name))
    return tmp_path / "app.py"


def sidebar_text(at: AppTest) -> list[str]:
    return [m.value for m in at.sidebar.markdown]


@pytest.mark.parametrize("folder, frame_kept", [("pages", False), ("app_pages", True)])
def test_a_rerun_keeps_the_shared_sidebar_only_when_the_folder_is_not_named_pages(
    tmp_path: Path, folder: str, frame_kept: bool
) -> None:
    at = AppTest.from_file(str(project(tmp_path, folder)), default_timeout=30).run()
    assert sidebar_text(at) == ["the shared sidebar"]
    at.button(key="again_one").click().run()
    assert not at.exception
    assert [m.value for m in at.main.markdown] == ["page one"]
    assert (sidebar_text(at) == ["the shared sidebar"]) is frame_kept


def test_the_app_has_no_pages_folder_and_every_page_is_in_app_pages() -> None:
    assert not (REPO / "pages").exists(), "a pages/ folder puts Streamlit in its legacy mode"
    for path, _title, _icon in shell.PAGES:
        assert path.startswith("app_pages/") and (REPO / path).is_file(), path


def test_the_readme_says_why_the_pages_are_not_in_pages() -> None:
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "app_pages/" in readme and "legacy pages-directory mode" in readme

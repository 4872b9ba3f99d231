"""The documents page, run by AppTest against the Baseten emulator with the bundled MiniLM."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chatapp import resources
from chatapp.services import documents as docs
from chatapp.services import personas
from chatapp.ui import documents_ui
from chatapp.users import LOCAL_OWNER
from tests.pdfs import make_pdf
from tests.unit.test_documents_staging import stage_on_disk

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "documents.py")


ZOO_PDF = make_pdf(["The zoo opens at nine.", "The violet giraffe lives in Oslo and eats acacia."])


def restart_process_caches() -> None:
    """What a server restart forgets (the embedding model is kept: it is slow to load)."""
    for cached in (resources.get_config, resources.get_engine, documents_ui.get_worker):
        cached.clear()


@pytest.fixture()
def data_dir(emulator_env: Path) -> Path:
    """Like the shared fixture, but the embedding model stays loaded between tests."""
    restart_process_caches()
    yield emulator_env
    documents_ui.get_worker().wait_idle(60)
    restart_process_caches()


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=90).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def create(at: AppTest, name: str) -> AppTest:
    at.text_input(key="docs_new_name").input(name)
    return at.button(key="docs_create").click().run()


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader[0].set_value(
        [(name, data, "application/octet-stream") for name, data in files]
    ).run()
    at.button(key="docs_index").click().run()
    assert documents_ui.get_worker().wait_idle(120)
    return at.run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def walk(node) -> list:
    """Every element and block below ``node`` (dialogs live outside ``at.main``)."""
    found = [node]
    for child in (getattr(node, "children", None) or {}).values():
        found.extend(walk(child))
    return found


def test_a_new_collection_is_selected_and_shows_its_embedding_model(data_dir) -> None:
    at = create(open_page(), "Zoo")
    no_traceback(at)
    assert at.selectbox[0].value is not None
    assert at.selectbox[0].format_func(at.selectbox[0].value) == "Zoo"
    assert any("all-MiniLM-L6-v2" in c for c in texts(at.caption))
    at = create(at, "Zoo")
    assert any("already exists" in e for e in texts(at.error))


def test_each_uploaded_file_reports_its_own_result(data_dir) -> None:
    at = upload(
        create(open_page(), "Zoo"),
        [
            ("zoo.pdf", ZOO_PDF),
            ("setup.exe", b"MZ"),
            ("empty.txt", b""),
            ("locked.pdf", b"%PDF-1.4 broken"),
        ],
    )
    no_traceback(at)
    assert any("zoo.pdf" in s and "Indexed 2 page(s)" in s for s in texts(at.success))
    errors = " ".join(texts(at.error))
    assert "not supported" in errors and "empty" in errors and "could not be read as PDF" in errors
    assert any("zoo.pdf" in m for m in texts(at.markdown))
    at = upload(at, [("zoo-again.pdf", ZOO_PDF)])
    assert any("Already in this collection (as zoo.pdf)" in i for i in texts(at.info))


def test_an_answer_cites_file_and_page_and_is_kept_after_a_restart(data_dir, emulator) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    at.chat_input(key="docs_question").set_value("Where does the violet giraffe live?").run()
    no_traceback(at)
    restart_process_caches()
    at = open_page()
    assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
    assert assistant.markdown[0].value.startswith("You said: Where does the violet giraffe")
    assert "Retrieval" in assistant.caption[0].value and "generation" in assistant.caption[0].value
    cited = texts(assistant.expander[0].markdown)
    assert "**[1] zoo.pdf, page 2**" in cited[0]
    assert any("violet giraffe lives in Oslo" in c for c in cited)
    sent = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]
    assert "violet giraffe lives in Oslo" in sent[-1]["body"]["messages"][0]["content"]


def test_a_question_the_documents_do_not_cover_gets_no_invented_answer(data_dir, emulator) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    at.slider(key="docs_cutoff").set_value(0.9).run()
    at.chat_input(key="docs_question").set_value("What is the capital of Peru?").run()
    no_traceback(at)
    assert any("do not contain an answer" in m for m in texts(at.markdown))
    assert not [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def test_removing_a_file_takes_its_chunks_out_of_the_index(data_dir) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF), ("a.txt", b"Apples.")])
    remove = next(b for b in at.button if b.key and b.key.startswith("docs_remove_"))
    at = remove.click().run()
    no_traceback(at)
    assert any("1 file, 1 chunk" in c for c in texts(at.caption))


def test_a_collection_can_be_renamed_and_deleted_with_its_index(data_dir) -> None:
    at = upload(create(open_page(), "Zoo"), [("a.txt", b"Apples are red.")])
    [box] = [t for t in at.text_input if t.key.startswith("docs_rename_name_")]
    box.input("Fruit")
    at = at.button(key="docs_rename").click().run()
    assert at.selectbox[0].format_func(at.selectbox[0].value) == "Fruit"
    at = at.button(key="docs_delete").click().run()
    at = at.button(key="docs_delete_confirm").click().run()
    no_traceback(at)
    assert any("No collections yet" in i for i in texts(at.info))
    assert list((data_dir / "indexes").iterdir()) == []


def picked(at: AppTest) -> str:
    box = at.selectbox(key="docs_collection")
    return box.format_func(box.value)


def test_the_picker_keeps_one_key_while_the_page_moves_the_selection(data_dir) -> None:
    at = create(open_page(), "Zoo")
    assert picked(at) == "Zoo"
    at = create(at, "Aquarium")
    no_traceback(at)
    assert picked(at) == "Aquarium"
    at = (
        at.selectbox(key="docs_collection")
        .set_value(
            next(
                c.id
                for c in docs.list_collections(resources.get_engine(), owner=LOCAL_OWNER)
                if c.name == "Zoo"
            )
        )
        .run()
    )
    assert picked(at) == "Zoo"
    at = at.button(key="docs_delete").click().run()
    at = at.button(key="docs_delete_confirm").click().run()
    no_traceback(at)
    assert picked(at) == "Aquarium"
    assert [s.key for s in at.selectbox] == ["docs_collection"]


def test_a_collection_deleted_in_another_tab_leaves_the_picker_on_one_that_exists(data_dir) -> None:
    at = create(create(open_page(), "Zoo"), "Aquarium")
    aquarium = at.selectbox(key="docs_collection").value
    docs.delete_collection(resources.get_engine(), data_dir, aquarium, owner=LOCAL_OWNER)
    at = at.run()
    no_traceback(at)
    assert picked(at) == "Zoo"


def test_files_staged_on_disk_by_the_earlier_version_are_indexed_and_shown_as_resumed(
    data_dir,
) -> None:
    create(open_page(), "Zoo")
    [zoo] = docs.list_collections(resources.get_engine(), owner=LOCAL_OWNER)
    stage_on_disk(data_dir, zoo, "zoo.pdf", ZOO_PDF)  # queued, then the server was upgraded
    restart_process_caches()
    at = open_page()
    assert documents_ui.get_worker().wait_idle(120)
    at = at.run()
    no_traceback(at)
    assert any(
        "zoo.pdf" in s and "resumed after a restart" in s and "Indexed 2 page(s)" in s
        for s in texts(at.success)
    )
    assert not (data_dir / "staging").exists()


def test_the_persona_temperature_applies_to_document_answers(data_dir, emulator) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    persona = personas.create_persona(
        resources.get_engine(), "Cool", "🧊", "Be brief.", 0.15, owner=LOCAL_OWNER
    )
    at.session_state["bc_persona_id"] = persona.id
    at.chat_input(key="docs_question").set_value("Where does the violet giraffe live?").run()
    no_traceback(at)
    sent = [r for r in emulator.requests() if r["path"].endswith("/chat/completions")][-1]
    assert sent["body"]["temperature"] == 0.15
    assert sent["body"]["messages"][0]["content"].startswith("Be brief.")


def test_a_citation_opens_its_pdf_page_as_an_image_and_shows_how_it_was_found(
    data_dir, emulator
) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    assert at.radio(key="docs_mode").value == "hybrid"
    at.chat_input(key="docs_question").set_value("Where does the violet giraffe live?").run()
    no_traceback(at)
    assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
    assert "Search: Hybrid: keywords + vectors" in texts(assistant.caption)
    cited = texts(assistant.expander[0].markdown)
    assert any("[1] zoo.pdf, page 2** · found by keywords + vectors" in c for c in cited)
    engine = resources.get_engine()
    record_id = docs.history(
        engine, docs.list_collections(engine, owner=LOCAL_OWNER)[0].id, owner=LOCAL_OWNER
    )[-1]["id"]
    at.button(key=f"docs_open_{record_id}_1").click().run()
    no_traceback(at)
    dialog = [e for e in walk(at._tree) if getattr(e, "type", None) == "dialog"]
    assert len(dialog) == 1 and dialog[0].proto.dialog.title == "Source"
    inside = walk(dialog[0])
    images = [e for e in inside if getattr(e, "type", None) == "image"]
    assert len(images) == 1 and images[0].proto.imgs[0].caption == "Page 2"
    assert images[0].proto.imgs[0].url.startswith("/mock/media/")  # served by the app itself
    shown = " ".join(str(getattr(e, "value", "")) for e in inside)
    assert "[1] zoo.pdf, page 2" in shown and "could not be located" not in shown


def test_a_follow_up_searches_with_its_rewrite_and_the_question_as_asked(
    data_dir, emulator
) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    at.chat_input(key="docs_question").set_value("Where does the violet giraffe live?").run()
    at.chat_input(key="docs_question").set_value("And what does it eat?").run()
    no_traceback(at)
    assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
    caption = " ".join(texts(assistant.caption))
    assert "searched for: “And what does it eat, regarding" in caption
    assert "Where does the violet giraffe live?” and the question as asked" in caption
    cited = " ".join(texts(assistant.expander[0].markdown))
    assert "eats acacia" in cited


def test_reranking_with_no_reranker_named_turns_asking_off_and_says_why(data_dir) -> None:
    at = upload(create(open_page(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    at = at.radio(key="docs_mode").set_value("rerank").run()
    no_traceback(at)
    assert at.chat_input(key="docs_question").disabled
    assert any("Name a reranker" in c for c in texts(at.caption))


def test_the_offline_demo_reranks_with_its_own_reranker_without_asking_for_one(data_dir) -> None:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["bc_demo"] = True
    at = upload(create(at.run(), "Zoo"), [("zoo.pdf", ZOO_PDF)])
    at = at.radio(key="docs_mode").set_value("rerank").run()
    assert at.text_input(key="docs_rerank_model_baseten").value == "rrk12345"
    assert not at.chat_input(key="docs_question").disabled
    at.chat_input(key="docs_question").set_value("Where does the violet giraffe live?").run()
    no_traceback(at)
    assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
    assert assistant.markdown[0].value.startswith("You said: Where does the violet giraffe")
    assert any("Search: Hybrid + reranking" in c.value for c in assistant.caption)
    reranked = [
        r for r in resources.get_demo_emulator().requests() if r["path"].endswith("/sync/rerank")
    ]
    assert reranked and reranked[-1]["path"].startswith("/model-rrk12345/")


def test_a_small_file_shows_its_size_in_bytes_not_zero_kb(data_dir) -> None:
    notes = b"High tide at Gull Island is at 04:12.\n"
    at = upload(create(open_page(), "Tides"), [("notes.txt", notes)])
    no_traceback(at)
    facts = [c for c in texts(at.caption) if c.startswith("TXT ·")]
    assert facts == [f"TXT · {len(notes)} bytes · 1 section · 1 chunk"]


def place_of(node, text: str, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    """Where on the page (block indexes from the top) each alert saying ``text`` is drawn."""
    found = []
    if getattr(node, "type", None) == "info" and text in str(getattr(node, "value", "")):
        found.append(path)
    for index, child in (getattr(node, "children", None) or {}).items():
        found.extend(place_of(child, text, (*path, index)))
    return found


def test_an_empty_collection_says_so_in_the_same_place_after_one_with_finished_uploads(
    data_dir,
) -> None:
    """While the run that opens another collection draws, what the previous one showed stays
    on screen until it is replaced in its place: both collections must draw "No files…" in the
    same place, or a person sees two of them (a second one below the listed results)."""
    at = upload(create(open_page(), "Broken"), [("broken.pdf", b"%PDF-1.4 broken")])
    assert any("broken.pdf" in e for e in texts(at.error))
    listed = place_of(at.main, "No files in this collection yet.")
    at = create(at, "Empty")
    assert picked(at) == "Empty"
    no_traceback(at)
    assert len(listed) == 1
    assert place_of(at.main, "No files in this collection yet.") == listed

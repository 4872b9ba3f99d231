"""The Jobs page with AppTest: what it draws when stored data is odd, what it costs while
nobody looks, and why a failed job failed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from chatapp import resources
from chatapp.services import job_polling, job_results
from chatapp.services.webhook_receiver import make_receiver_engine, make_webhook_app
from chatapp.settings import AppConfig
from chatapp.storage import jobs as store
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.targets import Target
from tests.asgi_server import serve_asgi

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "jobs.py")
DEDICATED = Target(kind="dedicated", model="abcd1234")
SECRET = "whsec_" + "S" * 40


@pytest.fixture()
def app_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BASETEN_WEBHOOK_SECRETS", SECRET)
    monkeypatch.setenv("BASETEN_CHAT_PUBLIC_URL", "https://chat.example.com")
    resources.get_status_poller.clear()
    yield data_dir


@pytest.fixture()
def fragment_requests(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ``run_every`` the page asks ``st.fragment`` for (the real fragment still runs)."""
    asked: list[object] = []
    real = st.fragment

    def recording(func=None, *, run_every=None, **kwargs):
        asked.append(run_every)
        return real(func, run_every=run_every, **kwargs)

    monkeypatch.setattr(st, "fragment", recording)
    return asked


def engine_for(data_dir: Path):
    engine = make_engine(AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(data_dir)}).database_url)
    init_db(engine)
    return engine


def deliver(engine, request_id: str, data, errors=None) -> None:
    body = {
        "request_id": request_id,
        "model_id": "abcd1234",
        "type": "async_request_completed",
        "time": "2026-01-01T00:00:00.000000Z",
        "data": data,
        "errors": errors or [],
    }
    with session_scope(engine) as session:
        store.store_webhook_result(
            session,
            request_id=request_id,
            raw_body=json.dumps(body),
            data=data,
            errors=errors or [],
            model_id="abcd1234",
        )


def open_page(target: Target = DEDICATED) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["bc_target"] = target
    return at.run()


def test_a_stored_result_the_page_cannot_show_is_marked_and_every_other_row_is_drawn(app_env):
    engine = engine_for(app_env)
    deliver(engine, "a" * 32, {"output": "fine"})
    deliver(engine, "b" * 32, {"output": "bad \ud800 text"})  # as an older receiver stored it
    at = open_page()
    assert not at.exception
    table = at.dataframe[0].value
    previews = dict(zip(table["Request id"], table["Result preview"]))
    assert previews["a" * 32] == "fine"
    assert previews["b" * 32].startswith("⚠️ This result cannot be shown")
    assert "not valid Unicode" in previews["b" * 32]
    assert any("cannot show" in w.value for w in at.warning)


def test_with_nothing_unfinished_the_page_schedules_no_refresh(app_env, fragment_requests):
    deliver(engine_for(app_env), "c" * 32, {"output": "done"})
    at = open_page()
    assert not at.exception
    assert fragment_requests and set(fragment_requests) == {None}
    assert any("does not refresh on its own" in c.value for c in at.caption)


def test_while_a_job_is_unfinished_the_page_refreshes_and_says_so(
    app_env, emulator, fragment_requests
):
    emulator.configure(hold_jobs=True)
    at = open_page()
    at.text_area(key="jobs_prompt").input("wait").run()
    at.button(key="jobs_submit").click().run()
    assert fragment_requests[-1] == 2.0
    assert any("every 2 s" in c.value for c in at.caption)


def test_an_export_is_not_built_until_someone_asks_for_it(app_env, monkeypatch):
    engine = engine_for(app_env)
    for n in range(3):
        deliver(engine, f"{n}" * 32, {"output": f"result {n}"})
    built: list[str] = []
    for name in ("export_jsonl", "export_csv", "raw_body"):
        real = getattr(job_results, name)
        monkeypatch.setattr(
            job_results,
            name,
            lambda *args, _real=real, _name=name: built.append(_name) or _real(*args),
        )
    at = open_page()
    at.selectbox(key="jobs_result_id").set_value("1" * 32).run()
    assert not at.exception
    keys = {b.key for b in at.get("download_button")}
    assert {"jobs_export_jsonl", "jobs_export_csv", "jobs_result_download"} <= keys
    assert built == []


def test_a_large_result_is_previewed_not_loaded_whole(app_env):
    engine = engine_for(app_env)
    deliver(engine, "d" * 32, {"output": "word " * 400_000})  # about 2 MB
    at = open_page()
    assert not at.exception
    assert not at.json
    (excerpt,) = [c.value for c in at.code if "word" in c.value]
    assert len(excerpt) == job_results.VIEW_CHARS
    assert any("2.0 MB" in c.value and "Download it whole" in c.value for c in at.caption)


def test_a_job_whose_result_the_receiver_refused_says_why_in_plain_words(
    data_dir, monkeypatch, emulator
):
    """No webhook secret: the app's own receiver refuses the delivery, Baseten (here the
    emulator) gives up, and the table says why instead of a bare status code."""
    config = AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(data_dir)})
    fast_poller = job_polling.StatusPoller(job_polling.TokenBucket(100, 100), interval_s=0)
    monkeypatch.setattr(resources, "get_status_poller", lambda: fast_poller)
    with serve_asgi(make_webhook_app(config, make_receiver_engine(config))) as port:
        monkeypatch.setenv("BASETEN_CHAT_PUBLIC_URL", f"http://127.0.0.1:{port}")
        st.cache_resource.clear()
        at = open_page()
        at.text_area(key="jobs_prompt").input("nobody will sign this").run()
        at.button(key="jobs_submit").click().run()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if emulator.jobs() and emulator.jobs()[0]["status"] == "WEBHOOK_FAILED":
                break
            time.sleep(0.1)
        at.run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["Status"]) == ["Result not delivered"]
    assert list(table["Details"]) == [
        "Webhook delivery failed: the app's receiver refused it (no webhook secret set)."
    ]

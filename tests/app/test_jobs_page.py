"""The Jobs page's logic with AppTest, against the Baseten emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from chatapp import resources
from chatapp.settings import AppConfig
from chatapp.storage import jobs as store
from chatapp.storage.db import init_db, make_engine, session_scope
from chatapp.targets import Target

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "jobs.py")
SECRET = "whsec_" + "S" * 40
DEDICATED = Target(kind="dedicated", model="abcd1234")


@pytest.fixture()
def app_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch, emulator):
    """The emulator's environment plus a webhook secret, a public URL and held jobs."""
    monkeypatch.setenv("BASETEN_WEBHOOK_SECRETS", SECRET)
    monkeypatch.setenv("BASETEN_CHAT_PUBLIC_URL", "https://chat.example.com")
    resources.get_status_poller.clear()
    emulator.configure(hold_jobs=True)
    yield data_dir


def open_page(target: Target = DEDICATED) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["bc_target"] = target
    return at.run()


def engine_for(data_dir: Path):
    engine = make_engine(AppConfig.load({}, {"BASETEN_CHAT_DATA_DIR": str(data_dir)}).database_url)
    init_db(engine)
    return engine


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in (
            "markdown",
            "caption",
            "info",
            "warning",
            "error",
            "success",
            "code",
            "title",
            "subheader",
        )
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def submitted_bodies(emulator) -> list[dict]:
    return [r["body"] for r in emulator.requests() if r["path"].endswith("/async_predict")]


def test_on_model_apis_the_page_explains_jobs_need_a_dedicated_deployment(app_env):
    at = open_page(Target())
    assert not at.exception
    assert "Jobs need a dedicated deployment" in at.info[0].value
    assert "Dedicated deployment" in at.info[0].value
    assert not [b for b in at.button if b.key == "jobs_submit"]


def test_a_prompt_shows_the_exact_body_and_submitting_records_the_job(app_env, emulator):
    at = open_page()
    at.text_area(key="jobs_prompt").input("Summarise the news").run()
    preview = json.loads(at.code[0].value)
    assert preview["model_input"] == {"prompt": "Summarise the news"}
    assert preview["webhook_endpoint"] == "https://chat.example.com/hooks/baseten"
    at.button(key="jobs_submit").click().run()
    assert not at.exception and not at.error
    assert "Job submitted" in at.success[0].value
    (body,) = submitted_bodies(emulator)
    assert body["model_input"] == {"prompt": "Summarise the news"}
    assert body["webhook_endpoint"] == "https://chat.example.com/hooks/baseten"
    table = at.dataframe[0].value
    assert list(table["Status"]) == ["Queued"]
    assert list(table["Target"]) == ["Dedicated · abcd1234 · production"]
    assert any(c.value == "1 job · 0 results received · 1 waiting" for c in at.caption)


def test_queue_and_retry_settings_are_sent_with_the_job(app_env, emulator):
    at = open_page()
    at.number_input(key="jobs_priority").set_value(2)
    at.number_input(key="jobs_max_queue_s").set_value(7200)
    at.number_input(key="jobs_max_attempts").set_value(5)
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    (body,) = submitted_bodies(emulator)
    assert body["priority"] == 2 and body["max_time_in_queue_seconds"] == 7200
    assert body["inference_retry_config"]["max_attempts"] == 5


def test_invalid_raw_json_is_explained_and_nothing_is_sent(app_env, emulator):
    at = open_page()
    at.radio(key="jobs_input_mode").set_value("Raw JSON").run()
    at.text_area(key="jobs_json").input('{"prompt": ').run()
    assert "not valid JSON" in at.error[0].value
    at.button(key="jobs_submit").click().run()
    assert submitted_bodies(emulator) == []
    assert not at.dataframe


def test_a_raw_json_input_over_256_kib_gets_a_clear_message(app_env, emulator):
    at = open_page()
    at.radio(key="jobs_input_mode").set_value("Raw JSON").run()
    at.text_area(key="jobs_json").input(json.dumps({"prompt": "x" * 300_000})).run()
    assert "at most 256 KiB" in at.error[0].value
    at.button(key="jobs_submit").click().run()
    assert submitted_bodies(emulator) == []


def test_a_raw_json_object_is_sent_as_the_model_input(app_env, emulator):
    at = open_page()
    at.radio(key="jobs_input_mode").set_value("Raw JSON").run()
    at.text_area(key="jobs_json").input('{"messages": [{"role": "user", "content": "hi"}]}').run()
    at.button(key="jobs_submit").click().run()
    assert submitted_bodies(emulator)[0]["model_input"] == {
        "messages": [{"role": "user", "content": "hi"}]
    }


def test_an_unknown_model_id_shows_the_client_message_and_creates_no_job(app_env, emulator):
    at = open_page(Target(kind="dedicated", model="zzzz9999"))
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    assert not at.exception
    assert at.error and "zzzz9999" in at.error[0].value
    assert not at.dataframe


def test_a_refused_api_key_shows_a_clear_error_and_creates_no_job(app_env, monkeypatch):
    monkeypatch.setenv("BASETEN_API_KEY", "wrong-key")
    st.cache_resource.clear()
    at = open_page()
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    assert not at.exception
    assert at.error and "wrong-key" not in at.error[0].value
    assert not at.dataframe


def test_without_a_public_url_the_page_explains_the_tunnel_and_requires_a_url(
    app_env, monkeypatch, emulator
):
    monkeypatch.delenv("BASETEN_CHAT_PUBLIC_URL")
    st.cache_resource.clear()
    at = open_page()
    assert any("BASETEN_CHAT_PUBLIC_URL" in i.value and "tunnel" in i.value for i in at.info)
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    assert "webhook URL is required" in at.error[0].value
    assert submitted_bodies(emulator) == []
    at.text_input(key="jobs_webhook_url").input("https://abc.trycloudflare.com/hooks/baseten")
    at.button(key="jobs_submit").click().run()
    assert submitted_bodies(emulator)[0]["webhook_endpoint"] == (
        "https://abc.trycloudflare.com/hooks/baseten"
    )


def test_the_unsigned_development_flag_shows_a_warning_banner(app_env, monkeypatch):
    monkeypatch.delenv("BASETEN_WEBHOOK_SECRETS")
    monkeypatch.setenv("BASETEN_CHAT_ALLOW_UNSIGNED_WEBHOOKS", "1")
    st.cache_resource.clear()
    at = open_page()
    assert "unsigned webhooks are accepted" in at.warning[0].value


def test_with_no_webhook_secret_the_page_says_results_will_be_refused(app_env, monkeypatch):
    monkeypatch.delenv("BASETEN_WEBHOOK_SECRETS")
    st.cache_resource.clear()
    at = open_page()
    assert "refuses every result" in at.warning[0].value


def test_the_webhook_secret_never_appears_on_the_page(app_env):
    at = open_page()
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    assert SECRET not in texts(at)
    assert "1 webhook secret(s) configured" in texts(at)


def test_a_batch_file_submits_each_good_row_and_reports_bad_rows_by_number(app_env, emulator):
    at = open_page()
    content = b'{"prompt": "one"}\n{broken\n"three"\n'
    at.file_uploader(key="jobs_batch_file").set_value(
        ("inputs.jsonl", content, "application/jsonl")
    ).run()
    assert "3 rows: 2 ready, 1 with problems" in texts(at)
    at.button(key="jobs_batch_submit").click().run()
    assert not at.exception
    assert "2 of 3 jobs submitted" in at.success[0].value
    assert at.error[0].value.startswith("Row 2 was not sent: it is not valid JSON")
    assert [b["model_input"] for b in submitted_bodies(emulator)] == [
        {"prompt": "one"},
        {"prompt": "three"},
    ]
    assert len(at.dataframe[-1].value) == 2


def test_a_csv_batch_with_a_prompt_column_becomes_prompt_jobs(app_env, emulator):
    at = open_page()
    at.file_uploader(key="jobs_batch_file").set_value(
        ("b.csv", b"prompt\nfirst\nsecond\n", "text/csv")
    ).run()
    at.button(key="jobs_batch_submit").click().run()
    assert [b["model_input"] for b in submitted_bodies(emulator)] == [
        {"prompt": "first"},
        {"prompt": "second"},
    ]


def test_a_queued_job_is_canceled_from_the_page(app_env, emulator):
    at = open_page()
    at.text_area(key="jobs_prompt").input("wait for me").run()
    at.button(key="jobs_submit").click().run()
    at.button(key="jobs_cancel").click().run()
    assert not at.exception
    assert at.success[-1].value
    assert list(at.dataframe[0].value["Status"]) == ["Canceled"]
    assert emulator.jobs()[0]["status"] == "CANCELED"


def test_a_job_baseten_will_not_cancel_gets_the_reason(app_env, emulator):
    at = open_page()
    at.text_area(key="jobs_prompt").input("hi").run()
    at.button(key="jobs_submit").click().run()
    emulator.release_jobs()
    at.button(key="jobs_cancel").click().run()
    assert not at.exception
    assert "only queued jobs can be canceled" in at.warning[-1].value


def test_delivered_results_are_listed_shown_as_json_and_exported(app_env):
    engine = engine_for(app_env)
    body = {
        "request_id": "c" * 32,
        "model_id": "abcd1234",
        "type": "async_request_completed",
        "time": "2026-01-01T00:00:00.000000Z",
        "data": {"output": "You said: hi"},
        "errors": [],
    }
    with session_scope(engine) as session:
        store.store_webhook_result(
            session,
            request_id="c" * 32,
            raw_body=json.dumps(body),
            data=body["data"],
            errors=[],
            model_id="abcd1234",
        )
    at = open_page()
    table = at.dataframe[0].value
    assert list(table["Result preview"]) == ["You said: hi"]
    assert list(table["Target"]) == ["(not submitted here)"]
    assert at.text[0].value == f"Latest result ({'c' * 32}): You said: hi"
    assert at.json[0].value and json.loads(at.json[0].value)["data"] == {"output": "You said: hi"}
    keys = {b.key for b in at.get("download_button")}
    assert {"jobs_export_jsonl", "jobs_export_csv"} <= keys


def test_jobs_are_still_listed_in_a_new_session_after_a_restart(app_env):
    first = open_page()
    first.text_area(key="jobs_prompt").input("remember me").run()
    first.button(key="jobs_submit").click().run()
    st.cache_resource.clear()
    again = open_page(Target())
    assert len(again.dataframe[0].value) == 1


@pytest.mark.parametrize(
    "raw, words",
    [
        ('{"prompt": "hi", "temperature": NaN}', "NaN"),
        ('{"prompt": "hi", "temperature": 1e999}', "too large"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_raw_json_with_a_value_json_cannot_carry_is_refused_before_sending(
    app_env, emulator, raw, words
):
    at = open_page()
    at.radio(key="jobs_input_mode").set_value("Raw JSON").run()
    at.text_area(key="jobs_json").input(raw).run()
    assert not at.exception
    assert words in at.error[0].value
    at.button(key="jobs_submit").click().run()
    assert not at.exception
    assert submitted_bodies(emulator) == []


def test_a_batch_row_with_nan_is_shown_as_a_problem_in_the_preview_and_every_row_is_reported(
    app_env, emulator
):
    at = open_page()
    content = b'{"prompt": "one"}\n{"prompt": "two", "temperature": NaN}\n{"prompt": "three"}\n'
    at.file_uploader(key="jobs_batch_file").set_value(
        ("inputs.jsonl", content, "application/jsonl")
    ).run()
    assert "3 rows: 2 ready, 1 with problems" in texts(at)
    assert any(w.value.startswith("Row 2:") and "NaN" in w.value for w in at.warning)
    at.button(key="jobs_batch_submit").click().run()
    assert not at.exception
    assert "2 of 3 jobs submitted" in at.success[0].value
    assert [b["model_input"] for b in submitted_bodies(emulator)] == [
        {"prompt": "one"},
        {"prompt": "three"},
    ]
    report = at.dataframe[0].value
    assert list(report["Row"]) == [1, 2, 3]
    assert list(report["Outcome"]) == ["Submitted", "Not sent", "Submitted"]
    assert "NaN" in report["Request id or reason"][1]


def test_a_batch_file_nested_too_deeply_is_reported_per_row_without_a_traceback(app_env, emulator):
    at = open_page()
    deep = ("[" * 5000 + "]" * 5000).encode()
    at.file_uploader(key="jobs_batch_file").set_value(
        ("deep.jsonl", deep + b"\n", "application/jsonl")
    ).run()
    assert not at.exception
    assert any("nested too deeply" in w.value for w in at.warning)

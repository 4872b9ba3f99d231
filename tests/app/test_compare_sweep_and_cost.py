"""The Compare page's load sweep tab and its costs, run by AppTest against the emulator."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from baseten_llm.emulator import EmulatorServer

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare.py")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def sweep_setup(at: AppTest, concurrencies: str) -> AppTest:
    at.radio(key="sweep_kind").set_value("dedicated").run()
    at.text_input(key="sweep_model_id").set_value("abcd1234")
    at.number_input(key="sweep_step_s").set_value(1)
    at.text_input(key="sweep_concurrencies").set_value(concurrencies)
    return at.run()


def test_a_sweep_shows_every_step_the_knee_and_a_gpu_cost_per_million_tokens(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    # first tokens 1 s apart from 2 s, and 30-token replies: a busy machine's stalls of a few
    # hundred milliseconds must not read as the knee
    emulator.configure(
        tokens_per_second=50.0,
        reply_tokens=30,
        models={"abcd1234": {"capacity_streams": 2, "queue_limit": 2, "prefill_s": 1.0}},
    )
    at = sweep_setup(open_page(), "1, 2, 4, 8")
    at.number_input(key="sweep_price_gpu_hour").set_value(6.5)
    at = at.button(key="sweep_run").click().run()
    no_traceback(at)
    table = next(t.value for t in at.table if "Concurrency" in t.value.columns)
    assert list(table["Concurrency"]) == ["1", "2", "4", "8"]
    assert int(table["429s"].iloc[-1]) > 0
    assert table["GPU cost per 1M tokens out"].iloc[0].startswith("$")
    assert any(m.value.startswith("**Knee at 2 concurrent streams") for m in at.markdown)
    assert all(r["status"] in (200, 429) for r in emulator.requests())


def test_concurrencies_that_are_not_numbers_get_a_plain_message_and_nothing_is_sent(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = sweep_setup(open_page(), "1, lots")
    at = at.button(key="sweep_run").click().run()
    no_traceback(at)
    assert [e.value for e in at.error] == [
        "Concurrencies are whole numbers separated by commas, e.g. 1, 2, 4, 8."
    ]
    assert emulator.requests() == []


def test_a_sweep_on_an_invalid_model_id_says_so_above_and_sends_nothing(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = open_page()
    at.radio(key="sweep_kind").set_value("dedicated").run()
    at.text_input(key="sweep_model_id").set_value("xyz!")
    at = at.button(key="sweep_run").click().run()
    no_traceback(at)
    said = [w.value for w in at.warning]
    assert any(
        "“xyz!” is not a valid model id" in text and "Correct it above." in text for text in said
    ), said
    assert not any("sidebar" in text for text in said), said
    assert emulator.requests() == []


def test_a_comparison_shows_each_targets_cost_and_the_report_carries_it(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = open_page()
    at.text_area(key="cmp_prompt").set_value("What does it cost?")
    at.number_input(key="cmp_repeats").set_value(2)
    at.radio(key="cmp_kind_1").set_value("model_apis").run()
    at.selectbox(key="cmp_model_api_1").set_value("openai/gpt-oss-120b")
    at = at.button(key="cmp_run").click().run()
    no_traceback(at)
    costs = next(t.value for t in at.table if "Saved by the cache" in t.value.columns)
    assert list(costs.index) == [
        "A · Model API · deepseek-ai/DeepSeek-V3.1",
        "B · Model API · openai/gpt-oss-120b",
        "All targets",
    ]
    assert "from Baseten's model list" in costs["Price"].iloc[0]
    assert list(costs["Answers"]) == ["2", "2", "4"]
    assert all(v.startswith("$") for v in costs["Total"])
    captions = [c.value for c in at.caption if c.value.startswith("Cost of 2 run(s): $")]
    assert len(captions) == 2


def test_check_this_model_shows_a_pass_fail_table_kept_for_the_target(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = open_page()
    at.radio(key="cap_kind").set_value("dedicated").run()
    at.text_input(key="cap_model_id").set_value("weak1234").run()
    at.checkbox(key="cap_vision").check()
    at = at.button(key="cap_run").click().run()
    no_traceback(at)
    table = next(t.value for t in at.table if "Evidence" in t.value.columns)
    assert table.loc["Streaming", "Result"] == "✅ pass"
    assert table.loc["Tool calling", "Result"] == "❌ fail"
    assert table.loc["Context window", "Evidence"].startswith("Refused (400)")
    assert any(m.value.startswith("**1 of 7 checks passed") for m in at.markdown)
    sent = len(emulator.requests())
    at = at.text_input(key="cap_model_id").set_value("abcd1234").run()
    assert not any("Evidence" in t.value.columns for t in at.table)
    at = at.text_input(key="cap_model_id").set_value("weak1234").run()
    assert any("Evidence" in t.value.columns for t in at.table)  # the kept result, not re-sent
    assert len(emulator.requests()) == sent
